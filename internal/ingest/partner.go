package ingest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

// PutPartnerEvents stores the events a SaaS partner sends
// (PutPartnerEvents, EventBridge API Reference) on the partner event bus of
// each customer account its entry's Source is offered to and ACTIVE in
// (control.Service.ActiveSources). The event's account is the customer's,
// its source the partner event source's name. An entry whose source is
// offered to no account with an active bus is accepted and goes nowhere, as
// a PENDING source's events do; one naming another partner's source fails
// with AccessDeniedException.
func (s *Service) PutPartnerEvents(ctx context.Context, p control.Partner, entries []Entry) ([]Result, error) {
	total := 0
	for i := range entries {
		total += EntrySize(&entries[i])
	}
	if total > s.MaxRequestSize {
		return nil, awserr.Validation("Total size of the entries in the request is over the limit.")
	}
	if s.Available != nil {
		if err := s.Available(); err != nil {
			return nil, awserr.Unavailable()
		}
	}
	now := s.now()
	results := make([]Result, len(entries))
	stored, failed := 0, 0
	for i := range entries {
		e := &entries[i]
		switch {
		case e.Source == nil || *e.Source == "":
			results[i] = invalid("Source")
			continue
		case e.DetailType == nil || *e.DetailType == "":
			results[i] = invalid("DetailType")
			continue
		case e.Detail == nil || *e.Detail == "":
			results[i] = invalid("Detail")
			continue
		}
		respelled, err := CheckDetailPaths([]byte(*e.Detail))
		if err != nil {
			results[i] = Result{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
			continue
		}
		if partner, ok := control.PartnerOf(*e.Source); !ok || (p.Name != "" && partner != p.Name) {
			results[i] = Result{ErrorCode: codeAccessDenied, ErrorMessage: fmt.Sprintf("Partner %s is not authorized for the source %s.", p.Name, *e.Source)}
			continue
		}
		t := now
		if e.Time != nil {
			t = *e.Time
		}
		id := uuid.NewString()
		ok := true
		for _, src := range s.control.ActiveSources(p, *e.Source) {
			ev := Envelope(id, *e.DetailType, *e.Source, src.Scope, t, e.Resources, []byte(*e.Detail))
			if _, err := s.Store(ctx, src.Scope, src.Name, ev, StoreOptions{DedupID: id + "/" + src.Account, Ingested: now, MatchAll: respelled}); err != nil {
				s.log.Error("ingest: partner event not stored", "source", *e.Source, "account", src.Account, "err", err)
				ok = false
			}
		}
		if !ok {
			results[i] = internalFailure
			failed++
			continue
		}
		results[i].EventId = id
		stored++
	}
	if stored == 0 && failed > 0 {
		return nil, awserr.Internal()
	}
	return results, nil
}

// StoreOptions are the options of Store.
type StoreOptions struct {
	// DedupID, if set, is the JetStream message id: the same id stored
	// again within the events stream's duplicate window is dropped.
	DedupID string
	// Ingested is the time of acceptance (now if zero).
	Ingested time.Time
	// MatchAll marks an event whose detail reaches a path through two
	// spellings (CheckDetailPaths).
	MatchAll bool
	// Trace is the event's X-Ray trace header, if any.
	Trace string
}

// Store appends one event, already in EventBridge's envelope and valid, to
// bus in scope sc and returns once JetStream has stored it: the path of
// events that do not come through PutEvents (partner events, inbound
// webhooks). The bus must exist (a scope's default bus always does). duplicate reports that JetStream had
// stored the DedupID already, within the stream's duplicate window, and
// dropped this copy.
func (s *Service) Store(ctx context.Context, sc control.Scope, bus string, event []byte, o StoreOptions) (duplicate bool, _ error) {
	if bus == control.DefaultBus {
		// A scope's default bus exists from its first use, this one too.
		if err := s.control.EnsureDefaultBus(ctx, sc); err != nil {
			return false, err
		}
	}
	if b, _ := s.control.View().Bus(sc, bus); b == nil {
		return false, awserr.NotFound("Event bus %s does not exist.", bus)
	}
	if s.Available != nil {
		if err := s.Available(); err != nil {
			return false, awserr.Unavailable()
		}
	}
	if o.Ingested.IsZero() {
		o.Ingested = s.now()
	}
	// Sealed for a bus with a customer managed key, as PutEvents' events are.
	data, err := s.Keys.Seal(ctx, s.Keys.BusKey(sc, bus), sc, bus, event)
	if err != nil {
		return false, fmt.Errorf("store event on bus %s: encrypt: %w", bus, err)
	}
	msg := &nats.Msg{Subject: Subject(sc, bus), Data: data, Header: nats.Header{}}
	if o.MatchAll {
		msg.Header.Set(HeaderMatchAll, "0")
	}
	if o.DedupID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, o.DedupID)
	}
	if o.Trace != "" {
		msg.Header.Set(HeaderTrace, o.Trace)
	}
	msg.Header.Set(HeaderRev, strconv.FormatUint(s.control.View().Rev(), 10))
	msg.Header.Set(HeaderIngested, strconv.FormatInt(o.Ingested.UnixMilli(), 10))
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		if store.IsUnavailable(err) {
			return false, fmt.Errorf("store event on bus %s: %w", bus, awserr.Unavailable())
		}
		return false, fmt.Errorf("store event on bus %s: %w", bus, err)
	}
	return ack.Duplicate, nil
}
