package reqtimeout

import (
	"bufio"
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

// echoLength reads the whole body, as the API does, answers its length,
// and after the read waits for hold (a slow operation), failing with 500 if
// its context ends meanwhile.
func echoLength(hold time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			// The API's own answer to a body it cannot read: Handler must
			// replace it with the 408.
			w.Header().Set("X-Amzn-Errortype", "SerializationException")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"SerializationException"}`))
			return
		}
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	})
}

// chunked sends a body: n pieces of size bytes, every gap.
type chunked struct {
	declared int // Content-Length
	size, n  int
	gap      time.Duration
}

// send writes a POST with body b on c and returns the answer.
func send(t *testing.T, c net.Conn, br *bufio.Reader, b chunked) (*http.Response, string, error) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", b.declared); err != nil {
		return nil, "", err
	}
	// Pieces go from their own goroutine: the server may answer (and
	// close) before the client is done sending.
	go func() {
		for i := 0; i < b.n; i++ {
			time.Sleep(b.gap)
			if _, err := c.Write([]byte(strings.Repeat("x", b.size))); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

func serve(t *testing.T, cfg Config, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(Handler(cfg, h))
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestBodyDeadline(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		hold   time.Duration
		body   chunked
		status int
		answer string
		within time.Duration // the answer arrives within this
	}{
		{
			name:   "a quick body is served",
			cfg:    Config{Body: 300 * time.Millisecond, MinRate: 1000},
			body:   chunked{declared: 1000, size: 1000, n: 1},
			status: http.StatusOK, answer: "1000", within: time.Second,
		},
		{
			name: "a trickle below the rate is cut after the grace period",
			cfg:  Config{Body: 300 * time.Millisecond, MinRate: 1000},
			// 1 byte every 100 ms: 10 B/s, each byte buys 1 ms.
			body:   chunked{declared: 100000, size: 1, n: 100, gap: 100 * time.Millisecond},
			status: http.StatusRequestTimeout, within: 800 * time.Millisecond,
		},
		{
			name: "a body above the rate outlasts the grace period",
			cfg:  Config{Body: 300 * time.Millisecond, MinRate: 1000},
			// 100 bytes every 50 ms: 2,000 B/s for a second.
			body:   chunked{declared: 2000, size: 100, n: 20, gap: 50 * time.Millisecond},
			status: http.StatusOK, answer: "2000", within: 3 * time.Second,
		},
		{
			name:   "without a rate the deadline is fixed",
			cfg:    Config{Body: 300 * time.Millisecond},
			body:   chunked{declared: 2000, size: 100, n: 20, gap: 50 * time.Millisecond},
			status: http.StatusRequestTimeout, within: 800 * time.Millisecond,
		},
		{
			name: "the deadline ends with the body: a slow operation after it keeps its context",
			cfg:  Config{Body: 200 * time.Millisecond, MinRate: 1000},
			hold: 600 * time.Millisecond,
			body: chunked{declared: 10, size: 10, n: 1},
			// 500 if the handler's context was cancelled.
			status: http.StatusOK, answer: "10", within: 2 * time.Second,
		},
		{
			name:   "no bound",
			cfg:    Config{},
			body:   chunked{declared: 300, size: 100, n: 3, gap: 100 * time.Millisecond},
			status: http.StatusOK, answer: "300", within: 2 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serve(t, tt.cfg, echoLength(tt.hold))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			start := time.Now()
			resp, answer, err := send(t, c, br, tt.body)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("after %v: %v", took, err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, answer, tt.status)
			}
			if took > tt.within {
				t.Fatalf("answered after %v, want within %v", took, tt.within)
			}
			if tt.status != http.StatusRequestTimeout {
				if answer != tt.answer {
					t.Fatalf("answer %q, want %q", answer, tt.answer)
				}
				return
			}
			if got := resp.Header.Get("X-Amzn-Errortype"); got != "RequestTimeoutException" {
				t.Fatalf("x-amzn-ErrorType %q, want RequestTimeoutException", got)
			}
			if !strings.Contains(answer, `"__type":"RequestTimeoutException"`) {
				t.Fatalf("answer %s, want a RequestTimeoutException", answer)
			}
			if !resp.Close {
				t.Fatal("the 408 does not close the connection")
			}
			// And the server does close it.
			if _, err := br.ReadByte(); err == nil || isTimeout(err) {
				t.Fatalf("connection still open after the 408: %v", err)
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestTimeoutCounted: each cut body counts once.
func TestTimeoutCounted(t *testing.T) {
	before := testutil.ToFloat64(timedOut)
	addr := serve(t, Config{Body: 100 * time.Millisecond}, echoLength(0))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	resp, _, err := send(t, c, bufio.NewReader(c), chunked{declared: 10})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
	if got := testutil.ToFloat64(timedOut) - before; got != 1 {
		t.Fatalf("timeouts counted %v, want 1", got)
	}
}

// TestKeepAlive: a request on a kept-alive connection has its own deadline;
// the first one's, long past, does not cut it.
func TestKeepAlive(t *testing.T) {
	addr := serve(t, Config{Body: 200 * time.Millisecond, MinRate: 1000, Write: time.Second}, echoLength(0))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i := range 2 {
		resp, answer, err := send(t, c, br, chunked{declared: 5, size: 5, n: 1})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusOK || answer != "5" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, answer)
		}
		time.Sleep(1500 * time.Millisecond) // past both deadlines of the first
	}
}

// TestWriteDeadline: a client that never reads its answer costs the server
// a blocked write only until the write deadline.
func TestWriteDeadline(t *testing.T) {
	var writeErr atomic.Value
	done := make(chan time.Duration, 1)
	addr := serve(t, Config{Body: time.Second, Write: 300 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		start := time.Now()
		defer func() { done <- time.Since(start) }()
		// Far more than the socket buffers hold: the writes block.
		for range 256 {
			if _, err := w.Write(chunk); err != nil {
				writeErr.Store(err)
				return
			}
		}
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case took := <-done:
		if writeErr.Load() == nil {
			t.Fatal("every write succeeded to a client that reads nothing")
		}
		if took > 2*time.Second {
			t.Fatalf("the writes failed after %v, want about 300ms", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's writes still block after 5s")
	}
}

// TestHandlerAnswerStands: a handler that answered before reading its body
// keeps its answer; the body's deadline only closes the connection.
func TestHandlerAnswerStands(t *testing.T) {
	addr := serve(t, Config{Body: 200 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	resp, _, err := send(t, c, bufio.NewReader(c), chunked{declared: 100, size: 1, n: 100, gap: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d, want the handler's 418", resp.StatusCode)
	}
}
