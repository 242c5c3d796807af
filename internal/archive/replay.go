package archive

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

// Replayer runs the replays recorded in the control bucket. Every process
// runs one; a replay is run by the process that claimed it, by writing
// itself as the record's owner with a lease at the record's revision, and
// renewing the lease with each progress write. A process that dies stops
// renewing; once the lease lapses, another process (or the same one,
// restarted) claims the replay and resumes it from its cursor.
type Replayer struct {
	JS   jetstream.JetStream
	Ctl  *control.Service
	View *control.View
	Log  *slog.Logger
	// Lease is how long a claim holds without renewal (10s by default).
	Lease time.Duration
	// Progress is how often progress is written, renewing the lease.
	Progress time.Duration
	// MaxBacklog bounds the events-stream messages the router has not yet
	// acknowledged (live and replayed) before a replay waits: live events
	// queue behind at most this many replayed messages.
	MaxBacklog uint64
	// MaxDeliveries bounds the delivery tasks waiting in the delivery
	// stream before a replay waits, for the same reason.
	MaxDeliveries uint64
	// Keys opens archived events sealed under a customer managed key and
	// seals the replayed ones under their bus's (package busenc).
	Keys *busenc.Keys

	id      string
	mu      sync.Mutex
	running map[string]bool
}

const (
	// reorder bounds the events a replay holds to put them in time order:
	// archives are in arrival order, and an event's time differs from its
	// arrival only when PutEvents set it, so a small window orders them.
	reorder = 20000
	// perMessage is how many replayed events go into one events-stream
	// message.
	perMessage = 100
)

func (r *Replayer) defaults() {
	if r.Lease <= 0 {
		r.Lease = 10 * time.Second
	}
	if r.Progress <= 0 {
		r.Progress = 500 * time.Millisecond
	}
	if r.MaxBacklog == 0 {
		r.MaxBacklog = 200
	}
	if r.MaxDeliveries == 0 {
		r.MaxDeliveries = 50000
	}
}

// Run claims and runs replays until ctx ends.
func (r *Replayer) Run(ctx context.Context) error {
	r.defaults()
	r.id = uuid.NewString()
	r.running = map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for _, rp := range r.View.Replays(control.Scope{}) {
			if !rp.Active() || rp.Held(time.Now()) {
				continue
			}
			key := rp.Account + "/" + rp.Region + "/" + rp.Name
			r.mu.Lock()
			busy := r.running[key]
			r.running[key] = true
			r.mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func(sc control.Scope, name string) {
				defer wg.Done()
				defer func() { r.mu.Lock(); delete(r.running, key); r.mu.Unlock() }()
				if err := r.claimAndRun(ctx, sc, name); err != nil && ctx.Err() == nil {
					r.Log.Error("replay", "replay", name, "err", err)
				}
			}(rp.Scope, rp.Name)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.View.Changed():
		case <-tick.C:
		}
	}
}

// job is one claimed replay.
type job struct {
	r   *Replayer
	rec *control.Replay
	rev uint64
	// stop is set when the record changed under the job: cancelled, or
	// claimed by another process.
	stop bool
}

// save writes the record at the job's revision with a renewed lease. On a
// conflict it re-reads the record: a cancellation is honoured, another
// owner ends the job.
func (j *job) save(ctx context.Context) error {
	for {
		j.rec.Grant(j.r.id, time.Now(), j.r.Lease)
		rev, ok, err := j.r.Ctl.UpdateReplay(ctx, j.rec, j.rev)
		if err != nil {
			return err
		}
		if ok {
			j.rev = rev
			return nil
		}
		cur, crev, err := j.r.Ctl.LoadReplay(ctx, j.rec.Scope, j.rec.Name)
		if err != nil {
			return err
		}
		if cur.Owner != j.r.id && cur.Owner != "" {
			j.stop = true
			return nil
		}
		if cur.State == control.ReplayCancelling && j.rec.State != control.ReplayCancelled {
			j.rec.State = control.ReplayCancelling
			j.stop = true
		}
		j.rev = crev
	}
}

// finish writes a final state.
func (j *job) finish(ctx context.Context, state, reason string) error {
	j.rec.State, j.rec.StateReason = state, reason
	j.rec.ReplayEndTime = j.r.Ctl.Now().UTC()
	j.stop = false
	if err := j.save(ctx); err != nil {
		return err
	}
	if j.stop && j.rec.State == control.ReplayCancelling {
		// Cancelled while finishing: the replay is over either way.
		j.rec.State = control.ReplayCancelled
		return j.save(ctx)
	}
	return nil
}

// errStop ends a job whose record changed under it (see job.stop).
var errStop = errors.New("replay stopped")

func (r *Replayer) claimAndRun(ctx context.Context, sc control.Scope, name string) error {
	rec, rev, err := r.Ctl.LoadReplay(ctx, sc, name)
	if err != nil {
		return err
	}
	if !rec.Active() || rec.HeldByOther(r.id, time.Now()) {
		return nil
	}
	rec.Grant(r.id, time.Now(), r.Lease)
	if rec.State == control.ReplayStarting {
		rec.State = control.ReplayRunning
	}
	nrev, ok, err := r.Ctl.UpdateReplay(ctx, rec, rev)
	if err != nil || !ok { // another process claimed it first
		return err
	}
	j := &job{r: r, rec: rec, rev: nrev}
	if rec.State == control.ReplayCancelling {
		return j.finish(ctx, control.ReplayCancelled, "")
	}
	reason, err := j.run(ctx)
	if errors.Is(err, errStop) {
		err = nil
	}
	if ctx.Err() != nil {
		// Shutting down: release the claim so that the next owner resumes
		// from the last checkpoint without waiting for the lease to lapse.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		j.rec.Release()
		_, _, _ = r.Ctl.UpdateReplay(rctx, j.rec, j.rev)
		return nil
	}
	switch {
	case j.stop && j.rec.State == control.ReplayCancelling:
		return j.finish(ctx, control.ReplayCancelled, "")
	case j.stop:
		return nil
	case err != nil:
		r.Log.Error("replay failed", "replay", rec.ARN(), "err", err)
		return j.finish(ctx, control.ReplayFailed, reason)
	}
	return j.finish(ctx, control.ReplayCompleted, "")
}

// item is a replayed event waiting in the reorder heap.
type item struct {
	t   time.Time
	seq uint64
	k   int
	id  string
	env []byte
}

type itemHeap []item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if !a.t.Equal(b.t) {
		return a.t.Before(b.t)
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.k < b.k
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// minSeq is the lowest archive sequence still held.
func (h itemHeap) minSeq() uint64 {
	m := uint64(0)
	for i := range h {
		if m == 0 || h[i].seq < m {
			m = h[i].seq
		}
	}
	return m
}

// run streams the archive from the cursor to EndSeq. It returns a
// StateReason with a failure.
func (j *job) run(ctx context.Context) (string, error) {
	r, rec := j.r, j.rec
	a, _ := r.View.Archive(rec.Scope, rec.ArchiveName)
	if a == nil || a.UUID != rec.ArchiveUUID {
		return "Archive " + rec.ArchiveName + " was deleted.", errors.New("archive deleted")
	}
	if b, _ := r.View.Bus(rec.Scope, rec.Bus); b == nil {
		return "Event bus " + rec.Bus + " does not exist.", errors.New("bus deleted")
	}
	str, err := r.JS.Stream(ctx, StreamName(a))
	if err != nil {
		return "Archive " + rec.ArchiveName + " is not readable.", err
	}
	if rec.EndSeq == 0 {
		info, err := str.Info(ctx)
		if err != nil {
			return "Archive " + rec.ArchiveName + " is not readable.", err
		}
		rec.EndSeq = info.State.LastSeq
		if rec.EndSeq == 0 { // nothing archived yet
			return "", nil
		}
		if err := j.save(ctx); err != nil || j.stop {
			return "", err
		}
	}
	if rec.Cursor >= rec.EndSeq {
		return "", nil
	}
	cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: rec.Cursor + 1})
	if err != nil {
		return "Archive " + rec.ArchiveName + " is not readable.", err
	}
	out := &publisher{j: j, subject: ingest.Subject(rec.Scope, rec.Bus)}
	if len(rec.FilterArns) > 0 {
		out.filter = strings.Join(rec.FilterArns, ",")
	}
	h := &itemHeap{}
	var lastRead uint64
	lastSave := time.Now()
	checkpoint := func() error {
		if err := out.flush(ctx); err != nil {
			return err
		}
		if err := out.wait(ctx); err != nil {
			return err
		}
		// Everything before the oldest event still held has been handed to
		// the bus; a resumed replay starts after it.
		if m := h.minSeq(); m > 0 {
			rec.Cursor = max(rec.Cursor, m-1)
		} else {
			rec.Cursor = max(rec.Cursor, lastRead)
		}
		lastSave = time.Now()
		return j.save(ctx)
	}
	for lastRead < rec.EndSeq {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return "Archive " + rec.ArchiveName + " is not readable.", err
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			seq := md.Sequence.Stream
			if seq > rec.EndSeq {
				lastRead = seq
				break
			}
			lastRead = seq
			hd := msg.Headers()
			data, err := r.Keys.Open(ctx, msg.Data())
			if err != nil {
				// A key disabled or KMS down: the replay fails saying so,
				// and can be started again once the key is usable.
				return "Archived events could not be decrypted: " + err.Error(), err
			}
			evs, err := ingest.Events(hd.Get(ingest.HeaderEvents), hd.Get(jetstream.MsgIDHeader), data)
			if err != nil {
				r.Log.Warn("replay: undecodable archive message skipped", "archive", a.ARN(), "seq", seq)
				continue
			}
			for k, ev := range evs {
				t, ok := eventTime(ev.Envelope)
				if !ok || t.Before(rec.EventStartTime) || !t.Before(rec.EventEndTime) {
					continue
				}
				heap.Push(h, item{t: t, seq: seq, k: k, id: ev.ID, env: ev.Envelope})
				for h.Len() > reorder {
					if err := out.emit(ctx, heap.Pop(h).(item)); err != nil {
						return "Replaying events failed.", err
					}
				}
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return "Archive " + rec.ArchiveName + " is not readable.", err
		}
		if n == 0 {
			// Nothing more to read: the rest of the range was purged by
			// retention, or the archive is gone.
			info, err := str.Info(ctx)
			if err != nil {
				if errors.Is(err, jetstream.ErrStreamNotFound) {
					return "Archive " + rec.ArchiveName + " was deleted.", err
				}
				return "Archive " + rec.ArchiveName + " is not readable.", err
			}
			if info.State.LastSeq <= lastRead || info.State.FirstSeq > rec.EndSeq || info.State.Msgs == 0 {
				break
			}
		}
		if time.Since(lastSave) >= r.Progress {
			if err := checkpoint(); err != nil {
				return "Replaying events failed.", err
			}
			if j.stop {
				return "", nil
			}
		}
	}
	for h.Len() > 0 {
		if err := out.emit(ctx, heap.Pop(h).(item)); err != nil {
			return "Replaying events failed.", err
		}
		if time.Since(lastSave) >= r.Progress {
			if err := checkpoint(); err != nil {
				return "Replaying events failed.", err
			}
			if j.stop {
				return "", nil
			}
		}
	}
	rec.Cursor = max(rec.Cursor, lastRead)
	if err := checkpoint(); err != nil {
		return "Replaying events failed.", err
	}
	return "", nil
}

// publisher batches replayed events into events-stream messages.
type publisher struct {
	j       *job
	subject string
	filter  string
	data    []byte
	n       int
	firstID string
	lastT   time.Time
	pending []jetstream.PubAckFuture
	// when the backlog was last checked, and events emitted since
	checked    time.Time
	sinceCheck int
}

func (p *publisher) emit(ctx context.Context, it item) error {
	name := p.j.rec.Name
	id := it.id + "|" + name
	if p.n == 0 {
		p.firstID = id
	}
	// AWS adds "replay-name" to a replayed event as its last member.
	env := bytes.TrimRight(it.env, " \t\r\n")
	if len(env) == 0 || env[len(env)-1] != '}' {
		return nil
	}
	p.data = binary32(p.data, len(id))
	p.data = append(p.data, id...)
	at := len(p.data)
	p.data = append(p.data, 0, 0, 0, 0)
	p.data = append(p.data, env[:len(env)-1]...)
	p.data = append(p.data, `,"replay-name":`...)
	p.data = ingest.AppendString(p.data, name)
	p.data = append(p.data, '}')
	l := len(p.data) - at - 4
	p.data[at], p.data[at+1], p.data[at+2], p.data[at+3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
	p.n++
	p.sinceCheck++
	p.lastT = it.t
	p.j.rec.Replayed++
	if p.n >= perMessage || len(p.data) >= 512<<10 {
		return p.flush(ctx)
	}
	return nil
}

func binary32(b []byte, n int) []byte {
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (p *publisher) flush(ctx context.Context) error {
	if p.n == 0 {
		return nil
	}
	if err := p.throttle(ctx); err != nil {
		return err
	}
	r := p.j.r
	rec := p.j.rec
	data, err := r.Keys.Seal(ctx, r.Keys.BusKey(rec.Scope, rec.Bus), rec.Scope, rec.Bus, p.data)
	if err != nil {
		return fmt.Errorf("replay: encrypt: %w", err)
	}
	m := &nats.Msg{Subject: p.subject, Data: data, Header: nats.Header{}}
	m.Header.Set(ingest.HeaderEvents, strconv.Itoa(p.n))
	m.Header.Set(jetstream.MsgIDHeader, "replay|"+p.firstID)
	m.Header.Set(HeaderReplay, p.j.rec.Name)
	if p.filter != "" {
		m.Header.Set(HeaderReplayFilter, p.filter)
	}
	m.Header.Set(ingest.HeaderRev, strconv.FormatUint(r.View.Rev(), 10))
	m.Header.Set(ingest.HeaderIngested, strconv.FormatInt(time.Now().UnixMilli(), 10))
	f, err := r.JS.PublishMsgAsync(m, store.StallWait)
	if err != nil {
		return fmt.Errorf("replay publish: %w", err)
	}
	p.pending = append(p.pending, f)
	p.j.rec.EventLastReplayedTime = p.lastT
	p.data, p.n = nil, 0
	if len(p.pending) >= 64 {
		return p.wait(ctx)
	}
	return nil
}

func (p *publisher) wait(ctx context.Context) error {
	for _, f := range p.pending {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("replay publish: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.pending = p.pending[:0]
	return nil
}

// maxBacklog is MaxBacklog, or less when MaxDeliveries asks for less:
// the router makes a replayed event's first attempts directly when its
// targets can take them, holding the event's message unacknowledged until
// they settle, so those tasks wait in the router's backlog, not in the
// delivery stream — up to perMessage of them a message.
func (r *Replayer) maxBacklog() uint64 {
	return max(1, min(r.MaxBacklog, r.MaxDeliveries/perMessage))
}

// throttle waits while the router or the deliverer is behind, so that a
// replay of millions of events never queues more than a bounded amount of
// work ahead of live traffic.
func (p *publisher) throttle(ctx context.Context) error {
	r := p.j.r
	if time.Since(p.checked) < 20*time.Millisecond && p.sinceCheck < 1000 {
		return nil
	}
	beat := time.Now()
	for {
		behind := false
		if c, err := r.JS.Consumer(ctx, store.EventsStream, "match"); err == nil {
			if info, err := c.Info(ctx); err == nil && info.NumPending+uint64(info.NumAckPending) > r.maxBacklog() {
				behind = true
			}
		}
		if !behind {
			if s, err := r.JS.Stream(ctx, store.DeliveryStream); err == nil {
				if info, err := s.Info(ctx); err == nil && info.State.Msgs > r.MaxDeliveries {
					behind = true
				}
			}
		}
		if !behind {
			p.checked, p.sinceCheck = time.Now(), 0
			return nil
		}
		// A long wait behind a slow target must neither lose the claim
		// nor miss a cancellation.
		if time.Since(beat) >= r.Progress {
			beat = time.Now()
			if err := p.j.save(ctx); err != nil {
				return err
			}
			if p.j.stop {
				return errStop
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// eventTime reads the envelope's top-level "time". Envelopes are written
// by Switchyard with "time" before "detail", and a quote inside a string is
// escaped, so the first `,"time":"` is the member itself.
func eventTime(env []byte) (time.Time, bool) {
	const key = `,"time":"`
	if i := bytes.Index(env, []byte(key)); i >= 0 {
		rest := env[i+len(key):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if t, err := time.Parse(time.RFC3339, string(rest[:j])); err == nil {
				return t, true
			}
		}
	}
	var v struct {
		Time time.Time `json:"time"`
	}
	if json.Unmarshal(env, &v) != nil || v.Time.IsZero() {
		return time.Time{}, false
	}
	return v.Time, true
}
