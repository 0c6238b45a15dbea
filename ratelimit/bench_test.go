package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkBlockedUnknown is the cost every credential check pays for a
// client that has never failed.
func BenchmarkBlockedUnknown(b *testing.B) {
	l := New[string](Options{Burst: 10, Refill: time.Minute})
	b.ReportAllocs()
	for b.Loop() {
		if blocked, _ := l.Blocked("192.0.2.1"); blocked {
			b.Fatal("blocked")
		}
	}
}

// BenchmarkReserveSucceeded is the cost a correct password pays.
func BenchmarkReserveSucceeded(b *testing.B) {
	l := New[string](Options{Burst: 10, Refill: time.Minute})
	b.ReportAllocs()
	for b.Loop() {
		r, ok, _ := l.Reserve("account:alice")
		if !ok {
			b.Fatal("refused")
		}
		r.Succeeded()
	}
}

func BenchmarkReserveSucceededParallel(b *testing.B) {
	l := New[string](Options{Burst: 1000, Refill: time.Minute})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, ok, _ := l.Reserve("account:alice")
			if !ok {
				b.Fatal("refused")
			}
			r.Succeeded()
		}
	})
}

func BenchmarkAddrSubjectIPv6(b *testing.B) {
	a := netip.MustParseAddr("2001:db8:1:2:3:4:5:6")
	b.ReportAllocs()
	for b.Loop() {
		AddrSubject(a, DefaultIPv6PrefixLen)
	}
}
