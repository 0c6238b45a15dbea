package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"
)

// The benchmarks use the shape of the API-key cache: SHA-256 keys,
// pointer values, a TTL, and the default clock.

type benchValue struct{ id int64 }

const benchKeys = 1024

func benchCache(b *testing.B) (*Cache[[32]byte, *benchValue], [][32]byte) {
	return benchCacheWith(b, nil)
}

func benchCacheWith(b *testing.B, clock func() time.Time) (*Cache[[32]byte, *benchValue], [][32]byte) {
	c := New[[32]byte, *benchValue](Options{MaxEntries: 100_000, TTL: time.Minute, Clock: clock})
	keys := make([][32]byte, benchKeys)
	for i := range keys {
		keys[i] = sha256.Sum256(binary.AppendUvarint(nil, uint64(i)))
		c.Set(keys[i], &benchValue{id: int64(i)})
	}
	return c, keys
}

func BenchmarkGetHit(b *testing.B) {
	c, keys := benchCache(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(keys[i%benchKeys]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

// BenchmarkGetHitInjectedClock shows what an injected clock costs: the
// default one reads only the monotonic clock, time.Now reads both.
func BenchmarkGetHitInjectedClock(b *testing.B) {
	c, keys := benchCacheWith(b, time.Now)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(keys[i%benchKeys]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	c, keys := benchCache(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i%benchKeys]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}

func benchLoad(context.Context) (*benchValue, error) { return &benchValue{}, nil }

func BenchmarkGetOrLoadHit(b *testing.B) {
	c, keys := benchCache(b)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.GetOrLoad(ctx, keys[i%benchKeys], benchLoad); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetOrLoadHitParallel(b *testing.B) {
	c, keys := benchCache(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.GetOrLoad(ctx, keys[i%benchKeys], benchLoad); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkGetOrLoadMiss is the cost a miss adds to the database lookup:
// a ticket, the shared-load bookkeeping and a conditional store.
func BenchmarkGetOrLoadMiss(b *testing.B) {
	c, keys := benchCache(b)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%benchKeys]
		c.Delete(k)
		if _, err := c.GetOrLoad(ctx, k, benchLoad); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
