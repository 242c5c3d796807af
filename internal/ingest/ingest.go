// Package ingest accepts events: it validates PutEvents entries the way AWS
// does, wraps each accepted entry in EventBridge's envelope and appends it to
// the durable events stream, acknowledging an entry only once JetStream has
// stored it. Matching (package match) consumes that stream.
package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
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
// DetailType, Detail and each Resource.
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

// PutEvents validates and stores entries, returning one result per entry in
// order. A whole-request problem returns an error instead.
func (s *Service) PutEvents(ctx context.Context, sc control.Scope, entries []Entry) ([]Result, error) {
	total := 0
	for i := range entries {
		total += EntrySize(&entries[i])
	}
	if total > s.MaxRequestSize {
		return nil, awserr.Validation("Total size of the entries in the request is over the limit.")
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
		bus     string
		entries []int
		ids     []string
		data    []byte
		future  jetstream.PubAckFuture
		all     []string // HeaderMatchAll's items
	}
	var batches []*batch
	var failure error // of the last batch not stored
	stored := 0       // batches stored
	for i := range entries {
		e := &entries[i]
		bus, respelled, res := s.check(sc, e)
		if res.ErrorCode != "" {
			results[i] = res
			continue
		}
		var b *batch
		for _, x := range batches {
			if x.bus == bus {
				b = x
			}
		}
		if b == nil {
			b = &batch{bus: bus, data: make([]byte, 0, total+400*len(entries))}
			batches = append(batches, b)
		}
		id := uuid.NewString()
		t := now
		if e.Time != nil {
			t = *e.Time
		}
		if respelled {
			b.all = append(b.all, strconv.Itoa(len(b.entries)))
		}
		b.entries, b.ids = append(b.entries, i), append(b.ids, id)
		b.data = appendFrame(b.data, id, func(dst []byte) []byte {
			return AppendEnvelope(dst, id, *e.DetailType, *e.Source, sc, t, e.Resources, *e.Detail)
		})
	}
	for _, b := range batches {
		msg := &nats.Msg{Subject: Subject(sc, b.bus), Header: nats.Header{}}
		if len(b.entries) == 1 {
			// A lone event keeps the plain one-event form.
			msg.Data, _, _ = frameField(b.data[4+len(b.ids[0]):])
		} else {
			msg.Data = b.data
			msg.Header.Set(HeaderEvents, strconv.Itoa(len(b.entries)))
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
	return results, nil
}

var internalFailure = Result{ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure."}

// Subject is the events-stream subject of a bus.
func Subject(sc control.Scope, bus string) string {
	return store.EventsPrefix + sc.Account + "." + sc.Region + "." + store.Token(bus)
}

func invalid(param string) Result {
	return Result{ErrorCode: "InvalidArgument", ErrorMessage: fmt.Sprintf("Parameter %s is not valid. Reason: %s is a required argument.", param, param)}
}

// check applies AWS's per-entry rules, in AWS's order, and resolves the bus.
// respelled is CheckDetailPaths's answer for the detail.
func (s *Service) check(sc control.Scope, e *Entry) (bus string, respelled bool, _ Result) {
	switch {
	case e.Source == nil || *e.Source == "":
		return "", false, invalid("Source")
	case e.DetailType == nil || *e.DetailType == "":
		return "", false, invalid("DetailType")
	case e.Detail == nil || *e.Detail == "":
		return "", false, invalid("Detail")
	}
	respelled, err := CheckDetailPaths([]byte(*e.Detail))
	if err != nil {
		return "", false, Result{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
	}
	if strings.HasPrefix(*e.Source, "aws.") {
		return "", false, Result{ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source."}
	}
	bus, err = control.ResolveBus(sc, deref(e.EventBusName))
	if err == nil {
		if b, _ := s.control.View().Bus(sc, bus); b == nil {
			err = awserr.NotFound("Event bus %s does not exist.", bus)
		}
	}
	if err != nil {
		ae, _ := awserr.As(err)
		return "", false, Result{ErrorCode: ae.Code, ErrorMessage: ae.Message}
	}
	return bus, respelled, Result{}
}

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
// to bus in scope sc. dedupID makes redelivery of the same forward
// idempotent. The bus must exist.
//
// The event must be a JSON object: an event-bus target with a text
// InputTransformer can shape anything, and only valid events may reach the
// events stream, whose router matches without validating again.
func (s *Service) Forward(ctx context.Context, sc control.Scope, bus string, event []byte, ingested int64, dedupID string) error {
	if b, _ := s.control.View().Bus(sc, bus); b == nil {
		return awserr.NotFound("Event bus %s does not exist.", bus)
	}
	// The same rules as a PutEvents Detail: one JSON object, no key twice
	// in an object (an input transformer can write one that has).
	respelled, err := CheckDetailPaths(event)
	if err != nil {
		return awserr.Validation("The event sent to event bus %s is not a valid event: %v.", bus, err)
	}
	msg := &nats.Msg{Subject: Subject(sc, bus), Data: event, Header: nats.Header{}}
	if respelled {
		msg.Header.Set(HeaderMatchAll, "0")
	}
	msg.Header.Set(jetstream.MsgIDHeader, dedupID)
	msg.Header.Set(HeaderRev, strconv.FormatUint(s.control.View().Rev(), 10))
	msg.Header.Set(HeaderIngested, strconv.FormatInt(ingested, 10))
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("forward to bus %s: %w", bus, err)
	}
	return nil
}
