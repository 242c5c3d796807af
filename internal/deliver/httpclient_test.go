package deliver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
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
	c := NewHTTPClient(time.Second, true)
	c.perHost = 3
	c.client.Timeout = 0 // the held calls outlast the wait for the host
	call := func(path string) error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
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
		t.Fatalf("fourth call: %v after %v; want errHostBusy after the 1 s timeout", err, time.Since(start))
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
}
