package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// HTTPClient makes the HTTP calls of targets (plain URLs here, API
// destinations in package apidest), with AWS's five-second timeout.
//
// Connections are pooled per host, and every target URL on one host shares
// the pool: an idle pool smaller than the calls in flight to a host makes
// each call beyond it dial a new connection and close it afterwards, which
// costs more than the call and, at thousands of calls a second, exhausts
// ephemeral ports (TIME_WAIT). So the pool keeps as many idle connections
// as a host may have calls in flight.
//
// Calls in flight to one host are capped (PerHost; beyond it a call waits
// for one to end, at most its timeout). Without a cap, ten thousand
// scheduled rules whose targets are paths of one host made ten thousand
// calls at once at each tick: ten thousand connections dialled (and
// accepted by the host), most closed again afterwards, and the process
// spent a quarter of the tick dialling. With it, at most PerHost
// connections are dialled, once, and then reused. A target URL has at
// most the deliverer's per-target calls in flight (limiter.go), so it takes
// many hanging URLs of one host to make its other URLs wait. (The
// transport's own MaxConnsPerHost was tried first: at ten thousand waiting
// calls it served them far slower than this, 7 s at the median.)
type HTTPClient struct {
	client  *http.Client
	timeout time.Duration
	perHost int

	mu    sync.Mutex
	hosts map[string]chan struct{}
}

// PerHost is the most calls in flight to one host (host:port).
const PerHost = 1024

// NewHTTPClient returns a client whose calls time out after timeout and
// that follows redirects only if follow is set (AWS's API destinations do
// not).
func NewHTTPClient(timeout time.Duration, follow bool) *HTTPClient {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		MaxIdleConns:          4 * PerHost,
		MaxIdleConnsPerHost:   PerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &HTTPClient{client: c, timeout: timeout, perHost: PerHost, hosts: map[string]chan struct{}{}}
}

// errHostBusy: the host had PerHost calls in flight for the whole timeout.
var errHostBusy = errors.New("too many calls in flight to the host")

// Do sends req once a call to its host may start. The response's body must
// be closed, which ends the call; an error is the transport's, or
// errHostBusy after waiting the timeout for the host.
func (c *HTTPClient) Do(req *http.Request) (*http.Response, error) {
	slots := c.slots(req.URL.Host)
	select {
	case slots <- struct{}{}:
	default:
		t := time.NewTimer(c.timeout)
		select {
		case slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			return nil, fmt.Errorf("%s: %w", req.URL.Host, errHostBusy)
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		<-slots
		return nil, err
	}
	resp.Body = &slotBody{ReadCloser: resp.Body, slots: slots}
	return resp, nil
}

func (c *HTTPClient) slots(host string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.hosts[host]
	if s == nil {
		s = make(chan struct{}, c.perHost)
		c.hosts[host] = s
	}
	return s
}

// slotBody frees its call's place when closed.
type slotBody struct {
	io.ReadCloser
	slots chan struct{}
	once  sync.Once
}

func (b *slotBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { <-b.slots })
	return err
}

// Client is the underlying client, without the cap on calls per host,
// for the few calls that are not deliveries (OAuth token requests).
func (c *HTTPClient) Client() *http.Client { return c.client }

// CallFailed is the delivery error of an HTTP call of target that got no
// answer: retried, with the code AWS reports in dead letters (TIMEOUT,
// CONNECTION_FAILURE) or THROTTLING when the host had too many calls in
// flight.
func CallFailed(target string, err error) error {
	code := "CONNECTION_FAILURE"
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, errHostBusy):
		code = "THROTTLING"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()):
		code = "TIMEOUT"
	}
	return Retryable(code, fmt.Errorf("%s: %w", target, err))
}
