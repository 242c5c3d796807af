// Package httpceiling measures what this machine's loopback HTTP reaches:
// POSTs of an event-sized JSON body over keep-alive connections, at most a
// given number in flight, to a net/http server, from Go's net/http client
// and from the deliverer's own client (deliver.HTTPClient, on fasthttp). It
// is the ceiling `switchyard bench delivery` and replays into HTTP targets
// are compared with (docs/performance.md):
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/bench/httpceiling/
package httpceiling

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/deliver"
)

// Body is about a delivered event: EventBridge's envelope with a small
// detail.
var Body = []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Bench","source":"bench.latency",` +
	`"account":"123456789012","time":"2024-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"c":1,"n":2}}`)

// A Poster POSTs Body to a URL and reports an error for anything but a 2xx.
type Poster interface {
	Post(ctx context.Context, url string) error
	Close()
}

// NetHTTP is Go's net/http client with the deliverer's former transport
// settings: "a bare Go HTTP client", the ceiling the issue of record names.
func NetHTTP(inflight int) Poster {
	return netHTTPPoster{&http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: max(inflight, 2048), IdleConnTimeout: 90 * time.Second}}}
}

type netHTTPPoster struct{ c *http.Client }

func (p netHTTPPoster) Post(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := p.c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (p netHTTPPoster) Close() { p.c.CloseIdleConnections() }

// DeliverClient is deliver.HTTPClient, the client of HTTP targets and API
// destinations, with nothing of the deliverer around it.
func DeliverClient() Poster { return deliverPoster{deliver.NewHTTPClient(5 * time.Second)} }

type deliverPoster struct{ c *deliver.HTTPClient }

var jsonHeader = []deliver.Header{{Name: "Content-Type", Value: "application/json; charset=utf-8"}}

func (p deliverPoster) Post(ctx context.Context, url string) error {
	a, err := p.c.Do(ctx, &deliver.Call{Method: http.MethodPost, URL: url, Header: jsonHeader, Body: Body})
	if err == nil && a.Status/100 != 2 {
		err = fmt.Errorf("status %d", a.Status)
	}
	return err
}

func (p deliverPoster) Close() { p.c.Close() }

// Measure POSTs to url from inflight goroutines for d and returns the
// calls per second that succeeded. It is how the benchmarks measure, in
// the same run and against the same receiver, the ceiling they report
// their own rate against: what loopback HTTP between these two processes
// allows at all. Any failed call fails the measurement.
func Measure(ctx context.Context, p Poster, url string, inflight int, d time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	// Calls are not given ctx: the deadline ends the run, not the calls
	// in flight, which would count as failures.
	ok, el, err := post(context.Background(), p, url, inflight, func() bool { return ctx.Err() == nil })
	if err != nil {
		return 0, fmt.Errorf("http ceiling: %w", err)
	}
	return float64(ok) / el.Seconds(), nil
}

// post calls p.Post(ctx, url) from inflight goroutines while more says
// so, and returns the calls that succeeded and how long they all took;
// any failure is an error.
func post(ctx context.Context, p Poster, url string, inflight int, more func() bool) (int64, time.Duration, error) {
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for more() && ctx.Err() == nil {
				if err := p.Post(ctx, url); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if f := failed.Load(); f > 0 {
		return ok.Load(), el, fmt.Errorf("%d calls failed, first: %v", f, firstErr.Load())
	}
	return ok.Load(), el, ctx.Err()
}

// Ceiling is the bare rates against one receiver: Go's net/http client
// and the deliverer's client, each at Inflight calls in flight.
type Ceiling struct {
	Inflight         int
	NetHTTP, Deliver float64
}

// MeasureBoth measures NetHTTP then DeliverClient against url, d each.
func MeasureBoth(ctx context.Context, url string, inflight int, d time.Duration) (Ceiling, error) {
	c := Ceiling{Inflight: inflight}
	var err error
	p := NetHTTP(inflight)
	c.NetHTTP, err = Measure(ctx, p, url, inflight, d)
	p.Close()
	if err != nil {
		return c, err
	}
	p = DeliverClient()
	c.Deliver, err = Measure(ctx, p, url, inflight, d)
	p.Close()
	return c, err
}

// Ratios formats rate against both ceilings, for the benchmarks' output.
func (c Ceiling) Ratios(rate float64) string {
	return fmt.Sprintf("%.2f of the bare net/http ceiling (%.0f calls/s at %d in flight), %.2f of the deliverer's client alone (%.0f calls/s)",
		rate/c.NetHTTP, c.NetHTTP, c.Inflight, rate/c.Deliver, c.Deliver)
}

// Burst makes n POSTs to url at once, at most inflight at a time, and
// returns how long the last took to complete: what a tick of n targets
// would take if the calls were all there was to it.
func Burst(ctx context.Context, p Poster, url string, n, inflight int) (time.Duration, error) {
	var next atomic.Int64
	_, el, err := post(ctx, p, url, min(n, inflight), func() bool { return next.Add(1) <= int64(n) })
	if err != nil {
		return 0, fmt.Errorf("http burst: %w", err)
	}
	return el, nil
}
