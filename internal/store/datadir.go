package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LockFile is the file in the data directory that the embedded store holds
// an exclusive flock(2) on while it runs. Two nats-servers on one JetStream
// directory corrupt each other's files, so a second process must refuse to
// start; a lock (not a PID file) is released by the kernel when its holder
// dies, even by kill -9, so a crash never leaves a stale lock behind. The
// file's content only describes the holder, for the refusal's message.
const LockFile = "switchyard.lock"

// holder describes the process holding the data directory.
type holder struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Listen  string    `json:"listen,omitempty"`
	Host    string    `json:"host,omitempty"`
}

func (h holder) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d", h.PID)
	if h.Host != "" {
		fmt.Fprintf(&b, " on %s", h.Host)
	}
	if !h.Started.IsZero() {
		fmt.Fprintf(&b, ", started %s", h.Started.UTC().Format(time.RFC3339))
	}
	if h.Listen != "" {
		fmt.Fprintf(&b, ", serving %s", h.Listen)
	}
	return b.String()
}

// ErrDataDirLocked is wrapped by the error Open returns when another
// process holds the data directory.
var ErrDataDirLocked = errors.New("lock held")

// prepareDataDir makes dir usable by the embedded store, or says at once
// why it is not: it creates dir and the JetStream directory, proves both
// writable (a probe file created, written, fsynced and removed: a read-only
// mount, a full disk or missing permissions fail here with the OS's own
// error, instead of nats-server failing silently and the start-up timing
// out), and takes the data-dir lock. The returned file holds the lock until
// closed.
func prepareDataDir(dir, storeDir, listen string) (*os.File, error) {
	for _, d := range []string{dir, storeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("data dir %s cannot be created: %w", dir, err)
		}
		if err := probeWritable(d); err != nil {
			return nil, fmt.Errorf("data dir %s is not writable: %w", dir, err)
		}
	}
	return lockDataDir(dir, listen)
}

// probeWritable creates, writes, fsyncs and removes a small file in dir.
func probeWritable(dir string) error {
	name := filepath.Join(dir, ".switchyard-probe-"+strconv.Itoa(os.Getpid()))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(make([]byte, 4096))
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	rerr := os.Remove(name)
	return errors.Join(werr, cerr, rerr)
}

// lockDataDir takes the exclusive lock on dir's LockFile without waiting,
// and records this process in it.
func lockDataDir(dir, listen string) (*os.File, error) {
	name := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: lock file: %w", dir, err)
	}
	if err := flock(f); err != nil {
		defer f.Close()
		if !errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("data dir %s: lock %s: %w", dir, name, err)
		}
		var h holder
		who := "another process"
		if b, rerr := os.ReadFile(name); rerr == nil && json.Unmarshal(b, &h) == nil && h.PID > 0 {
			who = "another switchyard process (" + h.String() + ")"
		}
		return nil, fmt.Errorf("data dir %s is in use by %s; stop it, or give this process another --data-dir (%w: %s)",
			dir, who, ErrDataDirLocked, name)
	}
	writeHolder(f, listen)
	return f, nil
}

// started is when this process started, as the lock file records it.
var started = time.Now().UTC().Truncate(time.Second)

// writeHolder records this process in the lock file f. It is best effort:
// the lock, not the content, is what keeps another process out.
func writeHolder(f *os.File, listen string) {
	host, _ := os.Hostname()
	b, _ := json.Marshal(holder{PID: os.Getpid(), Started: started, Listen: listen, Host: host})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
}

// Serving records the address the API is served on in the data-dir lock
// file, for the message of a process refused the directory (the address
// configured may have been port 0).
func (s *Store) Serving(addr string) {
	if s.emb != nil {
		writeHolder(s.emb.lock, addr)
	}
}

// redeliverOrphans makes the messages that the data path's consumers had
// delivered but not yet settled when the previous process ended (a crash,
// kill -9) due again at once. With the embedded store this process holds
// the data-dir lock, so no other process can hold any of them; without
// this, each would wait out its consumer's AckWait (a minute for events)
// after every crash. A consumer reset redelivers from its acknowledgement
// floor. On the delivery stream and the peer outbox (work-queue
// retention) what was settled beyond the floor has left the stream; on
// the events stream (interest retention) a message another consumer
// still holds may be matched again, an at-least-once duplicate, as after
// an AckWait.
func (s *Store) redeliverOrphans(ctx context.Context) error {
	for _, st := range []jetstream.Stream{s.Events, s.Deliver, s.Peer} {
		l := st.ListConsumers(ctx)
		var names []string
		for ci := range l.Info() {
			if ci.Config.Durable != "" && ci.NumAckPending > 0 {
				names = append(names, ci.Name)
				s.log.Info("store: redelivering what the previous process left unsettled",
					"stream", ci.Stream, "consumer", ci.Name, "messages", ci.NumAckPending)
			}
		}
		if err := l.Err(); err != nil {
			return fmt.Errorf("list consumers: %w", err)
		}
		for _, name := range names {
			if _, err := st.ResetConsumer(ctx, name); err != nil {
				return fmt.Errorf("reset consumer %s: %w", name, err)
			}
		}
	}
	return nil
}
