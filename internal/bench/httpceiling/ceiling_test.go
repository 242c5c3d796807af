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
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/deliver"
)

// body is about a delivered event: EventBridge's envelope with a small
// detail.
var body = []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Bench","source":"bench.latency",` +
	`"account":"123456789012","time":"2024-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"c":1,"n":2}}`)

// BenchmarkLoopbackHTTP: requests/s of a net/http client against a
// net/http server on 127.0.0.1 that reads the body and answers 200, with
// 1, 16, 64 and 256 requests in flight (the deliverer allows 64 per
// target by default).
func BenchmarkLoopbackHTTP(b *testing.B) {
	for _, inflight := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { run(b, inflight, netHTTP) })
	}
}

// BenchmarkLoopbackDeliverClient: the same, from deliver.HTTPClient, the
// client of HTTP targets and API destinations.
func BenchmarkLoopbackDeliverClient(b *testing.B) {
	for _, inflight := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { run(b, inflight, deliverClient) })
	}
}

// A poster makes posts: each POSTs body to url and reports an error for
// anything but a 200.
type poster func(inflight int) (post func(url string) error, done func())

func netHTTP(inflight int) (func(string) error, func()) {
	// The deliverer's transport settings before deliver.HTTPClient moved
	// to fasthttp.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: max(inflight, 2048), IdleConnTimeout: 90 * time.Second}}
	return func(url string) error {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}, client.CloseIdleConnections
}

func deliverClient(int) (func(string) error, func()) {
	client := deliver.NewHTTPClient(5 * time.Second)
	header := []deliver.Header{{Name: "Content-Type", Value: "application/json; charset=utf-8"}}
	ctx := context.Background()
	return func(url string) error {
		a, err := client.Do(ctx, &deliver.Call{Method: http.MethodPost, URL: url, Header: header, Body: body})
		if err == nil && a.Status != http.StatusOK {
			err = fmt.Errorf("status %d", a.Status)
		}
		return err
	}, func() {}
}

func run(b *testing.B, inflight int, newPoster poster) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var served atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		served.Add(1)
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Close()
	post, done := newPoster(inflight)
	defer done()
	url := "http://" + lis.Addr().String() + "/target"
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if post(url) != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d requests failed", f)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1") || served.Load() != int64(b.N) {
		b.Fatalf("served %d of %d", served.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
}
