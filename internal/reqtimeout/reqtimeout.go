// Package reqtimeout bounds how long a request's body may take to arrive
// and its answer to leave, so that a client sending a byte now and then (or
// never reading the answer) cannot hold a connection, a goroutine and a
// partly read body forever. net/http's ReadHeaderTimeout only covers the
// headers, and its ReadTimeout and WriteTimeout are one fixed span for the
// whole request whatever its size, counted from before the body: a value
// that lets a legitimate 4 MiB body through a slow link lets a trickle hold
// a connection just as long.
//
// Handler's body deadline is that of Apache's mod_reqtimeout instead: a
// grace period from the end of the headers, extended by a second for every
// MinRate bytes received. A body arriving at MinRate or faster is never cut,
// whatever its size; one trickling slower is cut a little after the grace
// period. A request cut so is answered 408 RequestTimeoutException (which
// the AWS SDKs retry) and its connection closed.
package reqtimeout

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var timedOut = promauto.NewCounter(prometheus.CounterOpts{
	Name: "switchyard_http_request_body_timeouts_total",
	Help: "API requests whose body arrived too slowly (--request-body-timeout, --request-body-min-rate), answered 408 and their connection closed.",
})

// Config sets the bounds; a zero duration turns its bound off.
type Config struct {
	// Body is the time a body has from the end of its request's headers,
	// before MinRate extends it.
	Body time.Duration
	// MinRate, in bytes per second, extends the body's deadline by a
	// second for every MinRate bytes received; 0 makes Body a fixed
	// deadline.
	MinRate int64
	// Write is the time the answer has to be written, from the handler's
	// first write (or its return, if it writes nothing).
	Write time.Duration
}

// ErrBodyTimeout is what a handler's writes return once its body has timed
// out: the answer is then the 408, not the handler's.
var ErrBodyTimeout = errors.New("reqtimeout: request body timed out")

// Handler applies cfg to every request next serves. It needs next's
// connections to support deadlines through http.ResponseController (those
// of net/http's HTTP/1 server do).
func Handler(cfg Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := &guard{cfg: cfg, w: w, rc: http.NewResponseController(w), start: time.Now()}
		if cfg.Body > 0 && r.Body != nil && r.Body != http.NoBody {
			// The original request is kept for net/http: it looks at its
			// body after the handler to decide how to close the connection.
			r2 := *r
			r2.Body = &body{ReadCloser: r.Body, g: g}
			r = &r2
			_ = g.rc.SetReadDeadline(g.start.Add(cfg.Body))
		}
		next.ServeHTTP(g, r)
		g.startWrite()
		if g.timedOut.Load() {
			g.answerTimeout()
		}
	})
}

// guard is the ResponseWriter the handler writes through: it starts the
// write deadline with the first write, and keeps the handler's answer off
// the wire once the body has timed out.
type guard struct {
	cfg   Config
	w     http.ResponseWriter
	rc    *http.ResponseController
	start time.Time

	timedOut    atomic.Bool
	mu          sync.Mutex
	wroteHeader bool // by the handler, before any timeout
	writeOnce   sync.Once
}

func (g *guard) Header() http.Header { return g.w.Header() }

func (g *guard) WriteHeader(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timedOut.Load() {
		return
	}
	g.startWrite()
	g.wroteHeader = true
	g.w.WriteHeader(code)
}

func (g *guard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timedOut.Load() {
		return 0, ErrBodyTimeout
	}
	g.startWrite()
	g.wroteHeader = true
	return g.w.Write(p)
}

// Flush lets handlers that stream (promhttp) push out what they wrote.
func (g *guard) Flush() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timedOut.Load() {
		return
	}
	g.startWrite()
	g.wroteHeader = true
	_ = g.rc.Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (g *guard) Unwrap() http.ResponseWriter { return g.w }

// startWrite sets the write deadline, once: from the first write rather
// than from the end of the headers as net/http's WriteTimeout does, so that
// the time the body took does not count against the answer.
func (g *guard) startWrite() {
	if g.cfg.Write <= 0 {
		return
	}
	g.writeOnce.Do(func() { _ = g.rc.SetWriteDeadline(time.Now().Add(g.cfg.Write)) })
}

// timeout records that the body's deadline passed, unless the handler has
// already begun its answer (then the connection is closed by net/http,
// which sees the body unread, and the answer it began stands).
func (g *guard) timeout() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wroteHeader || g.timedOut.Load() {
		return
	}
	g.timedOut.Store(true)
	timedOut.Inc()
}

// answerTimeout writes AWS's answer to a request that came too slowly, in
// the AWS JSON 1.1 error shape, and has the connection closed: the rest of
// the body may still be on its way, and the connection cannot be read
// past it.
func (g *guard) answerTimeout() {
	h := g.w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Errortype", "RequestTimeoutException")
	h.Set("Connection", "close")
	h.Del("Content-Length")
	g.w.WriteHeader(http.StatusRequestTimeout)
	data, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"RequestTimeoutException", "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."})
	_, _ = g.w.Write(data)
}

// body extends the read deadline as bytes arrive, and notes a timeout.
type body struct {
	io.ReadCloser
	g    *guard
	read int64
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	cfg := b.g.cfg
	switch {
	case err == io.EOF:
		// The whole body is in. net/http clears the read deadline itself
		// here, to read on in the background and notice the client
		// leaving; it must not be set again, as a deadline passing during
		// that read would cancel the request's context while the handler
		// still works on it. Cleared again in case net/http stops doing so.
		_ = b.g.rc.SetReadDeadline(time.Time{})
	case err != nil:
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.g.timeout()
		}
	case n > 0 && cfg.MinRate > 0:
		extra := time.Duration(float64(b.read) / float64(cfg.MinRate) * float64(time.Second))
		_ = b.g.rc.SetReadDeadline(b.g.start.Add(cfg.Body + extra))
	}
	return n, err
}
