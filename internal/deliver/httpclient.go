package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpproxy"

	"github.com/switchyard/switchyard/internal/netguard"
)

// The HTTP clients' own metrics, for all hosts together (a label per host
// would grow without bound).
var (
	httpConnsOpen = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "switchyard_http_connections_open",
		Help: "Connections open from HTTP targets' and API destinations' clients to their hosts.",
	})
	httpDials = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_http_dials_total",
		Help: "Connections dialled by HTTP targets' and API destinations' clients (API destinations dial one per call, as AWS closes each).",
	})
	httpHostWaits = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_http_host_waits_total",
		Help: "HTTP calls that waited because their host had the most calls in flight (1,024).",
	})
	httpHostBusy = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_http_host_busy_total",
		Help: "HTTP calls that waited their whole timeout for their host and failed as THROTTLING (retried).",
	})
	// HTTPDenied counts the calls refused because the address to connect
	// to is in --deny-target-cidrs; package apidest counts its OAuth token
	// requests here too.
	HTTPDenied = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_http_denied_total",
		Help: "HTTP calls of targets, API destinations and OAuth token requests refused, before connecting, because their address is in --deny-target-cidrs (final: not retried).",
	})
)

// HTTPClient makes the HTTP calls of targets (plain URLs here, API
// destinations in package apidest), with AWS's five-second timeout.
//
// It is built on fasthttp rather than net/http. A delivery is one small
// request and one small answer, and at ten thousand calls a second
// net/http's client was the largest cost of the whole process (over 40% of
// its CPU): each call crosses a connection's read and write goroutines
// through channels, and allocates its request, header maps and response.
// fasthttp's client writes and reads on the caller's goroutine with pooled
// requests and buffers; on the delivery benchmark it halved the p99 from
// PutEvents to the target's call (docs/performance.md). What it does not
// do, and targets do not need: HTTP/2, and cancelling one call in flight
// (see Do).
//
// Connections are pooled per host, and every target URL on one host shares
// the pool, so a busy host is called over connections kept open.
//
// Calls in flight to one host are capped (PerHost; beyond it a call waits
// for one to end, at most its timeout, and then fails as THROTTLING rather
// than as a TIMEOUT of the host). Without a cap, ten thousand scheduled
// rules whose targets are paths of one host made ten thousand calls at
// once at each tick: ten thousand connections dialled (and accepted by the
// host), and the process spent a quarter of the tick dialling. With it, at
// most PerHost connections are dialled, once, and then reused. A target
// URL has at most the deliverer's per-target calls in flight (limiter.go),
// so it takes many hanging URLs of one host to make its other URLs wait.
type HTTPClient struct {
	client  *fasthttp.Client
	timeout time.Duration // of a call
	wait    time.Duration // the longest a call waits for its host
	perHost int

	mu    sync.Mutex
	hosts map[string]chan struct{}
	conns map[net.Conn]struct{} // open connections, closed by abort
}

// PerHost is the most calls in flight to one host (host:port).
const PerHost = 1024

// maxAnswerHeader is the largest answer header read (status line and
// headers). fasthttp reads them within its read buffer, which a call holds
// from sending its request until the answer: thousands of calls waiting on
// slow targets hold thousands of buffers, so it is kept small. A larger
// header fails the delivery for good (see CallFailed).
const maxAnswerHeader = 16 << 10

// maxAnswerBody is the most of an answer's body read; AWS reads at most the
// first MiB of an API destination's answer (its Range header) and ignores
// it. A longer body ends its connection instead of being read.
const maxAnswerBody = 1 << 20

// NewHTTPClient returns a client whose calls time out after timeout,
// guarded by netguard.Default; see NewGuardedHTTPClient.
func NewHTTPClient(timeout time.Duration) *HTTPClient {
	return NewGuardedHTTPClient(timeout, netguard.Default())
}

// NewGuardedHTTPClient returns a client whose calls time out after
// timeout. It follows no redirects: a 3xx answer is the answer (AWS's API
// destinations do the same; a POST redirected by 301, 302 or 303 would be
// re-sent as a GET without the event, and a redirect could point anywhere,
// the metadata service included). Proxies are taken from the environment
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as net/http does.
//
// The client connects to no address guard denies: the URL's host is a
// user's choice, so a name resolving to the cloud's metadata service must
// not reach it. Names are resolved through guard.Resolver, which drops the
// denied addresses from each answer, so fasthttp's dialer (which caches
// the answer for a minute and then dials exactly those addresses) never
// dials one, however the name's records change; guard.WrapDial refuses a
// literal denied address, and checks the connection's remote address
// whatever the dialer did. Through a proxy only literal addresses and the
// proxy's own address are checked: the proxy resolves the names.
func NewGuardedHTTPClient(timeout time.Duration, guard *netguard.Guard) *HTTPClient {
	c := &HTTPClient{timeout: timeout, wait: timeout, perHost: PerHost, hosts: map[string]chan struct{}{}, conns: map[net.Conn]struct{}{}}
	d := &fasthttpproxy.Dialer{Timeout: timeout, ConnectTimeout: timeout, DialDualStack: true}
	if guard.Enabled() {
		d.Resolver = guard.Resolver(nil)
	}
	dial, err := d.GetDialFunc(true)
	if err != nil {
		// A malformed proxy variable: dial directly, as net/http does
		// when it cannot parse one.
		dial = func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) }
	}
	c.client = &fasthttp.Client{
		Dial:                     c.trackDial(guard.WrapDial(dial)),
		MaxConnsPerHost:          PerHost,
		MaxConnWaitTimeout:       timeout,
		MaxIdleConnDuration:      90 * time.Second,
		ReadTimeout:              timeout,
		WriteTimeout:             timeout,
		ReadBufferSize:           maxAnswerHeader,
		MaxResponseBodySize:      maxAnswerBody,
		DisablePathNormalizing:   true, // the URL as the target gave it
		NoDefaultUserAgentHeader: true,
	}
	c.client.RetryIfErr = c.retryStale
	return c
}

// retryStale retries a call once when its connection, taken from the idle
// pool, turns out to have been closed by the host before any answer: hosts
// close idle connections when they like (Node's default is after 5 s), and
// the call may have raced that. net/http retries the same way. The host
// may, rarely, have acted on the request before closing; that is a
// duplicate delivery, which at-least-once allows. A call whose context
// ended was closed by abort, not by the host, and is not retried.
func (c *HTTPClient) retryStale(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if ctx, _ := req.UserValue(ctxKey{}).(context.Context); ctx != nil && ctx.Err() != nil {
		return false, false
	}
	stale := errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	return false, attempts < 2 && stale
}

// ctxKey is the request's user value holding its call's context.
type ctxKey struct{}

// Header is one request header.
type Header struct{ Name, Value string }

// Call is one HTTP request of a target.
type Call struct {
	Method string
	URL    string // absolute http or https URL, sent as it is
	Header []Header
	Body   []byte
	Close  bool // send "Connection: close" and do not reuse the connection
	// KeepBody keeps the answer's body (Answer.Body); else it is dropped.
	KeepBody bool
}

// Answer is what the target answered: its status and Retry-After header.
// The body is read (at most a MiB) and dropped unless Call.KeepBody.
type Answer struct {
	Status     int
	RetryAfter string
	Body       []byte // with Call.KeepBody, decoded if gzip or deflate
}

var (
	// errHostBusy: the host had PerHost calls in flight for the whole
	// timeout.
	errHostBusy = errors.New("too many calls in flight to the host")
	// ErrInvalidURL: the call's URL is not an absolute http or https URL.
	ErrInvalidURL = errors.New("not an absolute http or https URL")
)

// Do makes the call once a call to its host may start, and returns the
// answer. An error is the transport's (no answer), errHostBusy after waiting
// the timeout for the host, or ErrInvalidURL.
//
// If ctx ends while the call is in flight, the client closes all its
// connections, so that every call in flight on it fails at once: fasthttp
// cannot cancel one call. Its callers pass the deliverer's context, which
// ends only when the process stops, and a call cut short there must end
// promptly so that its task goes back to the stream for another process.
func (c *HTTPClient) Do(ctx context.Context, call *Call) (Answer, error) {
	if err := ctx.Err(); err != nil {
		return Answer{}, err
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(call.URL)
	uri := req.URI()
	if s := string(uri.Scheme()); (s != "http" && s != "https") || len(uri.Host()) == 0 {
		return Answer{}, fmt.Errorf("%q: %w", call.URL, ErrInvalidURL)
	}
	req.Header.SetMethod(call.Method)
	req.Header.SetNoDefaultContentType(true)
	for _, h := range call.Header {
		req.Header.Add(h.Name, h.Value)
	}
	if call.Body != nil {
		req.SetBodyRaw(call.Body)
	}
	if call.Close {
		req.SetConnectionClose()
	}

	slots := c.slots(uri.Host())
	select {
	case slots <- struct{}{}:
	default:
		httpHostWaits.Inc()
		t := time.NewTimer(c.wait)
		select {
		case slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			httpHostBusy.Inc()
			return Answer{}, fmt.Errorf("%s: %w", uri.Host(), errHostBusy)
		case <-ctx.Done():
			t.Stop()
			return Answer{}, ctx.Err()
		}
	}
	defer func() { <-slots }()

	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if ctx.Done() != nil {
		req.SetUserValue(ctxKey{}, ctx)
		stop := context.AfterFunc(ctx, c.abort)
		defer stop()
	}
	err := c.client.DoDeadline(req, resp, deadline)
	if errors.Is(err, netguard.ErrDenied) {
		HTTPDenied.Inc()
	}
	// A body over maxAnswerBody fails the read after the status was read,
	// and the connection is dropped: the answer stands.
	if err != nil && !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		if ctx.Err() != nil {
			return Answer{}, fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return Answer{}, err
	}
	a := Answer{Status: resp.StatusCode(), RetryAfter: string(resp.Header.Peek("Retry-After"))}
	if call.KeepBody {
		body, err := resp.BodyUncompressed()
		if err != nil {
			return Answer{}, fmt.Errorf("read the answer: %w", err)
		}
		a.Body = append([]byte(nil), body...)
	}
	return a, nil
}

// slots is host's gate: a place in it is a call in flight. The lookup with
// a converted []byte key does not allocate.
func (c *HTTPClient) slots(host []byte) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.hosts[string(host)]
	if s == nil {
		s = make(chan struct{}, c.perHost)
		c.hosts[string(host)] = s
	}
	return s
}

// trackDial wraps dial so that the client knows its open connections, for
// abort.
func (c *HTTPClient) trackDial(dial fasthttp.DialFunc) fasthttp.DialFunc {
	return func(addr string) (net.Conn, error) {
		conn, err := dial(addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: conn, c: c}
		c.mu.Lock()
		c.conns[tc] = struct{}{}
		c.mu.Unlock()
		httpDials.Inc()
		httpConnsOpen.Inc()
		return tc, nil
	}
}

// Close closes every open connection, failing the calls in flight; the
// client dials anew for later calls.
func (c *HTTPClient) Close() { c.abort() }

// abort closes every open connection, failing the calls in flight.
func (c *HTTPClient) abort() {
	c.mu.Lock()
	conns := make([]net.Conn, 0, len(c.conns))
	for conn := range c.conns {
		conns = append(conns, conn)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		_ = conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	c    *HTTPClient
	once sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.c.mu.Lock()
		delete(t.c.conns, t)
		t.c.mu.Unlock()
		httpConnsOpen.Dec()
	})
	return t.Conn.Close()
}

// CodeAddressDenied is the dead letters' ERROR_CODE of a call refused
// because its address is in --deny-target-cidrs.
const CodeAddressDenied = "TARGET_ADDRESS_DENIED"

// CallFailed is the delivery error of an HTTP call of target that got no
// answer: retried, with the code AWS reports in dead letters (TIMEOUT,
// CONNECTION_FAILURE) or THROTTLING when the host had too many calls in
// flight; a URL that cannot be called, an address the guard refuses, or
// an answer whose headers are too large to read, is final.
func CallFailed(target string, err error) error {
	code := "CONNECTION_FAILURE"
	var te interface{ Timeout() bool }
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, ErrInvalidURL):
		return Permanent("InvalidTarget", fmt.Errorf("%s: %w", target, err))
	case errors.Is(err, netguard.ErrDenied):
		// The same name resolves to the same denied address next time, or
		// the operator has to change the list: retrying cannot help.
		return Permanent(CodeAddressDenied, fmt.Errorf("%s: refused before connecting, the address is denied by --deny-target-cidrs: %w", target, err))
	case errors.As(err, &small):
		// The target answered, and will answer alike: retrying would only
		// repeat a call it may have acted on.
		return Permanent("SDK_CLIENT_ERROR", fmt.Errorf("%s: answer headers over %d KiB: %w", target, maxAnswerHeader>>10, err))
	case errors.Is(err, errHostBusy), errors.Is(err, fasthttp.ErrNoFreeConns):
		code = "THROTTLING"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()):
		code = "TIMEOUT"
	}
	return Retryable(code, fmt.Errorf("%s: %w", target, err))
}
