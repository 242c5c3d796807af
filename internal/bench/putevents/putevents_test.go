package putevents

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeEventBridge answers PutEvents, failing the entries failEvery picks.
func fakeEventBridge(t *testing.T, failEvery int64) *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" || !strings.Contains(r.Header.Get("Authorization"), "/us-east-1/events/aws4_request") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var in struct {
			Entries []struct{ Source, DetailType, Detail string }
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil || len(in.Entries) != 10 || !json.Valid([]byte(in.Entries[0].Detail)) {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		type res struct{ EventId, ErrorCode string }
		out := struct {
			FailedEntryCount int
			Entries          []res
		}{}
		for range in.Entries {
			if failEvery > 0 && n.Add(1)%failEvery == 0 {
				out.FailedEntryCount++
				out.Entries = append(out.Entries, res{ErrorCode: "InternalFailure"})
			} else {
				out.Entries = append(out.Entries, res{EventId: "x"})
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
}

func TestRunClosedAndOpenLoop(t *testing.T) {
	srv := fakeEventBridge(t, 0)
	defer srv.Close()
	for _, rate := range []float64{0, 2000} {
		var out bytes.Buffer
		err := Run(context.Background(), Config{Endpoint: srv.URL, Clients: 4, Rate: rate, Duration: 300 * time.Millisecond,
			Warmup: 100 * time.Millisecond}, &out)
		if err != nil {
			t.Fatalf("rate %v: %v\n%s", rate, err, out.String())
		}
		if !strings.Contains(out.String(), "failed     0 entries") || !strings.Contains(out.String(), "p99.9") {
			t.Errorf("rate %v: report lacks the figures:\n%s", rate, out.String())
		}
	}
}

func TestFailedEntriesFailTheRun(t *testing.T) {
	for _, every := range []int64{7, 25} { // in the first call, and later
		srv := fakeEventBridge(t, every)
		var out bytes.Buffer
		err := Run(context.Background(), Config{Endpoint: srv.URL, Clients: 2, Duration: 100 * time.Millisecond}, &out)
		srv.Close()
		if err == nil {
			t.Fatalf("a run with every %dth entry failing succeeded:\n%s", every, out.String())
		}
	}
}
