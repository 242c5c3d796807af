package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embedded is the in-process nats-server and what is needed to replace it.
//
// nats-server keeps a stream's first write error (ENOSPC, EIO, ...) for
// good: the stream's file store refuses every later write with it, and the
// stream sends no acknowledgement for a message it failed to store, until
// the stream is loaded again — in practice, until the server restarts. A
// permission error, or running out of space while sourcing, shuts JetStream
// down altogether. Restarting the embedded server once the disk has room
// again (Store.supervise) is how Switchyard gets over a full disk without
// a process restart; the client connection is made through embedded as an
// in-process connection provider, so it reconnects to each new server by
// itself.
type embedded struct {
	dir      string // the data directory
	storeDir string // JetStream's files, under dir
	opts     *server.Options
	reserve  int64 // free bytes to keep on the filesystem (0: no guard)
	log      *slog.Logger
	lock     *os.File // holds the data-dir lock while open

	mu  sync.Mutex
	srv *server.Server // nil while being replaced
	// maxStore is the JetStream file storage limit srv runs with.
	maxStore int64
}

var errRestarting = errors.New("embedded nats server is restarting")

// InProcessConn connects to the current server (nats.InProcessServer).
func (e *embedded) InProcessConn() (net.Conn, error) {
	e.mu.Lock()
	srv := e.srv
	e.mu.Unlock()
	if srv == nil {
		return nil, errRestarting
	}
	return srv.InProcessConn()
}

func (e *embedded) server() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

func newEmbedded(cfg Config, log *slog.Logger) (*embedded, error) {
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	e := &embedded{dir: dir, storeDir: filepath.Join(dir, "jetstream"), log: log}
	if e.lock, err = prepareDataDir(dir, e.storeDir, cfg.Listen); err != nil {
		return nil, err
	}
	e.reserve = cfg.DiskReserve
	if e.reserve == 0 {
		e.reserve = DefaultDiskReserve
		if _, size, err := diskSpace(dir); err == nil {
			e.reserve = min(e.reserve, size/20)
		}
	}
	e.reserve = max(e.reserve, 0)
	e.opts = &server.Options{
		ServerName: "switchyard",
		DontListen: true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   e.storeDir,
		NoLog:      true, // logged through natsLogger instead
		// Large PutEvents batches and delivery tasks carry whole events.
		MaxPayload: 8 << 20,
	}
	if cfg.Sync <= 0 {
		e.opts.SyncAlways = true
	} else {
		e.opts.SyncInterval = cfg.Sync
	}
	return e, nil
}

// DefaultDiskReserve is the free space the embedded store keeps on its
// filesystem unless told otherwise (at most a twentieth of the filesystem).
const DefaultDiskReserve = 256 << 20

// start starts a server on the data directory and waits until it serves,
// or fails: a failure nats-server reports as fatal (JetStream cannot
// start) ends the wait at once with nats-server's reason.
func (e *embedded) start() (*server.Server, error) {
	opts := e.opts.Clone()
	opts.JetStreamMaxStore = e.storeLimit(-1)
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	lg := &natsLogger{log: e.log, fatal: make(chan string, 1)}
	srv.SetLogger(lg, false, false)
	srv.Start()
	fail := func(err error) (*server.Server, error) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for !srv.ReadyForConnections(100 * time.Millisecond) {
		select {
		case msg := <-lg.fatal:
			return fail(fmt.Errorf("embedded nats on %s: %s", e.storeDir, msg))
		default:
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("embedded nats on %s: not ready after 30s", e.storeDir))
		}
	}
	select {
	case msg := <-lg.fatal:
		return fail(fmt.Errorf("embedded nats on %s: %s", e.storeDir, msg))
	default:
	}
	if !srv.JetStreamEnabled() {
		return fail(fmt.Errorf("embedded nats on %s: JetStream did not start", e.storeDir))
	}
	e.mu.Lock()
	e.maxStore = opts.JetStreamMaxStore
	e.mu.Unlock()
	return srv, nil
}

// storeLimit is the JetStream file storage limit for the disk as it is now:
// what the store holds plus half of the free space beyond the reserve, so
// that JetStream refuses writes — cleanly, with a retryable "insufficient
// resources" — well before the filesystem is full. Half, because a
// stream's files take more room than the message bytes JetStream counts
// (record framing, indexes, space of removed messages not yet reclaimed).
// used is the bytes JetStream counts as stored, or -1 to measure the files.
// 0 leaves nats-server's own default (three quarters of the free space).
func (e *embedded) storeLimit(used int64) int64 {
	free, _, err := diskSpace(e.storeDir)
	if err != nil {
		return 0
	}
	if used < 0 {
		used = dirSize(e.storeDir)
	}
	return max(used+max(free-e.reserve, 0)/2, 1<<20)
}

// raiseStoreLimit raises the running server's storage limit when the disk
// has gained room since it was set (space freed by an operator, or stored
// messages removed): a limit computed on a nearly full disk would
// otherwise refuse writes for good. nats-server can raise the limit of a
// running server (a config reload), not lower it; lowering waits for the
// next start.
func (e *embedded) raiseStoreLimit(srv *server.Server) {
	info, err := srv.Jsz(nil)
	if err != nil {
		return
	}
	want := e.storeLimit(int64(info.Store))
	e.mu.Lock()
	cur := e.maxStore
	e.mu.Unlock()
	if cur <= 0 || want < cur+max(cur/10, 16<<20) {
		return
	}
	opts := e.opts.Clone()
	opts.JetStreamMaxStore = want
	if err := srv.ReloadOptions(opts); err != nil {
		e.log.Warn("store: could not raise the embedded JetStream storage limit", "from", cur, "to", want, "err", err)
		return
	}
	e.mu.Lock()
	e.maxStore = want
	e.mu.Unlock()
	e.log.Info("store: embedded JetStream storage limit raised, the disk having room again", "from_bytes", cur, "to_bytes", want)
}

// writeFailure reports why srv can no longer store, if it cannot: JetStream
// shut down, or a stream holding a write error (see embedded).
func writeFailure(srv *server.Server) error {
	if srv == nil {
		return errRestarting
	}
	if !srv.JetStreamEnabled() {
		return errors.New("JetStream is disabled (nats-server shuts it down on some storage errors)")
	}
	h := srv.Healthz(&server.HealthzOptions{Details: true})
	for _, he := range h.Errors {
		switch {
		case he.Type == server.HealthzErrorJetStream:
			return errors.New(he.Error)
		case he.Type == server.HealthzErrorStream && strings.Contains(he.Error, "write error"):
			return errors.New(he.Error)
		}
	}
	return nil
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// natsLogger passes the embedded server's log to slog: its warnings and
// errors (a failed write, a stream it could not recover) are Switchyard's
// to report. Its notices are chatty start-up detail, logged at debug. A
// fatal error does not exit: it is handed to start, which fails with it.
type natsLogger struct {
	log   *slog.Logger
	fatal chan string
}

func (l *natsLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l *natsLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats: " + fmt.Sprintf(format, v...))
}
func (l *natsLogger) Errorf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error("nats: " + msg)
	select {
	case l.fatal <- msg:
	default:
	}
}
func (l *natsLogger) Debugf(string, ...any) {}
func (l *natsLogger) Tracef(string, ...any) {}
