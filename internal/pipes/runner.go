package pipes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/store"
)

// Invoker calls a target once (deliver.Deliverer.Invoke).
type Invoker interface {
	Invoke(ctx context.Context, inv *deliver.Invocation) error
}

// Runner runs the pollers of the pipes whose lease this process holds. Each
// process of a cluster runs one; a pipe's poller runs in one process at a
// time: the one holding its lease (a control.Lease in the bucket, renewed
// every LeaseTTL/3), so when that process dies another takes the pipe over
// once the lease lapses, resuming from the checkpoints in the bucket.
//
// The Runner also moves pipes through their states: a pipe the API set to
// CREATING, STARTING, UPDATING or STOPPING becomes RUNNING once its poller
// has reached its source (START_FAILED or CREATE_FAILED, with the reason,
// while it cannot) or STOPPED once no poller runs it; a DELETING pipe is
// removed once no process polls it.
type Runner struct {
	KV     jetstream.KeyValue
	Invoke Invoker
	AWS    *awsclient.Factory
	Log    *slog.Logger
	// ID names this process in leases; a fresh one if empty.
	ID string
	// LeaseTTL is how long a lease lasts unrenewed (DefaultLeaseTTL if 0).
	LeaseTTL time.Duration
	// Backoff is the first wait before a failed target call is retried
	// (doubling, capped at 64×); 1 s if 0. Tests shrink it.
	Backoff time.Duration

	mu      sync.Mutex
	pipes   map[string]*Pipe   // by key, the latest seen
	pollers map[string]*poller // by key, those this process runs
	leases  map[string]uint64  // by key, the revision of our lease record
	kick    chan struct{}
}

// DefaultLeaseTTL is the default of Runner.LeaseTTL.
const DefaultLeaseTTL = 10 * time.Second

type poller struct {
	version int
	cancel  context.CancelFunc
	done    chan struct{}

	mu     sync.Mutex
	ready  bool   // reached its source
	reason string // why not, or why it is failing
}

func (p *poller) setStatus(ready bool, reason string) {
	p.mu.Lock()
	p.ready, p.reason = ready, reason
	p.mu.Unlock()
}

func (p *poller) status() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready, p.reason
}

// Run runs until ctx ends, then stops every poller and gives up its leases.
func (r *Runner) Run(ctx context.Context) error {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.LeaseTTL <= 0 {
		r.LeaseTTL = DefaultLeaseTTL
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	if r.Backoff <= 0 {
		r.Backoff = time.Second
	}
	r.pipes, r.pollers, r.leases = map[string]*Pipe{}, map[string]*poller{}, map[string]uint64{}
	r.kick = make(chan struct{}, 1)
	defer r.stopAll()
	for ctx.Err() == nil {
		if err := r.watch(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("pipes: watch of the pipes bucket failed; watching again", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (r *Runner) watch(ctx context.Context) error {
	w, err := r.KV.Watch(ctx, pipePrefix+">")
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	tick := time.NewTicker(r.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watcher closed")
			}
			if e == nil {
				r.reconcileAll(ctx)
				continue
			}
			r.mu.Lock()
			if e.Operation() != jetstream.KeyValuePut {
				delete(r.pipes, e.Key())
			} else {
				p := &Pipe{}
				if err := json.Unmarshal(e.Value(), p); err == nil {
					sc, _, _ := scopeOfKey(e.Key())
					p.Scope, p.rev = sc, e.Revision()
					r.pipes[e.Key()] = p
				}
			}
			r.mu.Unlock()
			r.reconcile(ctx, e.Key())
		case <-tick.C:
			r.reconcileAll(ctx)
		case <-r.kick:
			r.reconcileAll(ctx)
		}
	}
}

// poke asks for a reconciliation soon (a poller's status changed).
func (r *Runner) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Runner) reconcileAll(ctx context.Context) {
	r.mu.Lock()
	keys := make([]string, 0, len(r.pipes)+len(r.pollers))
	for k := range r.pipes {
		keys = append(keys, k)
	}
	for k := range r.pollers {
		if r.pipes[k] == nil {
			keys = append(keys, k)
		}
	}
	r.mu.Unlock()
	for _, k := range keys {
		r.reconcile(ctx, k)
	}
}

// reconcile brings what this process does for the pipe at key in line
// with what the pipe asks for.
func (r *Runner) reconcile(ctx context.Context, key string) {
	r.mu.Lock()
	p := r.pipes[key]
	r.mu.Unlock()
	sc, name, _ := scopeOfKey(key)
	lk := leaseKey(sc, name)
	if p == nil {
		r.stopPoller(key)
		r.releaseLease(ctx, key, lk)
		return
	}
	switch {
	case p.CurrentState == StateDeleting:
		r.stopPoller(key)
		r.releaseLease(ctx, key, lk)
		if r.leaseHeldByOther(ctx, lk) {
			return
		}
		if err := r.KV.Delete(ctx, key, jetstream.LastRevision(p.rev)); err != nil && !store.IsConflict(err) {
			r.Log.Warn("pipes: delete pipe", "pipe", p.Arn, "err", err)
			return
		}
		_ = r.KV.Delete(ctx, lk)
		r.dropCheckpoints(ctx, p.Generation)
	case p.DesiredState != StateRunning:
		r.stopPoller(key)
		r.releaseLease(ctx, key, lk)
		if p.CurrentState != StateStopped && !r.leaseHeldByOther(ctx, lk) {
			r.setState(ctx, p, StateStopped, "")
		}
	default:
		if !r.holdLease(ctx, key, lk) {
			r.stopPoller(key)
			return
		}
		pl := r.ensurePoller(ctx, key, p)
		ready, reason := pl.status()
		switch {
		case ready && (p.CurrentState != StateRunning || p.StateReason != reason):
			r.setState(ctx, p, StateRunning, reason)
		case !ready && reason != "" && p.CurrentState != StateRunning:
			failed := StateStartFailed
			if p.CurrentState == StateCreating || p.CurrentState == StateCreateFailed {
				failed = StateCreateFailed
			}
			if p.CurrentState != failed || p.StateReason != reason {
				r.setState(ctx, p, failed, reason)
			}
		case !ready && reason != "" && p.StateReason != reason:
			r.setState(ctx, p, p.CurrentState, reason)
		}
	}
}

// setState records the pipe's state, unless the pipe changed meanwhile
// (the watch brings the change, and reconcile runs again).
func (r *Runner) setState(ctx context.Context, p *Pipe, state, reason string) {
	q := *p
	q.CurrentState, q.StateReason = state, reason
	data, _ := json.Marshal(&q)
	if _, err := r.KV.Update(ctx, pipeKey(p.Scope, p.Name), data, p.rev); err != nil && !store.IsConflict(err) {
		r.Log.Warn("pipes: record pipe state", "pipe", p.Arn, "state", state, "err", err)
	}
}

func (r *Runner) leaseHeldByOther(ctx context.Context, lk string) bool {
	e, err := r.KV.Get(ctx, lk)
	if err != nil {
		return false
	}
	var l control.Lease
	_ = json.Unmarshal(e.Value(), &l)
	return l.HeldByOther(r.ID, time.Now())
}

// holdLease claims or renews this process's lease on the pipe.
func (r *Runner) holdLease(ctx context.Context, key, lk string) bool {
	now := time.Now()
	var l control.Lease
	var rev uint64
	e, err := r.KV.Get(ctx, lk)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		r.Log.Warn("pipes: read lease", "key", lk, "err", err)
		return r.hasPoller(key) // keep going on a blip; the lease still runs
	default:
		rev = e.Revision()
		_ = json.Unmarshal(e.Value(), &l)
	}
	if l.HeldByOther(r.ID, now) {
		return false
	}
	l.Grant(r.ID, now, r.LeaseTTL)
	data, _ := json.Marshal(l)
	nrev, err := store.Swap(ctx, r.KV, lk, data, rev)
	if err != nil {
		if !store.IsConflict(err) {
			r.Log.Warn("pipes: write lease", "key", lk, "err", err)
		}
		return false
	}
	r.mu.Lock()
	r.leases[key] = nrev
	r.mu.Unlock()
	return true
}

func (r *Runner) releaseLease(ctx context.Context, key, lk string) {
	r.mu.Lock()
	rev, ok := r.leases[key]
	delete(r.leases, key)
	r.mu.Unlock()
	if !ok {
		return
	}
	var l control.Lease
	l.Release()
	data, _ := json.Marshal(l)
	_, _ = r.KV.Update(ctx, lk, data, rev)
}

func (r *Runner) hasPoller(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pollers[key] != nil
}

// ensurePoller runs the poller of p's current version.
func (r *Runner) ensurePoller(ctx context.Context, key string, p *Pipe) *poller {
	r.mu.Lock()
	pl := r.pollers[key]
	r.mu.Unlock()
	if pl != nil && pl.version == p.Version {
		return pl
	}
	if pl != nil {
		r.stopPoller(key)
	}
	pctx, cancel := context.WithCancel(ctx)
	pl = &poller{version: p.Version, cancel: cancel, done: make(chan struct{})}
	run := &pipeRun{r: r, p: p, pl: pl, log: r.Log.With("pipe", p.Arn)}
	r.mu.Lock()
	r.pollers[key] = pl
	r.mu.Unlock()
	go func() {
		defer close(pl.done)
		run.run(pctx)
	}()
	return pl
}

func (r *Runner) stopPoller(key string) {
	r.mu.Lock()
	pl := r.pollers[key]
	delete(r.pollers, key)
	r.mu.Unlock()
	if pl == nil {
		return
	}
	pl.cancel()
	<-pl.done
}

func (r *Runner) stopAll() {
	r.mu.Lock()
	keys := make([]string, 0, len(r.pollers))
	for k := range r.pollers {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, k := range keys {
		r.stopPoller(k)
		sc, name, _ := scopeOfKey(k)
		r.releaseLease(ctx, k, leaseKey(sc, name))
	}
}

func (r *Runner) dropCheckpoints(ctx context.Context, generation string) {
	if generation == "" {
		return
	}
	lister, err := r.KV.ListKeysFiltered(ctx, ckptPrefix+generation+".>")
	if err != nil {
		return
	}
	for k := range lister.Keys() {
		_ = r.KV.Purge(ctx, k)
	}
}

// checkpoint reads a source position of the pipe ("" if none).
func (r *Runner) checkpoint(ctx context.Context, generation, shard string) (string, error) {
	e, err := r.KV.Get(ctx, ckptKey(generation, shard))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read checkpoint: %w", err)
	}
	return string(e.Value()), nil
}

// saveCheckpoint records a source position of the pipe.
func (r *Runner) saveCheckpoint(ctx context.Context, generation, shard, pos string) error {
	if _, err := r.KV.Put(ctx, ckptKey(generation, shard), []byte(pos)); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}
