package schemas

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/schemacheck"
)

// ValidationTag, on an event bus, turns on Switchyard's validation of
// PutEvents entries, which AWS does not have: its value names a registry of
// the bus's account and region, and each entry sent to the bus whose
// schema "<source>@<DetailType>" (DiscoveredName) is in that registry must
// conform to the schema's latest version, or is refused on its own with
// ErrorCode SchemaValidationFailed and a message giving the JSON pointer of
// the failure. Entries without a schema there pass. A tag, set with the
// EventBridge API's TagResource or CreateEventBus, so that any client can
// turn it on and off, and so that it lives with the bus.
const ValidationTag = "switchyard:schema-validation"

// ValidationErrorCode is the PutEvents ErrorCode of a refused entry.
const ValidationErrorCode = "SchemaValidationFailed"

var (
	validatedEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schema_validated_events_total",
		Help: "PutEvents entries checked against a schema (buses tagged " + ValidationTag + "), conforming or not.",
	})
	refusedEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schema_refused_events_total",
		Help: "PutEvents entries refused because they did not conform to their schema.",
	})
)

// validation holds the compiled validators of the schemas in use, each
// dropped when its schema changes (a watch on the bucket's schema keys).
type validation struct {
	s     *Service
	mu    sync.RWMutex
	cache map[string]*compiled // by the schema's key
}

// compiled is a schema's latest version compiled, or nil v when the schema
// does not exist.
type compiled struct {
	v       *schemacheck.Validator
	version int
	err     error // the schema's content does not compile
}

func newValidation(s *Service) *validation {
	return &validation{s: s, cache: map[string]*compiled{}}
}

func (v *validation) run(ctx context.Context) error {
	for ctx.Err() == nil {
		w, err := v.s.db.kv.WatchFiltered(ctx, []string{kindSchema + ".>"}, jetstream.UpdatesOnly())
		if err != nil {
			v.s.log.Warn("schemas: watch schemas", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		// Whatever was cached before the watch began may be stale.
		v.mu.Lock()
		clear(v.cache)
		v.mu.Unlock()
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			v.mu.Lock()
			delete(v.cache, e.Key())
			v.mu.Unlock()
		}
		_ = w.Stop()
	}
	return nil
}

// registryOf returns the registry a bus's ValidationTag names, "" when it
// has none.
func registryOf(b *control.Bus) string {
	for _, t := range b.Tags {
		if t.Key == ValidationTag {
			return strings.TrimSpace(t.Value)
		}
	}
	return ""
}

// Check validates an entry for bus of target: "" when it may be stored, or
// the message of its refusal. event builds the event's envelope, the
// document schemas describe.
// watches reports whether bus of target is tagged for validation.
func (v *validation) watches(target control.Scope, bus string) bool {
	if v.s.cfg.View == nil {
		return false
	}
	b, _ := v.s.cfg.View.Bus(target, bus)
	return b != nil && registryOf(b) != ""
}

func (v *validation) Check(ctx context.Context, target control.Scope, bus, source, detailType string, event func() []byte) string {
	if v.s.cfg.View == nil {
		return ""
	}
	b, _ := v.s.cfg.View.Bus(target, bus)
	if b == nil {
		return ""
	}
	registry := registryOf(b)
	if registry == "" {
		return ""
	}
	name := DiscoveredName(source, detailType)
	k := key(kindSchema, target, registry, name)
	v.mu.RLock()
	c, ok := v.cache[k]
	v.mu.RUnlock()
	if !ok {
		c = v.compile(ctx, target, registry, name)
		if c == nil {
			// Not known now (storage error): the entry passes rather
			// than fail for an outage.
			return ""
		}
		v.mu.Lock()
		v.cache[k] = c
		v.mu.Unlock()
	}
	if c.v == nil && c.err == nil {
		return ""
	}
	validatedEvents.Inc()
	if c.err != nil {
		refusedEvents.Inc()
		return fmt.Sprintf("Schema %s version %d of registry %s cannot be used to validate events: %v", name, c.version, registry, c.err)
	}
	if err := c.v.Validate(event()); err != nil {
		refusedEvents.Inc()
		var ve *schemacheck.ValidationError
		if errors.As(err, &ve) {
			probs := make([]string, len(ve.Problems))
			for i, p := range ve.Problems {
				ptr := p.Pointer
				if ptr == "" {
					ptr = "/"
				}
				probs[i] = "at " + ptr + ": " + p.Message
			}
			err = errors.New(strings.Join(probs, "; "))
		}
		return fmt.Sprintf("Event does not conform to schema %s version %d of registry %s: %v", name, c.version, registry, err)
	}
	return ""
}

func (v *validation) compile(ctx context.Context, sc control.Scope, registry, name string) *compiled {
	sch, _, err := v.s.schema(ctx, sc, registry, name)
	if err != nil {
		v.s.log.Warn("schemas: read schema for validation", "schema", name, "err", err)
		return nil
	}
	if sch == nil || sch.latest() == nil {
		return &compiled{}
	}
	latest := sch.latest()
	content, err := v.s.content(ctx, sc, sch, latest)
	if err != nil {
		v.s.log.Warn("schemas: read schema content for validation", "schema", name, "err", err)
		return nil
	}
	val, err := schemacheck.Compile(content, latest.Type)
	return &compiled{v: val, version: latest.Number, err: err}
}
