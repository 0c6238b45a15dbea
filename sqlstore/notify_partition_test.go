package sqlstore

import (
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

// stallProxy forwards TCP connections to a server until stall, after which
// the connections open at that moment carry nothing more yet stay open:
// a network partition, where no error ever reaches the client. New
// connections go through.
type stallProxy struct {
	ln       net.Listener
	upstream string

	mu     sync.Mutex
	conns  map[*proxied]bool
	closed chan struct{}
	wg     sync.WaitGroup
}

type proxied struct {
	client, server net.Conn
	stalled        atomic.Bool
}

func newStallProxy(t *testing.T, upstream string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, upstream: upstream, conns: make(map[*proxied]bool), closed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxied{client: c, server: s}
		p.mu.Lock()
		p.conns[pc] = true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pc, c, s)
		go p.pipe(pc, s, c)
	}
}

// pipe copies from src to dst until either side ends; once the connection
// is stalled, it swallows what arrives instead.
func (p *stallProxy) pipe(pc *proxied, src, dst net.Conn) {
	defer p.wg.Done()
	defer func() {
		pc.client.Close()
		pc.server.Close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pc.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // a side closed: the client gave up, or the test ended
		}
	}
}

// stall silences every connection open now.
func (p *stallProxy) stall() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		pc.stalled.Store(true)
	}
	return len(p.conns)
}

func (p *stallProxy) close() {
	p.ln.Close()
	close(p.closed)
	p.mu.Lock()
	for pc := range p.conns {
		pc.client.Close()
		pc.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestChangesStartOverAfterASilentPartition: the listener's connection
// stops carrying anything, without an error (a partitioned network, a
// firewall dropping idle flows). The idle check notices, the feed
// reconnects and says ChangeAll, instead of waiting forever while
// revocations go unheard.
func TestChangesStartOverAfterASilentPartition(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	idle, ping := listenerIdle, pingTimeout
	listenerIdle, pingTimeout = 100*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { listenerIdle, pingTimeout = idle, ping }) // after the feed stops

	direct := mustOpen(t, dsn)
	replica := mustOpen(t, u.String())
	f := startFeed(t, replica)
	// Only the listener's connection is left open through the proxy.
	replica.SQL().SetMaxIdleConns(0)
	if n := proxy.stall(); n < 1 {
		t.Fatal("no connection to stall")
	}
	if c := f.next(t); c.Kind != gatehouse.ChangeLost || c.Err == nil {
		t.Fatalf("when the partition was found: %s (err %v), want ChangeLost with the cause", c.Kind, c.Err)
	}
	c := f.next(t)
	if c.Kind != gatehouse.ChangeAll || c.Err == nil {
		t.Fatalf("after the partition: %s (err %v), want ChangeAll with the cause", encodeChange(c), c.Err)
	}
	t.Logf("cause reported: %v", c.Err)
	f.expect(t, marker(t, direct))
}
