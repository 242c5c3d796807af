package schedules

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

// Service is EventBridge Scheduler: its API and its engine.
type Service struct {
	repo   *repo
	log    *slog.Logger
	Engine *Engine

	// lastWrite is the bucket revision of the last schedule this process
	// wrote (ListSchedules waits for the engine's index to have it).
	lastWrite atomic.Uint64

	bgMu sync.Mutex
	bg   context.Context // set by Run; group deletions run under it
	wg   sync.WaitGroup
}

// New opens the Scheduler bucket of st (replicas: its replication).
func New(ctx context.Context, st *store.Store, replicas int, log *slog.Logger) (*Service, error) {
	kv, err := openBucket(ctx, st, replicas)
	if err != nil {
		return nil, err
	}
	r := &repo{kv: kv}
	return &Service{repo: r, log: log, Engine: newEngine(r, st.JS, log), bg: context.Background()}, nil
}

// Run fires schedules, and finishes the deletions of schedule groups left
// DELETING by a stopped process, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	s.bgMu.Lock()
	s.bg = ctx
	s.bgMu.Unlock()
	defer s.wg.Wait()
	go s.resumeDeletions(ctx)
	return s.Engine.Run(ctx)
}

func (s *Service) resumeDeletions(ctx context.Context) {
	keys, err := s.repo.keys(ctx, "g.>")
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("scheduler: schedule groups not listed", "err", err)
		}
		return
	}
	for _, k := range keys {
		e, err := s.repo.kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var g Group
		if json.Unmarshal(e.Value(), &g) != nil || g.State != "DELETING" {
			continue
		}
		p := strings.Split(k, ".")
		if len(p) == 4 {
			s.finishDeletion(control.Scope{Account: p[1], Region: p[2]}, g.Name)
		}
	}
}

// finishDeletion deletes the schedules of a DELETING group, then the
// group, in the background.
func (s *Service) finishDeletion(sc control.Scope, group string) {
	s.bgMu.Lock()
	ctx := s.bg
	s.bgMu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.deleteGroupNow(ctx, sc, group); err != nil && ctx.Err() == nil {
			s.log.Error("scheduler: schedule group not deleted; the next start resumes", "group", group, "err", err)
		}
	}()
}

func (s *Service) deleteGroupNow(ctx context.Context, sc control.Scope, group string) error {
	keys, err := s.repo.keys(ctx, scopeKey("s", sc)+"."+store.Token(group)+".*")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.repo.deleteSchedule(ctx, k, 0); err != nil {
			return err
		}
	}
	if err := s.repo.kv.Delete(ctx, groupKey(sc, group)); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	return nil
}

// deleteSchedule deletes a schedule (at revision rev, unless 0) and its
// fire record.
func (r *repo) deleteSchedule(ctx context.Context, key string, rev uint64) error {
	var opts []jetstream.KVDeleteOpt
	if rev != 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	if err := r.kv.Delete(ctx, key, opts...); err != nil {
		return fmt.Errorf("delete schedule: %w", err)
	}
	_ = r.kv.Delete(ctx, ledgerKey(key))
	return nil
}

// wrote records the revision of a schedule this process wrote.
func (s *Service) wrote(rev uint64) {
	for {
		old := s.lastWrite.Load()
		if rev <= old || s.lastWrite.CompareAndSwap(old, rev) {
			return
		}
	}
}
