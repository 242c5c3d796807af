package auth

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/sigv4"
)

// Store holds the keys of a credentials file and reloads them, without a
// restart, on SIGHUP and when the file changes (see Watch). A file that
// does not load keeps the keys already loaded. Each process reads its own
// file: nothing here is shared between processes.
type Store struct {
	path string
	log  *slog.Logger
	keys atomic.Pointer[map[string]sigv4.Key]

	mu   sync.Mutex
	seen fileStamp // of the file last loaded
}

// OpenStore loads the credentials file at path. An error here is the
// file's fault and should stop the server from starting.
func OpenStore(path string, log *slog.Logger) (*Store, error) {
	s := &Store{path: path, log: log}
	st, n, err := s.load()
	if err != nil {
		return nil, err
	}
	s.seen = st
	s.log.Info("auth: credentials loaded", "file", path, "keys", n)
	return s, nil
}

// Lookup is sigv4.Credentials: the key with that id, its Owner the
// *Entry it came from.
func (s *Store) Lookup(id string) (sigv4.Key, bool) {
	k, ok := (*s.keys.Load())[id]
	return k, ok
}

// load reads and parses the file and, if it is good, makes its keys the
// ones in force.
func (s *Store) load() (fileStamp, int, error) {
	st, err := stampOf(s.path)
	if err != nil {
		return st, 0, fmt.Errorf("credentials file: %w", err)
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return st, 0, fmt.Errorf("credentials file: %w", err)
	}
	entries, err := ParseFile(data)
	if err != nil {
		return st, 0, fmt.Errorf("credentials file %s: %w", s.path, err)
	}
	keys := make(map[string]sigv4.Key, len(entries))
	for i := range entries {
		e := &entries[i]
		keys[e.AccessKeyID] = sigv4.Key{AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey,
			SessionToken: e.SessionToken, Expiration: e.Expiration, Owner: e}
	}
	if st.mode&0o077 != 0 {
		s.log.Warn("auth: the credentials file holds secrets but others may read it; chmod 600 it", "file", s.path, "mode", st.mode.String())
	}
	if len(keys) == 0 {
		s.log.Warn("auth: the credentials file names no keys: every request will be refused", "file", s.path)
	}
	s.keys.Store(&keys)
	return st, len(keys), nil
}

// Reload loads the file again now. On error the keys in force stay.
func (s *Store) Reload() error {
	st, n, err := s.load()
	if err != nil {
		s.log.Error("auth: credentials file not reloaded; the keys loaded before stay in force", "file", s.path, "err", err)
		return err
	}
	s.setSeen(st)
	s.log.Info("auth: credentials reloaded", "file", s.path, "keys", n)
	return nil
}

// Watch reloads the file on SIGHUP and whenever its modification time,
// size or inode changes (checked every poll; a second if 0), until ctx
// ends. Replacing the file by a rename, as editors and configuration
// tools do, is a change too.
func (s *Store) Watch(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s.watch(ctx, poll, hup)
}

// watch is Watch with the SIGHUPs coming from hup.
func (s *Store) watch(ctx context.Context, poll time.Duration, hup <-chan os.Signal) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	failed := fileStamp{} // a stamp whose load failed, not retried until it changes
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			s.log.Info("auth: SIGHUP, reloading the credentials file", "file", s.path)
			_ = s.Reload()
		case <-tick.C:
			st, err := stampOf(s.path)
			if err != nil || st == s.lastSeen() || st == failed {
				continue // a file briefly missing mid-replace is not a change
			}
			if s.Reload() != nil {
				failed = st
			}
		}
	}
}

func (s *Store) setSeen(st fileStamp) {
	s.mu.Lock()
	s.seen = st
	s.mu.Unlock()
}

func (s *Store) lastSeen() fileStamp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen
}

// fileStamp tells one version of a file from another.
type fileStamp struct {
	mtime int64 // ns
	size  int64
	ino   uint64
	mode  os.FileMode
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	st := fileStamp{mtime: fi.ModTime().UnixNano(), size: fi.Size(), mode: fi.Mode().Perm()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st, nil
}

// Organization is the AWS organization the credentials file gives
// account (on any of its keys), or "": the aws:PrincipalOrgID of what a
// rule of that account sends to another account's bus.
func (s *Store) Organization(account string) string {
	for _, k := range *s.keys.Load() {
		if e, ok := k.Owner.(*Entry); ok && e.Account == account && e.OrgID != "" {
			return e.OrgID
		}
	}
	return ""
}
