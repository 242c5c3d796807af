package deliver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/netguard"
)

// countingServer is a real HTTP server on 127.0.0.1 that counts the
// connections it accepts and the requests it serves.
type countingServer struct {
	port            string
	conns, requests atomic.Int32
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &countingServer{}
	_, s.port, _ = net.SplitHostPort(lis.Addr().String())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { s.requests.Add(1) }),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func mustGuard(t *testing.T, list string) *netguard.Guard {
	t.Helper()
	g, err := netguard.Parse(list)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestHTTPTargetDeniedAddress: with loopback denied, a URL target on
// 127.0.0.1 is refused in every spelling — by name (localhost resolves
// to it), literal, IPv4-mapped — before a connection is made, as a final
// error with its own code, counted in switchyard_http_denied_total; with
// the guard off, the same URLs are delivered.
func TestHTTPTargetDeniedAddress(t *testing.T) {
	srv := newCountingServer(t)
	urls := []string{
		"http://localhost:" + srv.port + "/events",
		"http://127.0.0.1:" + srv.port + "/events",
		"http://[::ffff:127.0.0.1]:" + srv.port + "/events",
		"http://2130706433:" + srv.port + "/events", // 127.0.0.1 as one number
	}
	denied := newGuardedHTTPInvoker(mustGuard(t, "127.0.0.1/32,::1/128"))
	before := testutil.ToFloat64(HTTPDenied)
	for _, u := range urls {
		err := denied.Invoke(context.Background(), &Invocation{Target: &control.Target{Arn: u}, Input: []byte(`{}`)})
		e := classify(err)
		if !errors.Is(err, netguard.ErrDenied) || !e.Permanent || e.Code != CodeAddressDenied {
			t.Errorf("%s: %v (code %s, permanent %v), want a final %s", u, err, e.Code, e.Permanent, CodeAddressDenied)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, u) || !strings.Contains(msg, "--deny-target-cidrs") || !strings.Contains(msg, "127.0.0.1/32") {
			t.Errorf("%s: message %q does not say what was refused and why", u, msg)
		}
	}
	if n := srv.conns.Load(); n != 0 {
		t.Errorf("the denied server accepted %d connections", n)
	}
	if got := testutil.ToFloat64(HTTPDenied) - before; got != float64(len(urls)) {
		t.Errorf("switchyard_http_denied_total rose by %v, want %d", got, len(urls))
	}

	// Off, and with another range denied: delivered (the numeric form is
	// left out: resolving it is the C library's business, and Go's own
	// resolver does not read it).
	for _, list := range []string{"", netguard.DefaultCIDRs} {
		open := newGuardedHTTPInvoker(mustGuard(t, list))
		for _, u := range urls[:3] {
			if err := open.Invoke(context.Background(), &Invocation{Target: &control.Target{Arn: u}, Input: []byte(`{}`)}); err != nil {
				t.Errorf("guard %q, %s: %v", list, u, err)
			}
		}
	}
	if n := srv.requests.Load(); n != 6 {
		t.Errorf("%d requests served, want 6", n)
	}
}

// TestHTTPTargetDeniedThroughProxy: through an HTTP proxy the dialer sees
// only the proxy's address, but a literal denied address in the URL is
// still refused before the proxy is asked for it.
func TestHTTPTargetDeniedThroughProxy(t *testing.T) {
	proxy := newCountingServer(t)
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:"+proxy.port)
	t.Setenv("NO_PROXY", "")
	inv := newGuardedHTTPInvoker(netguard.Default())
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/", "http://100.100.100.200/latest/meta-data/"} {
		err := inv.Invoke(context.Background(), &Invocation{Target: &control.Target{Arn: u}, Input: []byte(`{}`)})
		if e := classify(err); !errors.Is(err, netguard.ErrDenied) || !e.Permanent {
			t.Errorf("%s through a proxy: %v", u, err)
		}
	}
	if n := proxy.conns.Load(); n != 0 {
		t.Errorf("the proxy got %d connections", n)
	}
}

// TestHTTPClientKeepsAllowedAddresses: a denied range leaves the client's
// ordinary path as it was: connections are reused.
func TestHTTPClientKeepsAllowedAddresses(t *testing.T) {
	srv := newCountingServer(t)
	c := NewGuardedHTTPClient(5*time.Second, netguard.Default())
	for range 3 {
		a, err := c.Do(context.Background(), &Call{Method: http.MethodPost, URL: "http://localhost:" + srv.port + "/"})
		if err != nil || a.Status != 200 {
			t.Fatalf("%+v %v", a, err)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections for three calls, want 1 (kept alive)", n)
	}
}
