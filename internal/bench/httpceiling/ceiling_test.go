package httpceiling

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkLoopbackHTTP: requests/s of a net/http client against a
// net/http server on 127.0.0.1 that reads the body and answers 200, with
// 1, 16, 64 and 256 requests in flight (the deliverer allows 64 per
// target by default).
func BenchmarkLoopbackHTTP(b *testing.B) {
	for _, inflight := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { run(b, inflight, NetHTTP(inflight)) })
	}
}

// BenchmarkLoopbackDeliverClient: the same, from deliver.HTTPClient, the
// client of HTTP targets and API destinations.
func BenchmarkLoopbackDeliverClient(b *testing.B) {
	for _, inflight := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { run(b, inflight, DeliverClient()) })
	}
}

func run(b *testing.B, inflight int, p Poster) {
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
	defer p.Close()
	url := "http://" + lis.Addr().String() + "/target"
	b.ResetTimer()
	el, err := Burst(context.Background(), p, url, b.N, inflight)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1") || served.Load() != int64(b.N) {
		b.Fatalf("served %d of %d", served.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
}
