package listener

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// errNone is the fake listener's answer when no connection is queued, so
// that a test sees Accept return after it refused every queued one.
var errNone = errors.New("no connection queued")

// fakeListener hands out the connections pushed into it.
type fakeListener struct{ conns chan net.Conn }

func newFakeListener() *fakeListener { return &fakeListener{conns: make(chan net.Conn, 100)} }

func (f *fakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-f.conns:
		return c, nil
	default:
		return nil, errNone
	}
}

func (f *fakeListener) Close() error   { return nil }
func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

// fakeConn is a connection from a given remote address that counts its
// closes.
type fakeConn struct {
	net.Conn
	remote net.Addr
	closes atomic.Int32
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.remote }
func (c *fakeConn) Close() error         { c.closes.Add(1); return nil }

func tcpAddr(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }

// step is one event of a scenario: a connection from From arrives (and must
// be accepted or refused with Refused), or connection number Close (in
// arrival order) is closed.
type step struct {
	from    string
	refused string // "" accepted, else the reason
	close   int    // when from is empty: close the n-th connection (0-based)
}

func TestCaps(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{
			name: "no caps",
			cfg:  Config{},
			steps: []step{
				{from: "10.0.0.1:1"}, {from: "10.0.0.1:2"}, {from: "10.0.0.1:3"},
			},
		},
		{
			name: "per client: the third from one address is refused, others still served",
			cfg:  Config{MaxConnsPerClient: 2},
			steps: []step{
				{from: "10.0.0.1:1"}, {from: "10.0.0.1:2"},
				{from: "10.0.0.1:3", refused: ReasonPerClient},
				{from: "10.0.0.2:1"}, {from: "10.0.0.2:2"},
				{from: "10.0.0.2:3", refused: ReasonPerClient},
			},
		},
		{
			name: "per client: a closed connection frees its place, once however often closed",
			cfg:  Config{MaxConnsPerClient: 2},
			steps: []step{
				{from: "10.0.0.1:1"}, {from: "10.0.0.1:2"},
				{close: 0}, {close: 0}, {close: 0},
				{from: "10.0.0.1:3"},
				{from: "10.0.0.1:4", refused: ReasonPerClient},
			},
		},
		{
			name: "total: refused whatever the client",
			cfg:  Config{MaxConns: 3, MaxConnsPerClient: 2},
			steps: []step{
				{from: "10.0.0.1:1"}, {from: "10.0.0.1:2"}, {from: "10.0.0.2:1"},
				{from: "10.0.0.3:1", refused: ReasonTotal},
				{close: 2},
				{from: "10.0.0.3:2"},
			},
		},
		{
			name: "IPv6 counts by /64",
			cfg:  Config{MaxConnsPerClient: 1},
			steps: []step{
				{from: "[2001:db8:1:2::1]:1"},
				{from: "[2001:db8:1:2:ffff::9]:1", refused: ReasonPerClient},
				{from: "[2001:db8:1:3::1]:1"},
			},
		},
		{
			name: "IPv4-mapped IPv6 is the IPv4 client",
			cfg:  Config{MaxConnsPerClient: 1},
			steps: []step{
				{from: "10.0.0.1:1"},
				{from: "[::ffff:10.0.0.1]:2", refused: ReasonPerClient},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := newFakeListener()
			l := New(fl, tt.cfg)
			defer l.Close()
			var arrived []*fakeConn // every connection, in arrival order
			var accepted []net.Conn // the wrappers, by arrival index (nil if refused)
			for i, s := range tt.steps {
				if s.from == "" {
					if err := accepted[s.close].Close(); err != nil {
						t.Fatal(err)
					}
					continue
				}
				before := testutil.ToFloat64(refused.WithLabelValues(ReasonTotal)) + testutil.ToFloat64(refused.WithLabelValues(ReasonPerClient))
				fc := &fakeConn{remote: tcpAddr(s.from)}
				arrived = append(arrived, fc)
				fl.conns <- fc
				if s.refused == "" {
					c, err := l.Accept()
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if c.RemoteAddr().String() != fc.remote.String() {
						t.Fatalf("step %d: accepted %v, want %v", i, c.RemoteAddr(), fc.remote)
					}
					accepted = append(accepted, c)
					continue
				}
				// A refused connection is closed inside Accept, which then
				// goes on to the next one: here, none.
				reason := testutil.ToFloat64(refused.WithLabelValues(s.refused))
				if c, err := l.Accept(); !errors.Is(err, errNone) {
					t.Fatalf("step %d: accepted %v (err %v), want it refused (%s)", i, c, err, s.refused)
				}
				if n := fc.closes.Load(); n != 1 {
					t.Fatalf("step %d: refused connection closed %d times, want 1", i, n)
				}
				if got := testutil.ToFloat64(refused.WithLabelValues(s.refused)) - reason; got != 1 {
					t.Fatalf("step %d: refused{reason=%s} grew by %v, want 1", i, s.refused, got)
				}
				after := testutil.ToFloat64(refused.WithLabelValues(ReasonTotal)) + testutil.ToFloat64(refused.WithLabelValues(ReasonPerClient))
				if after-before != 1 {
					t.Fatalf("step %d: refusals grew by %v, want 1", i, after-before)
				}
				accepted = append(accepted, nil)
			}
			// Closing everything leaves no place taken and no key behind.
			for _, c := range accepted {
				if c != nil {
					_ = c.Close()
				}
			}
			l.mu.Lock()
			total, keys := l.total, len(l.perClient)
			l.mu.Unlock()
			if total != 0 || keys != 0 {
				t.Fatalf("after closing all: total %d, %d client keys; want 0, 0", total, keys)
			}
			for i, fc := range arrived {
				if n := fc.closes.Load(); n < 1 {
					t.Fatalf("connection %d never closed", i)
				}
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{tcpAddr("127.0.0.1:80"), "127.0.0.1/32"},
		{tcpAddr("[::ffff:127.0.0.2]:80"), "127.0.0.2/32"},
		{tcpAddr("[2001:db8:a:b:c:d:e:f]:80"), "2001:db8:a:b::/64"},
		{tcpAddr("[::1]:80"), "::/64"},
		{&net.UnixAddr{Name: "/tmp/s", Net: "unix"}, "invalid Prefix"},
		{nil, "invalid Prefix"},
	}
	for _, tt := range tests {
		if got := ClientKey(tt.addr).String(); got != tt.want {
			t.Errorf("ClientKey(%v) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

// TestConcurrentCloses: places are released exactly once however many
// goroutines close a connection at once.
func TestConcurrentCloses(t *testing.T) {
	fl := newFakeListener()
	l := New(fl, Config{MaxConnsPerClient: 1000})
	defer l.Close()
	openBefore := testutil.ToFloat64(open)
	var conns []net.Conn
	for i := range 50 {
		fl.conns <- &fakeConn{remote: tcpAddr("10.1.0.1:" + strconv.Itoa(i+1))}
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if got := testutil.ToFloat64(open) - openBefore; got != 50 {
		t.Fatalf("open grew by %v, want 50", got)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		for range 4 {
			wg.Go(func() { _ = c.Close() })
		}
	}
	wg.Wait()
	if total, client := l.Open(ClientKey(tcpAddr("10.1.0.1:1"))); total != 0 || client != 0 {
		t.Fatalf("open after closes: total %d, client %d; want 0, 0", total, client)
	}
	if got := testutil.ToFloat64(open) - openBefore; got != 0 {
		t.Fatalf("open gauge off by %v after closing all", got)
	}
}

// TestRealSockets: over loopback TCP, a client beyond its cap is closed at
// once while another address (127.0.0.2; Linux routes all of 127/8 to
// loopback) is still served, and a closed connection frees its place.
func TestRealSockets(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, Config{MaxConnsPerClient: 3, MaxConns: 100})
	defer l.Close()
	// An echo server: every accepted connection answers what it reads.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	addr := inner.Addr().String()
	dial := func(local string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", local, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// served: the connection echoes a byte.
	served := func(c net.Conn) bool {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte{'x'}); err != nil {
			return false
		}
		b := make([]byte, 1)
		_, err := io.ReadFull(c, b)
		return err == nil && b[0] == 'x'
	}
	var mine []net.Conn
	for range 3 {
		c := dial("127.0.0.1")
		if !served(c) {
			t.Fatal("a connection within the cap was not served")
		}
		mine = append(mine, c)
	}
	before := testutil.ToFloat64(refused.WithLabelValues(ReasonPerClient))
	start := time.Now()
	over := dial("127.0.0.1")
	_ = over.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := over.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the connection over the cap was not closed: read %d, %v", n, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the connection over the cap was closed after %v, want at once", d)
	}
	if got := testutil.ToFloat64(refused.WithLabelValues(ReasonPerClient)) - before; got != 1 {
		t.Fatalf("refused{per_client} grew by %v, want 1", got)
	}
	if other := dial("127.0.0.2"); !served(other) {
		t.Fatal("another client address was not served while 127.0.0.1 was at its cap")
	}
	// One of the three closes: its place is free again.
	mine[0].Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, n := l.Open(ClientKey(tcpAddr("127.0.0.1:1"))); n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's place was not released")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if again := dial("127.0.0.1"); !served(again) {
		t.Fatal("a connection was refused after a place was released")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
