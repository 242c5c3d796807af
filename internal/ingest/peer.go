package ingest

// Events of global endpoints whose other region another Switchyard
// deployment serves (package peer). Two directions:
//
//   - Forwarding: PutEvents routes an endpoint's events to a region served
//     by a peer (the primary is unhealthy, or the primary is the peer's).
//     The events get their id, time and envelope here, are stored there
//     synchronously, and the call answers what the peer stored: an
//     acknowledged event is in the peer's bus.
//   - Replication: the copies of events stored here, for a region a peer
//     serves, wait in this deployment's peer outbox stream
//     (store.PeerStream), stored before PutEvents answers; package peer's
//     sender hands them to the peer and acknowledges them only once the
//     peer has stored them. A peer that is down costs a backlog, not events.
//
// The receiving side is StorePeerEvents.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/authz"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

// PeerEvent is one event handed to another deployment: the bus it goes to
// (Account, Region, Bus) and its envelope, whose id is ID.
type PeerEvent struct {
	Account  string
	Region   string
	Bus      string
	ID       string
	Envelope json.RawMessage
}

// PeerResult is the outcome of storing one PeerEvent: empty when stored.
type PeerResult struct {
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

// Peers are the deployments serving other regions.
type Peers interface {
	// Remote reports whether another deployment serves region.
	Remote(region string) bool
	// Forward stores events in the deployment serving region and returns
	// one result per event; an error says none was stored (the peer could
	// not be reached, or refused the call).
	Forward(ctx context.Context, region string, events []PeerEvent) ([]PeerResult, error)
}

var (
	peerForwarded = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_peer_forwarded_events_total",
		Help: "Events of global endpoints forwarded to the deployment serving their region, by result: stored, refused (by the peer, per event), failed (the peer could not be reached or refused the call).",
	}, []string{"result"})
	peerQueued = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_peer_replication_queued_total",
		Help: "Replicated events of global endpoints stored in the peer outbox, to be sent to the deployment serving their region.",
	})
	peerReceived = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_peer_received_events_total",
		Help: "Events handed to this deployment by peer deployments, by result: stored, refused.",
	}, []string{"result"})
)

// remote reports whether another deployment serves region.
func (s *Service) remote(region string) bool { return s.Peers != nil && s.Peers.Remote(region) }

// forward is PutEventsReplicated for sc, a region a peer serves.
func (s *Service) forward(ctx context.Context, sc control.Scope, entries []Entry, rep *Replication) ([]Result, error) {
	now := s.now()
	results := make([]Result, len(entries))
	var events []PeerEvent
	var idx []int
	var times []time.Time
	denied := 0
	for i := range entries {
		e := &entries[i]
		bus, res := checkFields(sc, e)
		if res.ErrorCode == "" {
			// The caller's identity policies, as for a bus here; the bus
			// is the caller's account's, so no bus policy is needed.
			if p := authz.PrincipalFrom(ctx, sc.Account); p.Policies != nil {
				if ok, msg := s.policies.SendToBus(p, &control.Bus{Scope: sc, Name: bus}, authz.Event{Source: *e.Source, DetailType: *e.DetailType}); !ok {
					res = Result{ErrorCode: codeAccessDenied, ErrorMessage: msg}
					denied++
				}
			}
		}
		if res.ErrorCode != "" {
			results[i] = res
			continue
		}
		id := uuid.NewString()
		t := now
		if e.Time != nil {
			t = *e.Time
		}
		events = append(events, PeerEvent{Account: sc.Account, Region: sc.Region, Bus: bus, ID: id,
			Envelope: AppendEnvelope(nil, id, *e.DetailType, *e.Source, sc, t, e.Resources, *e.Detail)})
		idx, times = append(idx, i), append(times, t)
	}
	if denied == len(entries) {
		return nil, awserr.New(codeAccessDenied, "%s", results[0].ErrorMessage)
	}
	if len(events) == 0 {
		return results, nil
	}
	got, err := s.Peers.Forward(ctx, sc.Region, events)
	if err != nil {
		peerForwarded.WithLabelValues("failed").Add(float64(len(events)))
		s.log.Warn("ingest: events not forwarded to the peer deployment", "region", sc.Region, "events", len(events), "err", err)
		// Nothing was stored: the SDKs retry a 503.
		return nil, awserr.Unavailable()
	}
	var copies []PeerEvent
	for k, i := range idx {
		if r := got[k]; r.ErrorCode != "" {
			peerForwarded.WithLabelValues("refused").Inc()
			results[i] = Result{ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}
			continue
		}
		peerForwarded.WithLabelValues("stored").Inc()
		results[i].EventId = events[k].ID
		if rep != nil && events[k].Bus == rep.Bus {
			copies = append(copies, replicaOf(&entries[i], sc, times[k], rep))
		}
	}
	if len(copies) > 0 {
		if !s.remote(rep.To.Region) {
			if err := s.control.EnsureDefaultBus(ctx, rep.To); err != nil {
				s.log.Error("ingest: replicated events not stored", "endpoint", rep.EndpointARN, "region", rep.To.Region, "err", err)
				replicationDropped.WithLabelValues("store").Add(float64(len(copies)))
				return results, nil
			}
		}
		s.replicate(ctx, rep, copies, strconv.FormatInt(now.UnixMilli(), 10))
	}
	return results, nil
}

// checkFields applies AWS's per-entry rules that need no bus here, for an
// entry another deployment stores: the bus is checked there.
func checkFields(sc control.Scope, e *Entry) (bus string, _ Result) {
	switch {
	case e.Source == nil || *e.Source == "":
		return "", invalid("Source")
	case e.DetailType == nil || *e.DetailType == "":
		return "", invalid("DetailType")
	case e.Detail == nil || *e.Detail == "":
		return "", invalid("Detail")
	}
	if _, err := CheckDetailPaths([]byte(*e.Detail)); err != nil {
		return "", Result{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
	}
	if strings.HasPrefix(*e.Source, "aws.") {
		return "", Result{ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source."}
	}
	bus, err := control.ResolveBus(sc, deref(e.EventBusName))
	if err != nil {
		ae, _ := awserr.As(err)
		return "", Result{ErrorCode: ae.Code, ErrorMessage: ae.Message}
	}
	return bus, Result{}
}

// replicaOf is AWS's replicated event of e, stored in from at t: an id of
// its own, "region" from, the endpoint's ARN added to its resources.
func replicaOf(e *Entry, from control.Scope, t time.Time, rep *Replication) PeerEvent {
	id := uuid.NewString()
	res := append(e.Resources[:len(e.Resources):len(e.Resources)], rep.EndpointARN)
	return PeerEvent{Account: rep.To.Account, Region: rep.To.Region, Bus: rep.Bus, ID: id,
		Envelope: AppendEnvelope(nil, id, *e.DetailType, *e.Source, from, t, res, *e.Detail)}
}

// replicate stores copies, for rep.To, where they go: in this
// deployment's bus when it serves rep.To, else in the peer outbox. A copy
// that cannot be stored is logged and counted, without failing the call.
func (s *Service) replicate(ctx context.Context, rep *Replication, copies []PeerEvent, ingested string) {
	if !s.remote(rep.To.Region) {
		if b, _ := s.control.View().Bus(rep.To, rep.Bus); b == nil {
			replicationDropped.WithLabelValues("no_bus").Add(float64(len(copies)))
			return
		}
		var data []byte
		ids := make([]string, len(copies))
		for i, c := range copies {
			ids[i] = c.ID
			data = appendFrame(data, c.ID, func(dst []byte) []byte { return append(dst, c.Envelope...) })
		}
		s.storeCopies(ctx, rep, data, ids, ingested)
		return
	}
	if err := s.queueForPeer(context.WithoutCancel(ctx), copies); err != nil {
		s.log.Error("ingest: replicated events not queued for the peer deployment", "endpoint", rep.EndpointARN, "region", rep.To.Region, "events", len(copies), "err", err)
		replicationDropped.WithLabelValues("store").Add(float64(len(copies)))
	}
}

// queueForPeer stores events in the peer outbox, one message each, and
// waits until JetStream has them all.
func (s *Service) queueForPeer(ctx context.Context, events []PeerEvent) error {
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	for i := range events {
		data, err := json.Marshal(&events[i])
		if err != nil {
			return fmt.Errorf("encode replicated event: %w", err)
		}
		msg := &nats.Msg{Subject: store.PeerPrefix + events[i].Region, Data: data}
		f, err := s.js.PublishMsgAsync(msg, store.StallWait)
		if err != nil {
			return fmt.Errorf("queue replicated event: %w", err)
		}
		futures = append(futures, f)
	}
	var errs []error
	for _, f := range futures {
		select {
		case <-f.Ok():
			peerQueued.Inc()
		case err := <-f.Err():
			errs = append(errs, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// peerEnvelope is what StorePeerEvents reads of an envelope.
type peerEnvelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// StorePeerEvents stores the events a peer deployment hands this one,
// each as it was made there (its account, id, time, source, region),
// returning one result per event. peerRegions are the regions that
// deployment serves (its key's peer_regions) and serves says whether this
// deployment serves a region. A peer may store an event only
//
//   - in a bus of a region served here,
//   - that is one of the buses of a global endpoint (of the event's
//     account, here) whose other bus is in one of the peer's regions,
//   - with an envelope of that account and id, whose "region" is the bus's
//     (an event forwarded) or one of the peer's (a replicated event).
//
// Anything else is refused per event (AccessDeniedException, or
// ResourceNotFoundException for a bus that does not exist). The same id
// stored twice within two minutes (a peer retrying an answer it lost) is
// stored once: JetStream deduplicates on it.
func (s *Service) StorePeerEvents(ctx context.Context, peerRegions []string, serves func(region string) bool, events []PeerEvent) ([]PeerResult, error) {
	if s.Available != nil {
		if err := s.Available(); err != nil {
			return nil, awserr.Unavailable()
		}
	}
	view := s.control.View()
	rev := strconv.FormatUint(view.Rev(), 10)
	ingested := strconv.FormatInt(s.now().UnixMilli(), 10)
	results := make([]PeerResult, len(events))
	futures := make([]jetstream.PubAckFuture, len(events))
	linked := map[string]bool{}
	for i := range events {
		e := &events[i]
		sc := control.Scope{Account: e.Account, Region: e.Region}
		res, respelled := s.admitPeerEvent(ctx, view, peerRegions, serves, linked, e)
		if res.ErrorCode != "" {
			peerReceived.WithLabelValues("refused").Inc()
			results[i] = res
			continue
		}
		// Sealed for a bus with a customer managed key, as PutEvents' events are.
		data, err := s.Keys.Seal(ctx, s.Keys.BusKey(sc, e.Bus), sc, e.Bus, e.Envelope)
		if err != nil {
			s.log.Error("ingest: peer event not encrypted", "bus", e.Bus, "err", err)
			results[i] = PeerResult{ErrorCode: internalFailure.ErrorCode, ErrorMessage: internalFailure.ErrorMessage}
			continue
		}
		msg := &nats.Msg{Subject: Subject(sc, e.Bus), Header: nats.Header{}, Data: data}
		msg.Header.Set(jetstream.MsgIDHeader, e.ID)
		msg.Header.Set(HeaderRev, rev)
		msg.Header.Set(HeaderIngested, ingested)
		if respelled {
			msg.Header.Set(HeaderMatchAll, "0")
		}
		f, err := s.js.PublishMsgAsync(msg, store.StallWait)
		if err != nil {
			s.log.Error("ingest: peer event not stored", "err", err)
			results[i] = PeerResult{ErrorCode: internalFailure.ErrorCode, ErrorMessage: internalFailure.ErrorMessage}
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
			peerReceived.WithLabelValues("stored").Inc()
		case err := <-f.Err():
			s.log.Error("ingest: peer event not acknowledged", "err", err)
			results[i] = PeerResult{ErrorCode: internalFailure.ErrorCode, ErrorMessage: internalFailure.ErrorMessage}
		case <-ctx.Done():
			return nil, fmt.Errorf("store peer events: %w", ctx.Err())
		}
	}
	return results, nil
}

func peerDenied(format string, args ...any) PeerResult {
	return PeerResult{ErrorCode: codeAccessDenied, ErrorMessage: fmt.Sprintf(format, args...)}
}

// admitPeerEvent applies StorePeerEvents' rules to one event; linked
// caches, per bus, whether an endpoint joins it to a peer region.
func (s *Service) admitPeerEvent(ctx context.Context, view *control.View, peerRegions []string, serves func(string) bool, linked map[string]bool, e *PeerEvent) (PeerResult, bool) {
	sc := control.Scope{Account: e.Account, Region: e.Region}
	if !control.ValidRegion(e.Region) || !serves(e.Region) {
		return peerDenied("Region %s is not served by this deployment.", e.Region), false
	}
	res, respelled, envelope := checkPeerEnvelope(e, peerRegions)
	if res.ErrorCode != "" {
		return res, false
	}
	e.Envelope = envelope
	// The endpoint first: a peer learns nothing of buses it may not use.
	key := e.Account + "/" + e.Region + "/" + e.Bus
	ok, seen := linked[key]
	if !seen {
		ok = endpointLinks(view, sc, e.Bus, peerRegions)
		linked[key] = ok
	}
	if !ok {
		return peerDenied("Event bus %s is not a bus of a global endpoint shared with Region %v.", e.Bus, peerRegions), false
	}
	if e.Bus == control.DefaultBus {
		// An endpoint of default buses: the account's default bus here
		// exists once the account acts in the region, as for PutEvents.
		if err := s.control.EnsureDefaultBus(ctx, sc); err != nil {
			return PeerResult{ErrorCode: internalFailure.ErrorCode, ErrorMessage: internalFailure.ErrorMessage}, false
		}
	}
	if b, _ := view.Bus(sc, e.Bus); b == nil {
		return PeerResult{ErrorCode: awserr.CodeResourceNotFound, ErrorMessage: fmt.Sprintf("Event bus %s does not exist.", e.Bus)}, false
	}
	return PeerResult{}, respelled
}

// checkPeerEnvelope checks the envelope of an event a peer hands over:
// EventBridge's envelope, of the event's account and id, with a source,
// a detail type, an RFC 3339 time and an object as its detail, of the
// event's region or one of the peer's. respelled is CheckDetailPaths's
// answer for the detail. envelope is the event rendered again from what
// was read, which is what is stored: an envelope with a member twice
// ({"account":"a",...,"account":"b"}) would otherwise be one account to
// this check and maybe another to a rule or target.
func checkPeerEnvelope(e *PeerEvent, peerRegions []string) (_ PeerResult, respelled bool, envelope []byte) {
	malformed := PeerResult{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
	var env peerEnvelope
	if err := json.Unmarshal(e.Envelope, &env); err != nil || env.Version != "0" {
		return malformed, false, nil
	}
	if env.ID == "" || env.ID != e.ID || env.Account != e.Account || env.Source == "" || env.DetailType == "" {
		return peerDenied("The event's envelope does not match its account %s and id %s.", e.Account, e.ID), false, nil
	}
	t, err := time.Parse(time.RFC3339, env.Time)
	if err != nil {
		return peerDenied("The event's time %q is not an RFC 3339 time.", env.Time), false, nil
	}
	if env.Region != e.Region && !slices.Contains(peerRegions, env.Region) {
		return peerDenied("An event of Region %s may not be stored by the deployment serving %v.", env.Region, peerRegions), false, nil
	}
	respelled, err = CheckDetailPaths(env.Detail)
	if err != nil {
		return malformed, false, nil
	}
	envelope = AppendEnvelope(make([]byte, 0, len(e.Envelope)), env.ID, env.DetailType, env.Source,
		control.Scope{Account: env.Account, Region: env.Region}, t, env.Resources, []byte(env.Detail))
	return PeerResult{}, respelled, envelope
}

// endpointLinks reports whether an endpoint of the account joins its bus
// named bus in sc's region to a bus in one of regions.
func endpointLinks(view *control.View, sc control.Scope, bus string, regions []string) bool {
	for _, ep := range view.Endpoints(control.Scope{}) {
		if ep.Account != sc.Account || ep.BusName() != bus || !ep.Routable() {
			continue
		}
		mine, theirs := false, false
		for _, arn := range ep.EventBuses {
			owner, _, ok := control.ParseBusARN(arn)
			if !ok {
				continue
			}
			mine = mine || owner.Region == sc.Region
			theirs = theirs || slices.Contains(regions, owner.Region)
		}
		if mine && theirs {
			return true
		}
	}
	return false
}
