package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/store"
)

// HealthStatus is what is known of a Route 53 health check that global
// endpoints name: whether it is healthy, as the process that polls it
// (package healthcheck) found. One record per health check, whichever
// endpoints and accounts name it, since a health check id names one check
// of the Route 53 that Switchyard reads. Every process routes PutEvents by
// it; the poller holds the record's Lease.
type HealthStatus struct {
	ID      string
	Healthy bool
	// Status is the last observation in Route 53's words ("Success: HTTP
	// Status Code 200, OK", "Failure: ..."), for the operator.
	Status string `json:",omitempty"`
	// CheckedTime is when the target was last observed, ChangedTime when
	// Healthy last changed.
	CheckedTime time.Time `json:",omitzero"`
	ChangedTime time.Time `json:",omitzero"`
	Lease
}

// healthPrefix starts the keys of health records: health.<id>.
const healthPrefix = "health"

func healthKeyName(id string) string { return healthPrefix + "." + store.Token(id) }

// SaveHealth writes a health record if it is still at revision rev (0: if
// there is none yet), and reports false, with no error, when another write
// came first: another process claimed or renewed the lease.
func (s *Service) SaveHealth(ctx context.Context, h *HealthStatus, rev uint64) (uint64, bool, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return 0, false, fmt.Errorf("encode health of %s: %w", h.ID, err)
	}
	nrev, err := store.Swap(ctx, s.kv, healthKeyName(h.ID), data, rev)
	switch {
	case store.IsConflict(err):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("store health of %s: %w", h.ID, err)
	}
	return nrev, true, nil
}

// LoadHealth reads a health record from the bucket itself (not the view),
// with its revision; nil and 0 when there is none.
func (s *Service) LoadHealth(ctx context.Context, id string) (*HealthStatus, uint64, error) {
	e, err := s.kv.Get(ctx, healthKeyName(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read health of %s: %w", id, err)
	}
	var h HealthStatus
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return nil, 0, fmt.Errorf("decode health of %s: %w", id, err)
	}
	return &h, e.Revision(), nil
}

// RemoveHealth deletes the record of a health check no endpoint names any
// more, if it is still at revision rev.
func (s *Service) RemoveHealth(ctx context.Context, id string, rev uint64) error {
	err := s.kv.Delete(ctx, healthKeyName(id), jetstream.LastRevision(rev))
	if err != nil && !store.IsConflict(err) {
		return fmt.Errorf("delete health of %s: %w", id, err)
	}
	return nil
}

// Healthy reports whether the endpoint's primary region is healthy: what
// the health record says, and healthy while there is none yet, as Route 53
// "considers a new health check to be healthy until there's enough data to
// determine the actual status" (Route 53 Developer Guide, "How Amazon
// Route 53 determines whether a health check is healthy").
func (v *View) Healthy(e *Endpoint) bool {
	h, _ := v.Health(e.HealthCheckID())
	return h == nil || h.Healthy
}
