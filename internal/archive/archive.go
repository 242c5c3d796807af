// Package archive keeps the events of archived buses and replays them.
//
// Each archive is a JetStream stream of its own (SY_ARCHIVE_<uuid>):
// DescribeArchive reads EventCount and SizeBytes from its state, retention
// purges it by sequence, and DeleteArchive deletes it, all without touching
// other archives, and an archive deleted and created again under the same
// name (a new uuid) never sees the old events.
//
// Archiving happens in the router (package match), not in a consumer of
// its own: AWS archives through a managed rule on the bus
// ("Events-Archive-<name>", whose pattern is the archive's plus
// "replay-name": [{"exists": false}]), and the router already decodes and
// matches every event, so an archive costs one more message per routed
// events-stream message rather than a second delivery, decoding and ack of
// every message. The events a message of the events stream archives are
// stored as one archive message, acknowledged before the routed message is,
// with a message id derived from it: a redelivery stores nothing twice.
//
// The subject of an archive message is sy.archive.<uuid>.<n>, n being the
// number of events it holds, so that the per-subject message counts of the
// stream give the event count.
//
// The data of an archive message is sealed under the archive's customer
// managed key, else its bus's, when there is one (package busenc); a
// replay opens it and seals what it publishes under the bus's key.
package archive

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

// Headers of events-stream messages published by a replay.
const (
	// HeaderReplay names the replay; the router never archives such a
	// message.
	HeaderReplay = "Sy-Replay"
	// HeaderReplayFilter lists, comma-separated, the rule ARNs the replay
	// is limited to (Destination.FilterArns); absent means every rule.
	HeaderReplayFilter = "Sy-Replay-Filter"
)

// SubjectPrefix is followed by "<uuid>.<n>".
const SubjectPrefix = "sy.archive."

// StreamName is the stream of an archive.
func StreamName(a *control.Archive) string { return "SY_ARCHIVE_" + a.UUID }

// Storage keeps archives in JetStream; it implements
// control.ArchiveStorage.
type Storage struct {
	JS       jetstream.JetStream
	Replicas int
	Log      *slog.Logger
}

// CreateArchive creates the archive's stream.
func (s *Storage) CreateArchive(ctx context.Context, a *control.Archive) error {
	_, err := s.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName(a),
		Description: "Switchyard archive " + a.ARN(),
		Subjects:    []string{SubjectPrefix + a.UUID + ".*"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    max(s.Replicas, 1),
		// The router re-publishes a message it had archived only when it is
		// redelivered, which the events stream does within its ack wait.
		Duplicates: 2 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("archive stream: %w", err)
	}
	return nil
}

// DeleteArchive deletes the archive's stream and events.
func (s *Storage) DeleteArchive(ctx context.Context, a *control.Archive) error {
	err := s.JS.DeleteStream(ctx, StreamName(a))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete archive stream: %w", err)
	}
	return nil
}

// Stats returns the archive's event count and its stored bytes.
func (s *Storage) Stats(ctx context.Context, a *control.Archive) (int64, int64, error) {
	str, err := s.JS.Stream(ctx, StreamName(a))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("archive stream: %w", err)
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(SubjectPrefix+a.UUID+".*"))
	if err != nil {
		return 0, 0, fmt.Errorf("archive stream info: %w", err)
	}
	var events int64
	for subj, msgs := range info.State.Subjects {
		n, _ := strconv.Atoi(subj[strings.LastIndexByte(subj, '.')+1:])
		events += int64(n) * int64(msgs)
	}
	return events, int64(info.State.Bytes), nil
}

// Batch collects, for one routed events-stream message, the events each
// archive of the bus takes.
type Batch struct {
	view   *control.View
	sc     control.Scope
	msgID  string
	byRule map[string][]ingest.Event
	// the message's own batch (its Sy-Events count and data), stored as
	// it is when an archive takes all of its events
	count int
	data  []byte
}

// NewBatch starts the archive batch of the events-stream message msgID,
// whose Sy-Events header is countHeader and whose data is data.
func NewBatch(view *control.View, sc control.Scope, msgID, countHeader string, data []byte) *Batch {
	b := &Batch{view: view, sc: sc, msgID: msgID}
	if n, err := strconv.Atoi(countHeader); err == nil && countHeader != "" {
		b.count, b.data = n, data
	}
	return b
}

// IsArchiveRule reports whether r is an archive's managed rule.
func IsArchiveRule(r *control.Rule) bool {
	return r.ManagedBy == control.ArchiveManager && strings.HasPrefix(r.Name, control.ArchiveRulePrefix)
}

// Add notes that the archive rule r matched ev.
func (b *Batch) Add(r *control.Rule, ev ingest.Event) {
	if b.byRule == nil {
		b.byRule = make(map[string][]ingest.Event, 1)
	}
	b.byRule[r.Name] = append(b.byRule[r.Name], ev)
}

// Publish stores the collected events, one message per archive, returning
// the acknowledgements to wait for. keys seals them under the archive's
// customer managed key, else its bus's ("Encrypting EventBridge archives
// with AWS KMS keys": EventBridge "encrypts events prior to sending it to
// the archive").
//
// An archive whose key cannot be used for a reason someone must act on
// (disabled, deleted) does not get these events, logged on log, rather
// than hold the events stream until it can: they were routed all the
// same. Any other failure (KMS unreachable) is returned, and the message
// is redelivered.
//
// A record the client does not take (its asynchronous publishes stalled,
// as while a NATS node is down) is returned in unsent, for the caller to
// store synchronously: failing the whole batch would have the router
// redeliver the event and make its direct deliveries again.
func (b *Batch) Publish(ctx context.Context, js jetstream.JetStream, keys *busenc.Keys, log *slog.Logger) (out []jetstream.PubAckFuture, unsent []*nats.Msg, _ error) {
	for rule, evs := range b.byRule {
		a, _ := b.view.Archive(b.sc, strings.TrimPrefix(rule, control.ArchiveRulePrefix))
		if a == nil { // deleted since: its rule goes with it
			continue
		}
		var m *nats.Msg
		if len(evs) == b.count {
			m = rawMsg(a.UUID, b.msgID+"|"+a.UUID, b.count, b.data)
		} else {
			m = Msg(a.UUID, b.msgID+"|"+a.UUID, evs)
		}
		sealed, err := keys.SealArchive(ctx, a, m.Data)
		if _, dead := busenc.DeadLetterCode(err); err != nil && dead {
			notArchived.Add(float64(len(evs)))
			log.Error("archive: events not archived, the archive's key cannot encrypt them", "archive", a.ARN(), "events", len(evs), "err", err)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("archive %s: encrypt: %w", a.ARN(), err)
		}
		m.Data = sealed
		f, err := js.PublishMsgAsync(m, store.StallWait)
		if err != nil {
			unsent = append(unsent, m)
			continue
		}
		out = append(out, f)
	}
	return out, unsent, nil
}

var notArchived = promauto.NewCounter(prometheus.CounterOpts{
	Name: "switchyard_archive_unencryptable_events_total",
	Help: "Events an archive did not take because its customer managed key (or its bus's) cannot encrypt them: disabled, deleted or refused.",
})

// Msg is the archive message of events: the events-stream batch layout
// (see ingest.HeaderEvents), always with the count header. Their trace
// headers are not archived: "the trace header isn't available on archived
// events. If you replay archived events, the trace header isn't included"
// ("Amazon EventBridge integration with AWS X-Ray", EventBridge User
// Guide).
func Msg(uuid, msgID string, evs []ingest.Event) *nats.Msg {
	n := 0
	for _, e := range evs {
		n += 8 + len(e.ID) + len(e.Envelope)
	}
	data := make([]byte, 0, n)
	for _, e := range evs {
		data = appendFrame(data, e.ID, e.Envelope)
	}
	m := &nats.Msg{Subject: SubjectPrefix + uuid + "." + strconv.Itoa(len(evs)), Data: data, Header: nats.Header{}}
	m.Header.Set(ingest.HeaderEvents, strconv.Itoa(len(evs)))
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	return m
}

// rawMsg is Msg for data already in the batch layout.
func rawMsg(uuid, msgID string, n int, data []byte) *nats.Msg {
	cnt := strconv.Itoa(n)
	m := &nats.Msg{Subject: SubjectPrefix + uuid + "." + cnt, Data: data, Header: nats.Header{}}
	m.Header.Set(ingest.HeaderEvents, cnt)
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	return m
}

func appendFrame(b []byte, id string, env []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(id)))
	b = append(b, id...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(env)))
	return append(b, env...)
}

// Sweeper enforces archives' RetentionDays: events archived longer ago are
// purged. It keeps its own clock rather than relying on a stream MaxAge, so
// that tests can move time.
type Sweeper struct {
	JS       jetstream.JetStream
	View     *control.View
	Log      *slog.Logger
	Now      func() time.Time
	Interval time.Duration
}

// Run sweeps every Interval (a minute by default) until ctx ends.
func (s *Sweeper) Run(ctx context.Context) error {
	iv := s.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.Sweep(ctx)
	}
}

// Sweep purges the expired events of every archive with a retention.
func (s *Sweeper) Sweep(ctx context.Context) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	for _, a := range s.View.Archives(control.Scope{}) {
		if a.RetentionDays <= 0 {
			continue
		}
		cutoff := now().Add(-time.Duration(a.RetentionDays) * 24 * time.Hour)
		if n, err := PurgeBefore(ctx, s.JS, a, cutoff); err != nil {
			s.Log.Warn("archive: retention", "archive", a.ARN(), "err", err)
		} else if n > 0 {
			s.Log.Debug("archive: retention purged", "archive", a.ARN(), "messages", n)
		}
	}
}

// PurgeBefore removes the archive's messages stored before cutoff and
// returns how many it removed. Several processes may sweep at once: a purge
// up to a sequence is idempotent.
func PurgeBefore(ctx context.Context, js jetstream.JetStream, a *control.Archive, cutoff time.Time) (uint64, error) {
	str, err := js.Stream(ctx, StreamName(a))
	if err != nil {
		return 0, err
	}
	info, err := str.Info(ctx)
	if err != nil {
		return 0, err
	}
	st := info.State
	if st.Msgs == 0 || !st.FirstTime.Before(cutoff) {
		return 0, nil
	}
	upTo := st.LastSeq + 1
	if !st.LastTime.Before(cutoff) {
		// The first message at or after the cutoff bounds the purge.
		cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
			DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &cutoff, HeadersOnly: true})
		if err != nil {
			return 0, err
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return 0, err
		}
		md, err := msg.Metadata()
		if err != nil {
			return 0, err
		}
		upTo = md.Sequence.Stream
	}
	before := st.Msgs
	if err := str.Purge(ctx, jetstream.WithPurgeSequence(upTo)); err != nil {
		return 0, err
	}
	info, err = str.Info(ctx)
	if err != nil {
		return 0, err
	}
	return before - min(before, info.State.Msgs), nil
}
