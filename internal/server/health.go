package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/internal/store"
)

// health answers the probes of orchestrators and load balancers:
//
//   - GET /healthz (liveness): 200 while the process serves HTTP at all. It
//     does not look at storage, so that a NATS outage does not get every
//     instance restarted, which would not bring NATS back.
//   - GET /readyz (readiness): 200 when this instance can carry out
//     requests: its NATS connection is up, JetStream answers, and storage
//     takes writes (package store's Available: not out of disk); 503 with
//     the reasons otherwise, and from the moment the process is told to
//     stop, so that traffic moves elsewhere before the listener closes.
//
// JetStream is asked at most once per probeEvery, whatever the probe rate.
type health struct {
	st       *store.Store
	draining atomic.Bool
	last     atomic.Pointer[probe]
}

type probe struct {
	at  time.Time
	err error
}

const probeEvery = time.Second

func (h *health) jetStream(ctx context.Context) error {
	if p := h.last.Load(); p != nil && time.Since(p.at) < probeEvery {
		return p.err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := h.st.JS.AccountInfo(ctx)
	h.last.Store(&probe{at: time.Now(), err: err})
	return err
}

// reasons lists why the instance is not ready; none when it is.
func (h *health) reasons(ctx context.Context) []string {
	var out []string
	if h.draining.Load() {
		out = append(out, "shutting down")
	}
	if s := h.st.NC.Status(); s != nats.CONNECTED {
		out = append(out, "NATS connection "+s.String())
	} else if err := h.jetStream(ctx); err != nil {
		out = append(out, "JetStream: "+err.Error())
	}
	if err := h.st.Available(); err != nil {
		out = append(out, err.Error())
	}
	return out
}

func (h *health) register(mux *http.ServeMux) {
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }
	mux.HandleFunc("GET /health", ok) // the original liveness path, kept for existing checks
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		reasons := h.reasons(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if len(reasons) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"ready": false, "reasons": reasons})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": true})
	})
}
