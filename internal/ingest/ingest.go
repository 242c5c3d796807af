// Package ingest accepts events: it validates PutEvents entries the way AWS
// does, wraps each accepted entry in EventBridge's envelope and appends it to
// the durable events stream (with its X-Ray trace header, if it has a
// valid one, beside the envelope: trace.go), acknowledging an entry only
// once JetStream has stored it. Matching (package match) consumes that
// stream. The messages of a bus with a customer managed key are sealed
// under it first (package busenc); events it cannot encrypt go to the
// bus's dead-letter queue.
package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/authz"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/buslog"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/tracing"
)

// Headers carried by each message of the events stream.
const (
	// HeaderRev is the control-plane revision the event was accepted at;
	// matching waits until its view has reached it.
	HeaderRev = "Sy-Control-Rev"
	// HeaderIngested is the ingestion time in Unix milliseconds.
	HeaderIngested = "Sy-Ingested"
	// HeaderMatchAll lists (comma-separated, 0-based, in the message's
	// order) the events to be matched reading the whole event: those
	// whose detail reaches a path through two spellings (see
	// CheckDetailPaths). Without it every event may be matched on the
	// fast path.
	HeaderMatchAll = "Sy-Match-All"
)

// MatchAll parses a HeaderMatchAll value: whether event k of the message
// is listed. Malformed values list every event, which is never wrong,
// only slower.
func MatchAll(header string, k int) bool {
	if header == "" {
		return false
	}
	for f := range strings.SplitSeq(header, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n == k {
			return true
		}
	}
	return false
}

// Entry is one PutEvents request entry.
type Entry struct {
	Time         *time.Time
	Source       *string
	Resources    []string
	DetailType   *string
	Detail       *string
	EventBusName *string
	TraceHeader  *string
	// RequestTraceHeader is the X-Amzn-Trace-Id header of the PutEvents
	// request, the trace context of its entries without a TraceHeader of
	// their own (see trace.go).
	RequestTraceHeader string
}

// Result is the outcome of one entry: an EventId, or an error code and
// message.
type Result struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

// Service accepts events into the events stream.
type Service struct {
	js      jetstream.JetStream
	control *control.Service
	log     *slog.Logger
	// MaxRequestSize bounds the summed entry sizes of one request
	// (DefaultMaxRequestSize).
	MaxRequestSize int
	// Available, if set, says whether storage can take events now (see
	// store.Store.Available); while it cannot, PutEvents is refused as a
	// whole with a retryable error before anything is published.
	Available func() error
	now       func() time.Time
	// policies decides what other accounts may send (buses' policies) and
	// what the caller's identity policies allow.
	policies authz.Policies
	// Organization, if set, gives an account's AWS organization, the
	// aws:PrincipalOrgID of what its rules send to other accounts' buses.
	Organization func(account string) string
	// BusLog, if set, gets the buses' EVENT_RECEIPT and
	// EVENT_INGEST_SUCCESS / EVENT_INGEST_FAILURE records (package buslog).
	BusLog *buslog.Logger
	// Peers, if set, are the deployments serving other regions: events
	// routed to their regions by global endpoints go there (peer.go).
	Peers Peers
	// Hook, if set, sees the entries PutEvents accepts (package schemas:
	// validation against registered schemas, and schema discovery).
	Hook Hook
	// Keys, if set, seals what is stored for buses with a customer
	// managed key (package busenc).
	Keys *busenc.Keys
	// DeadLetters sends to a bus's DeadLetterConfig queue the events that
	// cannot be encrypted for a reason that needs someone to act on the
	// key (see busenc.DeadLetterCode).
	DeadLetters BusDeadLetters
}

// Hook sees the entries of PutEvents. event builds an entry's event, its
// envelope as stored, only when called.
type Hook interface {
	// Watches says, cheaply, whether entries sent by sender to bus of
	// target are to be checked (Check) and told of once stored (Stored):
	// for the others ingest builds nothing, not even the closure.
	Watches(sender, target control.Scope, bus string) (check, stored bool)
	// Check may refuse an entry that passed AWS's checks, before it is
	// stored, giving the ErrorCode and ErrorMessage of its result; ""
	// stores it.
	Check(ctx context.Context, target control.Scope, bus, source, detailType string, event func() []byte) (code, message string)
	// Stored is told of each entry stored: sender sent it to bus of
	// target. It must not block.
	Stored(sender, target control.Scope, bus, source, detailType string, event func() []byte)
	// Forwarded is told of each event an event-bus target stored on bus
	// of target (Forward); the event is the whole envelope. It must not
	// block.
	Forwarded(sender, target control.Scope, bus string, event []byte)
}

// BusDeadLetters sends an event to an event bus's dead-letter queue
// (deliver.DeadLetters).
type BusDeadLetters interface {
	SendBusDeadLetter(ctx context.Context, queueArn string, event []byte, trace, code, message string) error
}

// DefaultMaxRequestSize is AWS's limit on the summed entry sizes of one
// PutEvents request: 1 MiB since January 29, 2026, when AWS raised the
// payload limit of EventBridge event buses (with SQS and asynchronous
// Lambda) from 256 KB ("More room to build: serverless services now
// support payloads up to 1 MB", AWS Compute Blog).
const DefaultMaxRequestSize = 1 << 20

// NewService returns an ingest service publishing with js.
func NewService(js jetstream.JetStream, ctl *control.Service, log *slog.Logger) *Service {
	return &Service{js: js, control: ctl, log: log, MaxRequestSize: DefaultMaxRequestSize, now: time.Now}
}

// EntrySize is the size AWS counts for an entry ("Calculating PutEvents
// event entry size"): 14 bytes for a Time, and the UTF-8 bytes of Source,
// DetailType, Detail and each Resource. The TraceHeader does not count
// ("Amazon EventBridge integration with AWS X-Ray", EventBridge User
// Guide).
func EntrySize(e *Entry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, s := range []*string{e.Source, e.DetailType, e.Detail} {
		if s != nil {
			n += len(*s)
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// Replication is how PutEvents copies, for a global endpoint with
// replication enabled, the entries it accepts for the endpoint's bus to
// the bus of the same name in the endpoint's other region. The copy is the
// event AWS documents as a "replicated event payload" (EventBridge User
// Guide, global endpoints, "Event replication"): "region" is the region it
// was replicated from, "resources" ends with the endpoint's ARN, and it
// has an id of its own ("Event IDs can change across API calls", the
// global endpoints best practices).
type Replication struct {
	// To is the scope of the other region.
	To control.Scope
	// Bus is the endpoint's bus name: entries for other buses are not
	// copied.
	Bus string
	// EndpointARN is added to the copies' resources.
	EndpointARN string
}

// Replication metrics: copies stored in the other region's bus, and copies
// dropped (the other region's bus does not exist, or storing failed).
var (
	replicated = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_endpoint_replicated_events_total",
		Help: "Events a global endpoint with replication enabled copied to the event bus of its other region.",
	})
	replicationDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_endpoint_replication_dropped_total",
		Help: "Events a global endpoint did not copy to its other region, by reason: no_bus (the bus does not exist there), store (storing the copy failed).",
	}, []string{"reason"})
)

// PutEvents validates and stores entries, returning one result per entry in
// order. A whole-request problem returns an error instead.
func (s *Service) PutEvents(ctx context.Context, sc control.Scope, entries []Entry) ([]Result, error) {
	return s.PutEventsReplicated(ctx, sc, entries, nil)
}

// PutEventsReplicated is PutEvents for entries sent through a global
// endpoint: sc is the region the endpoint routes them to, and rep, if not
// nil, says where to copy them. An entry's result is that of storing it in
// sc; a copy that cannot be stored is logged and counted, as AWS processes
// the other region "asynchronously" and does not fail the call for it.
func (s *Service) PutEventsReplicated(ctx context.Context, sc control.Scope, entries []Entry, rep *Replication) ([]Result, error) {
	total := 0
	for i := range entries {
		total += EntrySize(&entries[i])
	}
	if total > s.MaxRequestSize {
		return nil, awserr.Validation("Total size of the entries in the request is over the limit.")
	}
	if s.remote(sc.Region) {
		return s.forward(ctx, sc, entries, rep)
	}
	if s.Available != nil {
		if err := s.Available(); err != nil {
			// The store logs the outage once; a refusal each is noise.
			s.log.Debug("ingest: PutEvents refused, storage unavailable", "err", err)
			return nil, awserr.Unavailable()
		}
	}
	if err := s.control.EnsureDefaultBus(ctx, sc); err != nil {
		return nil, err
	}
	rev := strconv.FormatUint(s.control.View().Rev(), 10)
	now := s.now()
	ingested := strconv.FormatInt(now.UnixMilli(), 10)
	results := make([]Result, len(entries))
	// Accepted entries are published as one message per bus (see
	// HeaderEvents); nearly always a call has a single bus.
	type batch struct {
		scope   control.Scope // the bus's: another account's, if its policy allows
		bus     string
		entries []int
		ids     []string
		traces  []string // "" for an event without one
		data    []byte
		future  jetstream.PubAckFuture
		all     []string // HeaderMatchAll's items
	}
	var batches []*batch
	denied := 0       // entries the caller may not send
	var failure error // of the last batch not stored
	stored := 0       // batches stored
	// toCopy are the entries to replicate (rep) once stored, with their
	// times; noCopyBus is set when the other region has no such bus.
	type copyOf struct {
		i int
		t time.Time
	}
	var toCopy []copyOf
	var spans []eventSpan // while tracing (otel.go)
	noCopyBus := false
	if rep != nil && !s.remote(rep.To.Region) {
		if err := s.control.EnsureDefaultBus(ctx, rep.To); err != nil {
			return nil, err
		}
		b, _ := s.control.View().Bus(rep.To, rep.Bus)
		noCopyBus = b == nil
	}
	var hookChecks hookMemo // the sender, sc, is the same for every entry
	for i := range entries {
		e := &entries[i]
		target, bus, respelled, res := s.check(ctx, sc, e)
		if res.ErrorCode != "" {
			results[i] = res
			if res.ErrorCode == codeAccessDenied {
				denied++
			}
			continue
		}
		id := uuid.NewString()
		t := now
		if e.Time != nil {
			t = *e.Time
		}
		if s.Hook != nil && hookChecks.of(s.Hook, sc, target, bus) {
			code, msg := s.Hook.Check(ctx, target, bus, *e.Source, *e.DetailType, func() []byte {
				return AppendEnvelope(nil, id, *e.DetailType, *e.Source, sc, t, e.Resources, *e.Detail)
			})
			if code != "" {
				results[i] = Result{ErrorCode: code, ErrorMessage: msg}
				continue
			}
		}
		var b *batch
		for _, x := range batches {
			if x.bus == bus && x.scope == target {
				b = x
			}
		}
		if b == nil {
			b = &batch{scope: target, bus: bus, data: make([]byte, 0, total+400*len(entries))}
			batches = append(batches, b)
		}
		if respelled {
			b.all = append(b.all, strconv.Itoa(len(b.entries)))
		}
		tr := entryTrace(e)
		if tracing.Enabled() {
			var sp tracing.Span
			sp, tr = tracing.StartEvent(ctx, tr, ownTrace(e), id, bus)
			spans = append(spans, eventSpan{i, sp})
		}
		b.entries, b.ids, b.traces = append(b.entries, i), append(b.ids, id), append(b.traces, tr)
		b.data = appendFrame(b.data, id, func(dst []byte) []byte {
			return AppendEnvelope(dst, id, *e.DetailType, *e.Source, sc, t, e.Resources, *e.Detail)
		})
		switch {
		case rep == nil || bus != rep.Bus:
		case noCopyBus:
			replicationDropped.WithLabelValues("no_bus").Inc()
		default:
			toCopy = append(toCopy, copyOf{i, t})
		}
	}
	if denied == len(entries) {
		// Not one entry may be sent: the caller may not put events at all
		// (on these buses), which AWS answers for the whole request.
		return nil, awserr.New(codeAccessDenied, "%s", results[0].ErrorMessage)
	}
	for _, b := range batches {
		msg := &nats.Msg{Subject: Subject(b.scope, b.bus), Header: nats.Header{}}
		if len(b.entries) == 1 {
			// A lone event keeps the plain one-event form.
			msg.Data, _, _ = frameField(b.data[4+len(b.ids[0]):])
			if b.traces[0] != "" {
				msg.Header.Set(HeaderTrace, b.traces[0])
			}
		} else {
			msg.Data = b.data
			msg.Header.Set(HeaderEvents, strconv.Itoa(len(b.entries)))
			for k, tr := range b.traces {
				if tr != "" {
					msg.Header.Set(batchTraceHeader(k), tr)
				}
			}
		}
		if key := s.Keys.BusKey(b.scope, b.bus); key != "" {
			sealed, err := s.Keys.Seal(ctx, key, b.scope, b.bus, msg.Data)
			if err != nil {
				if !s.encryptFailed(ctx, sc, b.scope, b.bus, entries, b.entries, b.ids, b.traces, results, err) {
					failure = err
				}
				continue
			}
			msg.Data = sealed
		}
		msg.Header.Set(jetstream.MsgIDHeader, b.ids[0])
		msg.Header.Set(HeaderRev, rev)
		msg.Header.Set(HeaderIngested, ingested)
		if len(b.all) > 0 {
			msg.Header.Set(HeaderMatchAll, strings.Join(b.all, ","))
		}
		f, err := s.js.PublishMsgAsync(msg, store.StallWait)
		if err != nil {
			s.log.Error("ingest: publish", "err", err)
			failure = err
			for _, i := range b.entries {
				results[i] = internalFailure
			}
			continue
		}
		b.future = f
		for k, i := range b.entries {
			results[i].EventId = b.ids[k]
		}
	}
	// An entry is acknowledged only once JetStream has stored it.
	for _, b := range batches {
		if b.future == nil {
			continue
		}
		select {
		case <-b.future.Ok():
			stored++
		case err := <-b.future.Err():
			s.log.Error("ingest: publish not acknowledged", "err", err)
			failure = err
			for _, i := range b.entries {
				results[i] = internalFailure
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("put events: %w", ctx.Err())
		}
	}
	if s.Hook != nil {
		for _, b := range batches {
			s.storedHook(sc, b.scope, b.bus, entries, b.entries, b.ids, results, now)
		}
	}
	endEventSpans(spans, results)
	if s.BusLog != nil {
		for _, b := range batches {
			s.logIngest(sc, b.scope, b.bus, entries, b.entries, b.ids, results, now)
		}
	}
	// When nothing was stored, the request fails as a whole, so that SDKs
	// retry it (they do not retry failed entries): with a 503 when storage
	// is unavailable for now (out of space, restarting), else with AWS's
	// InternalException. When some batches were stored (entries for
	// several buses), their entries keep their ids and only the others
	// fail.
	if failure != nil && stored == 0 {
		if store.IsUnavailable(failure) {
			return nil, awserr.Unavailable()
		}
		return nil, awserr.Internal()
	}
	// Only what was stored here is replicated: an entry that failed is
	// sent again by its publisher, and would be copied twice.
	var copies []PeerEvent
	for _, c := range toCopy {
		if results[c.i].EventId != "" {
			copies = append(copies, replicaOf(&entries[c.i], sc, c.t, rep))
		}
	}
	if len(copies) > 0 {
		s.replicate(ctx, rep, copies, ingested)
	}
	return results, nil
}

// logIngest emits the records of the entries (indexes idx, event ids ids)
// of one bus: each was received, and stored or not ("EventBridge generates
// logs for events sent ... using PutEvents, whether or not they match any
// rules", "What Amazon EventBridge logs for event buses").
func (s *Service) logIngest(caller, sc control.Scope, bus string, entries []Entry, idx []int, ids []string, results []Result, now time.Time) {
	bl := s.BusLog.Bus(sc, bus)
	if !bl.Any() {
		return
	}
	for k, i := range idx {
		e := &entries[i]
		t := now
		if e.Time != nil {
			t = *e.Time
		}
		d := func() *buslog.EventDetails {
			d := &buslog.EventDetails{CallerAccountID: caller.Account, SourceTimeMs: t.UnixMilli(), Source: deref(e.Source),
				DetailType: deref(e.DetailType), Resources: e.Resources}
			if d.Resources == nil {
				d.Resources = []string{}
			}
			if bl.Full() {
				d.EventDetail = deref(e.Detail)
			}
			return d
		}
		if bl.On(buslog.EventReceipt) {
			bl.Emit(&buslog.Record{EventID: ids[k], MessageType: buslog.EventReceipt, Details: d()})
		}
		if results[i].ErrorCode == "" {
			if !bl.On(buslog.EventIngestSuccess) {
				continue
			}
			bl.Emit(&buslog.Record{EventID: ids[k], MessageType: buslog.EventIngestSuccess, Details: d()})
			continue
		}
		bl.Emit(&buslog.Record{EventID: ids[k], MessageType: buslog.EventIngestFailure, Details: d(),
			Error: &buslog.RecordError{ErrorMessage: results[i].ErrorMessage, AWSService: "events"}})
	}
}

// storedHook tells the Hook of the entries (indexes idx, event ids ids)
// stored for one bus.
func (s *Service) storedHook(sender, target control.Scope, bus string, entries []Entry, idx []int, ids []string, results []Result, now time.Time) {
	if _, stored := s.Hook.Watches(sender, target, bus); !stored {
		return
	}
	for k, i := range idx {
		if results[i].ErrorCode != "" {
			continue
		}
		e, id := &entries[i], ids[k]
		t := now
		if e.Time != nil {
			t = *e.Time
		}
		s.Hook.Stored(sender, target, bus, *e.Source, *e.DetailType, func() []byte {
			return AppendEnvelope(nil, id, *e.DetailType, *e.Source, sender, t, e.Resources, *e.Detail)
		})
	}
}

// hookMemo remembers the Hook's Watches answer for the last bus of a
// request: its entries mostly go to one bus, which is asked about once.
type hookMemo struct {
	target      control.Scope
	bus         string
	check, seen bool
}

func (m *hookMemo) of(h Hook, sender, target control.Scope, bus string) bool {
	if !m.seen || m.target != target || m.bus != bus {
		m.check, _ = h.Watches(sender, target, bus)
		m.target, m.bus, m.seen = target, bus, true
	}
	return m.check
}

var internalFailure = Result{ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure."}

// encryptFailed settles the entries (indexes idx, ids ids) of a bus whose
// key could not encrypt them and says whether they are settled. A failure
// that needs someone to act on the key sends the events to the bus's
// dead-letter queue, as AWS does ("Using dead-letter queues to capture
// encrypted event errors in EventBridge"), and they are accepted once
// there; without a queue, or when sending fails, they fail. Any other
// failure (KMS unreachable, throttled, too slow) is not settled: the
// entries fail as InternalFailure, the call as a whole if nothing was
// stored, so that SDKs send them again.
// caller is the sender's scope, the events' account; sc is the bus's.
func (s *Service) encryptFailed(ctx context.Context, caller, sc control.Scope, bus string, entries []Entry, idx []int, ids, traces []string, results []Result, err error) bool {
	code, dead := busenc.DeadLetterCode(err)
	if !dead {
		s.log.Warn("ingest: events not encrypted, key unavailable; refused for the caller to retry", "bus", control.BusARN(sc, bus), "err", err)
		for _, i := range idx {
			results[i] = internalFailure
		}
		return false
	}
	b, _ := s.control.View().Bus(sc, bus)
	queue := ""
	if b != nil && b.DeadLetterConfig != nil && b.DeadLetterConfig.Arn != nil {
		queue = *b.DeadLetterConfig.Arn
	}
	for k, i := range idx {
		if queue == "" || s.DeadLetters == nil {
			results[i] = Result{ErrorCode: codeAccessDenied, ErrorMessage: fmt.Sprintf("The KMS key of event bus %s cannot be used: %v", bus, err)}
			continue
		}
		e := &entries[i]
		t := s.now()
		if e.Time != nil {
			t = *e.Time
		}
		env := Envelope(ids[k], *e.DetailType, *e.Source, caller, t, e.Resources, []byte(*e.Detail))
		if derr := s.DeadLetters.SendBusDeadLetter(ctx, queue, env, traces[k], code, err.Error()); derr != nil {
			s.log.Error("ingest: event not encrypted and not sent to the bus's dead-letter queue", "bus", control.BusARN(sc, bus), "err", derr)
			results[i] = internalFailure
			continue
		}
		results[i].EventId = ids[k]
	}
	s.log.Warn("ingest: events not encrypted, key unusable; sent to the bus's dead-letter queue", "bus", control.BusARN(sc, bus), "queue", queue, "events", len(idx), "err", err)
	return true
}

// storeCopies stores the replicated copies of a PutEvents call (frames
// data, ids) in the bus of rep.To; it runs once the call's own events are
// stored (or failed), and a failure costs the copies, not the call.
func (s *Service) storeCopies(ctx context.Context, rep *Replication, data []byte, ids []string, ingested string) {
	msg := &nats.Msg{Subject: Subject(rep.To, rep.Bus), Header: nats.Header{}, Data: data}
	if len(ids) == 1 {
		msg.Data, _, _ = frameField(data[4+len(ids[0]):])
	} else {
		msg.Header.Set(HeaderEvents, strconv.Itoa(len(ids)))
	}
	sealed, err := s.Keys.Seal(ctx, s.Keys.BusKey(rep.To, rep.Bus), rep.To, rep.Bus, msg.Data)
	if err != nil {
		s.log.Error("ingest: replicated events not encrypted; not stored", "endpoint", rep.EndpointARN, "region", rep.To.Region, "events", len(ids), "err", err)
		replicationDropped.WithLabelValues("store").Add(float64(len(ids)))
		return
	}
	msg.Data = sealed
	msg.Header.Set(jetstream.MsgIDHeader, ids[0])
	msg.Header.Set(HeaderRev, strconv.FormatUint(s.control.View().Rev(), 10))
	msg.Header.Set(HeaderIngested, ingested)
	if _, err := s.js.PublishMsg(context.WithoutCancel(ctx), msg); err != nil {
		s.log.Error("ingest: replicated events not stored", "endpoint", rep.EndpointARN, "region", rep.To.Region, "events", len(ids), "err", err)
		replicationDropped.WithLabelValues("store").Add(float64(len(ids)))
		return
	}
	replicated.Add(float64(len(ids)))
}

// Subject is the events-stream subject of a bus.
func Subject(sc control.Scope, bus string) string {
	return store.EventsPrefix + sc.Account + "." + sc.Region + "." + store.Token(bus)
}

func invalid(param string) Result {
	return Result{ErrorCode: "InvalidArgument", ErrorMessage: fmt.Sprintf("Parameter %s is not valid. Reason: %s is a required argument.", param, param)}
}

// check applies AWS's per-entry rules, in AWS's order, and resolves the bus.
// respelled is CheckDetailPaths's answer for the detail.
func (s *Service) check(ctx context.Context, sc control.Scope, e *Entry) (target control.Scope, bus string, respelled bool, _ Result) {
	switch {
	case e.Source == nil || *e.Source == "":
		return sc, "", false, invalid("Source")
	case e.DetailType == nil || *e.DetailType == "":
		return sc, "", false, invalid("DetailType")
	case e.Detail == nil || *e.Detail == "":
		return sc, "", false, invalid("Detail")
	}
	respelled, err := CheckDetailPaths([]byte(*e.Detail))
	if err != nil {
		return sc, "", false, Result{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
	}
	if strings.HasPrefix(*e.Source, "aws.") {
		return sc, "", false, Result{ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source."}
	}
	// A bus of another account of this region, by ARN, takes the event if
	// its policy allows the caller (PutPermission); the event's account
	// stays the sender's.
	target, bus = sc, deref(e.EventBusName)
	if owner, name, ok := control.ParseBusARN(bus); ok && owner.Region == sc.Region {
		target, bus = owner, name
	} else {
		if bus, err = control.ResolveBus(sc, bus); err != nil {
			ae, _ := awserr.As(err)
			return sc, "", false, Result{ErrorCode: ae.Code, ErrorMessage: ae.Message}
		}
	}
	b, _ := s.control.View().Bus(target, bus)
	if b == nil {
		return sc, "", false, Result{ErrorCode: awserr.CodeResourceNotFound, ErrorMessage: fmt.Sprintf("Event bus %s does not exist.", bus)}
	}
	p := authz.PrincipalFrom(ctx, sc.Account)
	if target != sc || p.Policies != nil {
		if ok, msg := s.policies.SendToBus(p, b, authz.Event{Source: *e.Source, DetailType: *e.DetailType}); !ok {
			return sc, "", false, Result{ErrorCode: codeAccessDenied, ErrorMessage: msg}
		}
	}
	return target, bus, respelled, Result{}
}

// codeAccessDenied is the error of an entry the caller may not send.
const codeAccessDenied = "AccessDeniedException"

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Envelope renders an event in EventBridge's envelope. detail must be a
// valid JSON object (see CheckDetail).
func Envelope(id, detailType, source string, sc control.Scope, t time.Time, resources []string, detail []byte) []byte {
	b := make([]byte, 0, 200+len(detailType)+len(source)+len(detail))
	return AppendEnvelope(b, id, detailType, source, sc, t, resources, detail)
}

// AppendEnvelope is Envelope appending to b; detail may be a string or
// bytes so that neither form needs a copy.
func AppendEnvelope[D string | []byte](b []byte, id, detailType, source string, sc control.Scope, t time.Time, resources []string, detail D) []byte {
	b = append(b, `{"version":"0","id":"`...)
	b = append(b, id...)
	b = append(b, `","detail-type":`...)
	b = AppendString(b, detailType)
	b = append(b, `,"source":`...)
	b = AppendString(b, source)
	b = append(b, `,"account":"`...)
	b = append(b, sc.Account...)
	b = append(b, `","time":"`...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, `","region":"`...)
	b = append(b, sc.Region...)
	b = append(b, `","resources":[`...)
	for i, r := range resources {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, r)
	}
	b = append(b, `],"detail":`...)
	b = append(b, detail...)
	return append(b, '}')
}

// AppendString appends s as a JSON string, escaping only what JSON requires
// (no HTML escaping: event text stays as the publisher wrote it).
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}

// Forward appends an already-formed event (an event-bus target's delivery)
// to bus in scope sc, with the trace header of the event it came from (""
// for none), which the targets of the bus receive in turn. dedupID makes
// redelivery of the same forward idempotent. The bus must exist.
//
// The event must be a JSON object: an event-bus target with a text
// InputTransformer can shape anything, and only valid events may reach the
// events stream, whose router matches without validating again.
func (s *Service) Forward(ctx context.Context, sender authz.Principal, sc control.Scope, bus string, event []byte, trace string, ingested int64, dedupID string) error {
	b, _ := s.control.View().Bus(sc, bus)
	if b == nil {
		return awserr.NotFound("Event bus %s does not exist.", bus)
	}
	// The same rules as a PutEvents Detail: one JSON object, no key twice
	// in an object (an input transformer can write one that has).
	respelled, err := CheckDetailPaths(event)
	if err != nil {
		return awserr.Validation("The event sent to event bus %s is not a valid event: %v.", bus, err)
	}
	if sender.Account != sc.Account {
		if sender.OrgID == "" && s.Organization != nil {
			sender.OrgID = s.Organization(sender.Account)
		}
		// Another account's bus takes what its policy allows the sender
		// (the rule's account, or the target's role) to send.
		var ev struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
		}
		_ = json.Unmarshal(event, &ev)
		if ok, msg := s.policies.SendToBus(sender, b, authz.Event{Source: ev.Source, DetailType: ev.DetailType, ViaRule: true}); !ok {
			return awserr.New(codeAccessDenied, "%s", msg)
		}
	}
	data, err := s.Keys.Seal(ctx, s.Keys.BusKey(sc, bus), sc, bus, event)
	if err != nil {
		return fmt.Errorf("forward to bus %s: encrypt: %w", bus, err)
	}
	msg := &nats.Msg{Subject: Subject(sc, bus), Data: data, Header: nats.Header{}}
	if respelled {
		msg.Header.Set(HeaderMatchAll, "0")
	}
	msg.Header.Set(jetstream.MsgIDHeader, dedupID)
	msg.Header.Set(HeaderRev, strconv.FormatUint(s.control.View().Rev(), 10))
	msg.Header.Set(HeaderIngested, strconv.FormatInt(ingested, 10))
	if trace != "" {
		msg.Header.Set(HeaderTrace, trace)
	}
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("forward to bus %s: %w", bus, err)
	}
	if s.Hook != nil {
		s.Hook.Forwarded(control.Scope{Account: sender.Account, Region: sc.Region}, sc, bus, event)
	}
	return nil
}
