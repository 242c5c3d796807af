package deliver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHTTPClientCapsCallsPerHost: beyond PerHost calls in flight to a host
// a call waits for one to end; one that waits its whole timeout fails as
// THROTTLING, without reaching the host.
func TestHTTPClientCapsCallsPerHost(t *testing.T) {
	release := make(chan struct{})
	var inflight, most, calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if r.URL.Path == "/hold" {
			<-release
		}
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	waits0, busy0 := testutil.ToFloat64(httpHostWaits), testutil.ToFloat64(httpHostBusy)
	c := NewHTTPClient(time.Minute) // the held calls outlast the wait for the host
	c.perHost = 3
	c.wait = time.Second
	call := func(path string) error {
		_, err := c.Do(context.Background(), &Call{Method: http.MethodPost, URL: srv.URL + path})
		return err
	}
	// Three calls hold the host; a fourth waits its timeout and fails.
	held := make(chan error, 3)
	for range 3 {
		go func() { held <- call("/hold") }()
	}
	for calls.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	err := call("/quick")
	if !errors.Is(err, errHostBusy) || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("fourth call: %v after %v; want errHostBusy after the 1 s wait", err, time.Since(start))
	}
	var de *Error
	if !errors.As(CallFailed("t", err), &de) || de.Code != "THROTTLING" || de.Permanent {
		t.Errorf("CallFailed(errHostBusy) = %v, want a retryable THROTTLING", CallFailed("t", err))
	}
	if calls.Load() != 3 {
		t.Errorf("the host got %d calls, want 3: the waiting call reached it", calls.Load())
	}
	// A waiting call starts as soon as one ends.
	waiting := make(chan error, 1)
	go func() { waiting <- call("/quick") }()
	time.Sleep(100 * time.Millisecond)
	if calls.Load() != 3 {
		t.Fatal("a call started while the host had PerHost in flight")
	}
	close(release)
	for range 3 {
		if err := <-held; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-waiting; err != nil {
		t.Fatalf("the waiting call: %v", err)
	}
	if most.Load() != 3 {
		t.Errorf("at most %d calls in flight at the host, want 3", most.Load())
	}
	if w, b := testutil.ToFloat64(httpHostWaits)-waits0, testutil.ToFloat64(httpHostBusy)-busy0; w != 2 || b != 1 {
		t.Errorf("switchyard_http_host_waits_total +%v, _host_busy_total +%v; want +2 and +1", w, b)
	}
}

// TestHTTPClientCall: the request arrives as the call says (method, URL as
// given, headers, body, Connection: close); the answer's status and
// Retry-After come back; a body over a MiB is not read but the answer
// stands; calls reuse one connection unless they ask to close it.
func TestHTTPClientCall(t *testing.T) {
	var conns atomic.Int32
	type seen struct {
		method, uri, ctype, custom, body string
		close                            bool
	}
	got := make(chan seen, 100)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Header.Get("Content-Type"), r.Header.Get("X-Custom"), string(b), r.Close}
		switch r.URL.Path {
		case "/throttle":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case "/big":
			w.Header().Set("Content-Length", fmt.Sprint(2<<20))
			w.WriteHeader(202)
			_, _ = w.Write(make([]byte, 2<<20))
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/huge-header":
			w.Header().Set("X-Huge", strings.Repeat("h", maxAnswerHeader))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	dials0, open0 := testutil.ToFloat64(httpDials), testutil.ToFloat64(httpConnsOpen)
	c := NewHTTPClient(5 * time.Second)
	ctx := context.Background()

	a, err := c.Do(ctx, &Call{Method: "PUT", URL: srv.URL + "/a%2Fb/../c?x=1&y=%20",
		Header: []Header{{"Content-Type", "application/json"}, {"x-custom", "v"}}, Body: []byte(`{"k":1}`)})
	if err != nil || a.Status != 200 {
		t.Fatalf("call: %+v, %v", a, err)
	}
	if s := <-got; s != (seen{"PUT", "/a%2Fb/../c?x=1&y=%20", "application/json", "v", `{"k":1}`, false}) {
		t.Errorf("the host saw %+v", s)
	}
	for range 20 {
		if _, err := c.Do(ctx, &Call{Method: "POST", URL: srv.URL + "/n"}); err != nil {
			t.Fatal(err)
		}
		<-got
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("21 calls in a row took %d connections, want 1", n)
	}
	if d, o := testutil.ToFloat64(httpDials)-dials0, testutil.ToFloat64(httpConnsOpen)-open0; d != 1 || o != 1 {
		t.Errorf("switchyard_http_dials_total +%v, _connections_open +%v; want +1 and +1", d, o)
	}

	a, err = c.Do(ctx, &Call{Method: "POST", URL: srv.URL + "/throttle"})
	if err != nil || a.Status != 429 || a.RetryAfter != "7" {
		t.Errorf("throttled call: %+v, %v", a, err)
	}
	<-got
	a, err = c.Do(ctx, &Call{Method: "POST", URL: srv.URL + "/big"})
	if err != nil || a.Status != 202 {
		t.Errorf("call answered with 2 MiB: %+v, %v; want the 202 to stand", a, err)
	}
	<-got
	a, err = c.Do(ctx, &Call{Method: "POST", URL: srv.URL + "/redirect"})
	if err != nil || a.Status != 302 {
		t.Errorf("redirected call: %+v, %v; want the 302 itself", a, err)
	}
	<-got
	_, err = c.Do(ctx, &Call{Method: "POST", URL: srv.URL + "/huge-header"})
	var de *Error
	if err == nil || !errors.As(CallFailed("t", err), &de) || !de.Permanent {
		t.Errorf("an answer with headers over %d bytes: %v; want a final failure", maxAnswerHeader, err)
	}
	<-got
	if _, err := c.Do(ctx, &Call{Method: "POST", URL: srv.URL + "/closing", Close: true}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; !s.close {
		t.Error("Close: the host did not see Connection: close")
	}

	for _, u := range []string{"ftp://h/x", "/relative", "http://"} {
		_, err := c.Do(ctx, &Call{Method: "POST", URL: u})
		var de *Error
		if !errors.Is(err, ErrInvalidURL) || !errors.As(CallFailed("t", err), &de) || !de.Permanent {
			t.Errorf("URL %q: %v; want ErrInvalidURL, a final failure", u, err)
		}
	}
}

// TestHTTPClientRetriesStaleConnection: a host that closes a kept-alive
// connection after answering (as hosts do with idle connections) does not
// fail the next call, which is sent again on a new connection.
func TestHTTPClientRetriesStaleConnection(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	var conns, requests atomic.Int32
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conn.Close()
				// One request, answered with keep-alive, then the host
				// closes the connection without saying so.
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				requests.Add(1)
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}()
		}
	}()
	c := NewHTTPClient(5 * time.Second)
	url := "http://" + lis.Addr().String() + "/"
	for i := range 5 {
		a, err := c.Do(context.Background(), &Call{Method: "POST", URL: url, Body: []byte("{}")})
		if err != nil || a.Status != 200 {
			t.Fatalf("call %d: %+v, %v", i, a, err)
		}
		time.Sleep(20 * time.Millisecond) // the host's close arrives
	}
	if requests.Load() != 5 || conns.Load() < 5 {
		t.Errorf("host answered %d requests on %d connections, want 5 on 5", requests.Load(), conns.Load())
	}
}

// TestHTTPClientCancel: a call in flight ends at once when its context
// ends, with the context's error, though the host never answers.
func TestHTTPClientCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c := NewHTTPClient(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Do(ctx, &Call{Method: "POST", URL: srv.URL}); done <- err }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled call still waits for the host")
	}
	if _, err := c.Do(ctx, &Call{Method: "POST", URL: srv.URL}); !errors.Is(err, context.Canceled) {
		t.Errorf("call with an ended context: %v", err)
	}
}
