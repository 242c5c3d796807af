package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable is wrapped by the errors of Available: storage cannot take
// writes for now (the disk is short of space, or the embedded server is
// being replaced), and a caller should answer with a retryable error.
var ErrUnavailable = errors.New("storage unavailable")

// Available reports whether the store can take writes now: nil, or an
// error wrapping ErrUnavailable that says why not. It costs an atomic load:
// supervise keeps the answer up to date.
func (s *Store) Available() error {
	if p := s.unavailable.Load(); p != nil {
		return *p
	}
	return nil
}

// IsUnavailable reports whether err, from a publish or a JetStream call,
// says storage is unavailable for now rather than that the request was
// wrong: Available's refusal, JetStream out of resources (its storage
// limit reached), no acknowledgement in time, no JetStream to answer, or a
// connection being re-established.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeInsufficientResources, errCodeStorageResourcesExceeded, errCodeAccountResourcesExceeded,
			jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return true
		}
		return apiErr.Code == 503
	}
	for _, e := range []error{ErrUnavailable, jetstream.ErrAsyncPublishTimeout, jetstream.ErrNoStreamResponse,
		jetstream.ErrJetStreamNotEnabled, nats.ErrTimeout, nats.ErrNoResponders, nats.ErrConnectionReconnecting,
		nats.ErrConnectionClosed, nats.ErrDisconnected, nats.ErrReconnectBufExceeded, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// JetStream's error codes for a storage limit reached (nats-server's
// JSInsufficientResourcesErr, JSStorageResourcesExceededErr,
// JSAccountResourcesExceededErr), which nats.go does not name.
const (
	errCodeInsufficientResources    jetstream.ErrorCode = 10023
	errCodeStorageResourcesExceeded jetstream.ErrorCode = 10047
	errCodeAccountResourcesExceeded jetstream.ErrorCode = 10002
)

// superviseEvery is how often supervise looks at the disk and the server.
const superviseEvery = 500 * time.Millisecond

// minRestartFree is the least free space a restart of the embedded server
// waits for even without a reserve: recovering streams writes (indexes,
// tombstones), and a recovery that cannot write fails.
const minRestartFree = 4 << 20

// supervise keeps the embedded server able to store, until ctx ends. Twice
// a second it checks:
//
//   - the free space of the data directory's filesystem: below the reserve,
//     Available refuses (so PutEvents answers a retryable error instead of
//     filling the disk), until there is room again;
//   - whether the server can still write (writeFailure: a stream holding a
//     write error, or JetStream shut down). If not, once the disk has room,
//     the server is shut down and started again on the same files — the
//     recovery of a process restart, without the restart — with a back-off
//     of 1 s doubling to 30 s between failed attempts; the connection
//     reconnects by itself, and the assets are ensured again (the in-memory
//     rates bucket does not survive a restart).
//   - whether JetStream's storage limit, set from the free space when the
//     server started, can be raised now that there is more (raiseStoreLimit).
//
// Everything acknowledged before is on disk and recovered; what was not
// acknowledged was refused or timed out (AckTimeout), so nothing stored is
// lost and nothing acknowledged was not stored.
func (s *Store) supervise(ctx context.Context) {
	e := s.emb
	tick := time.NewTicker(superviseEvery)
	defer tick.Stop()
	backoff := time.Second
	var retryAt time.Time
	var last string // the reason last set, to log changes only
	set := func(err error) {
		msg := ""
		if err != nil {
			msg = err.Error()
			s.unavailable.Store(&err)
		} else {
			s.unavailable.Store(nil)
		}
		if msg == last {
			return
		}
		switch {
		case err != nil:
			s.log.Warn("store: unavailable for writes", "reason", msg)
		default:
			s.log.Info("store: available for writes again", "data_dir", e.dir)
		}
		last = msg
	}
	assetsDue := false // after a restart, until ensureAssets succeeds
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		free, _, derr := diskSpace(e.dir)
		low := derr == nil && e.reserve > 0 && free < e.reserve
		srv := e.server()
		failure := writeFailure(srv)
		if failure != nil {
			set(fmt.Errorf("%w: the embedded nats server cannot write (%v)", ErrUnavailable, failure))
			if derr == nil && free < max(e.reserve, minRestartFree) {
				continue // no use restarting before there is room
			}
			if time.Now().Before(retryAt) {
				continue
			}
			s.log.Warn("store: restarting the embedded nats server", "reason", failure, "free_bytes", free)
			if err := s.restart(ctx); err != nil {
				s.log.Error("store: embedded nats server restart failed; will retry", "retry_in", backoff, "err", err)
				retryAt = time.Now().Add(backoff)
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			assetsDue = true
		}
		if assetsDue {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.ensureAssets(actx, false)
			cancel()
			if err != nil {
				set(fmt.Errorf("%w: the embedded nats server restarted, its streams not ready yet (%v)", ErrUnavailable, err))
				continue
			}
			assetsDue = false
			backoff, retryAt = time.Second, time.Time{}
			s.log.Info("store: embedded nats server restarted; its streams and buckets are back")
		}
		if low {
			set(fmt.Errorf("%w: the data dir %s has %d bytes free, less than its reserve of %d bytes (--disk-reserve)",
				ErrUnavailable, e.dir, free, e.reserve))
			continue
		}
		set(nil)
		if derr == nil {
			e.raiseStoreLimit(srv)
		}
	}
}

// restart replaces the embedded server with a new one on the same files,
// and waits for the connection to reach it. A failure leaves no server
// running; the next attempt starts one.
func (s *Store) restart(ctx context.Context) error {
	e := s.emb
	e.mu.Lock()
	old := e.srv
	e.srv = nil // InProcessConn refuses until the new server is in
	e.mu.Unlock()
	if old != nil {
		old.Shutdown()
		old.WaitForShutdown()
	}
	srv, err := e.start()
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.srv = srv
	e.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !s.NC.IsConnected() {
		select {
		case <-cctx.Done():
			return fmt.Errorf("reconnect to the new embedded nats server: %w", cctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
