package archive

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

type env struct {
	st  *store.Store
	ctl *control.Service
	log *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, ctl := controltest.Open(t, store.Config{Sync: time.Second, Logger: log})
	ctl.ArchiveStorage = &Storage{JS: st.JS, Log: log}
	return &env{st, ctl, log}
}

func (e *env) archive(t *testing.T, days int32) *control.Archive {
	t.Helper()
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	if err := e.ctl.EnsureDefaultBus(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	a, err := e.ctl.CreateArchive(context.Background(), sc, control.ArchiveInput{Name: "a",
		EventSourceArn: control.BusARN(sc, "default"), RetentionDays: &days})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// put stores an archive message of n events, as the router does.
func (e *env) put(t *testing.T, a *control.Archive, id string, n int) {
	t.Helper()
	evs := make([]ingest.Event, n)
	for i := range evs {
		evs[i] = ingest.Event{ID: id, Envelope: []byte(`{"id":"x","time":"2026-01-01T00:00:00Z","detail":{}}`)}
	}
	if _, err := e.st.JS.PublishMsg(context.Background(), Msg(a.UUID, id, evs)); err != nil {
		t.Fatal(err)
	}
}

func (e *env) count(t *testing.T, a *control.Archive) int64 {
	t.Helper()
	n, _, err := e.ctl.ArchiveStorage.Stats(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Retention follows the sweeper's clock, not the server's: events archived
// more than RetentionDays before "now" disappear, and EventCount follows.
func TestRetentionWithInjectedClock(t *testing.T) {
	e := newEnv(t)
	a := e.archive(t, 1)
	e.put(t, a, "m1", 10)
	e.put(t, a, "m2", 3)
	time.Sleep(50 * time.Millisecond)
	mid := time.Now()
	time.Sleep(50 * time.Millisecond)
	e.put(t, a, "m3", 7)
	e.put(t, a, "m1", 10) // a redelivered router message: stored once
	if n := e.count(t, a); n != 20 {
		t.Fatalf("EventCount %d, want 20", n)
	}
	now := time.Now()
	sw := &Sweeper{JS: e.st.JS, View: e.ctl.View(), Log: e.log, Now: func() time.Time { return now }}
	sw.Sweep(context.Background())
	if n := e.count(t, a); n != 20 {
		t.Fatalf("nothing is a day old yet: EventCount %d, want 20", n)
	}
	now = mid.Add(24 * time.Hour)
	sw.Sweep(context.Background())
	if n := e.count(t, a); n != 7 {
		t.Fatalf("after the first two expired: EventCount %d, want 7", n)
	}
	now = now.Add(time.Hour)
	sw.Sweep(context.Background())
	if n := e.count(t, a); n != 0 {
		t.Fatalf("after all expired: EventCount %d, want 0", n)
	}
}

// RetentionDays 0 keeps events forever.
func TestRetentionZeroKeepsEverything(t *testing.T) {
	e := newEnv(t)
	a := e.archive(t, 0)
	e.put(t, a, "m1", 4)
	far := time.Now().Add(1000 * 24 * time.Hour)
	(&Sweeper{JS: e.st.JS, View: e.ctl.View(), Log: e.log, Now: func() time.Time { return far }}).Sweep(context.Background())
	if n := e.count(t, a); n != 4 {
		t.Fatalf("EventCount %d, want 4", n)
	}
}

func TestEventTime(t *testing.T) {
	env := ingest.Envelope("id", `a","time":"1999-01-01T00:00:00Z`, "src", control.Scope{Account: "1", Region: "r"},
		time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), nil, []byte(`{"time":"2000-01-01T00:00:00Z"}`))
	got, ok := eventTime(env)
	if !ok || !got.Equal(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Fatalf("eventTime = %v, %v", got, ok)
	}
	got, ok = eventTime([]byte(`{"detail":{},"time":"2026-01-01T00:00:01Z"}`))
	if !ok || got.Second() != 1 {
		t.Fatalf("eventTime of another member order = %v, %v", got, ok)
	}
}
