package control_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// breakingKV is the real control bucket whose first watch ends after it has
// delivered the initial contents, as a watch does when its connection or
// its stream's leader goes away.
type breakingKV struct {
	jetstream.KeyValue
	watches atomic.Int32
}

func (b *breakingKV) WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	w, err := b.KeyValue.WatchAll(ctx, opts...)
	if err != nil || b.watches.Add(1) > 1 {
		return w, err
	}
	return &endingWatcher{KeyWatcher: w, out: make(chan jetstream.KeyValueEntry)}, nil
}

type endingWatcher struct {
	jetstream.KeyWatcher
	out chan jetstream.KeyValueEntry
}

func (e *endingWatcher) Updates() <-chan jetstream.KeyValueEntry {
	go func() {
		for u := range e.KeyWatcher.Updates() {
			e.out <- u
			if u == nil { // initial contents delivered: the watch ends
				close(e.out)
				return
			}
		}
	}()
	return e.out
}

// A watch that ends is made again from after the last revision applied:
// the changes made after it ended reach the view, and the earlier ones are
// not applied twice.
func TestViewWatchesAgainAfterItEnds(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Sync: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	if _, err := st.Control.Put(ctx, "bus.123456789012.us-east-1.before", []byte(`{"Name":"before"}`)); err != nil {
		t.Fatal(err)
	}
	kv := &breakingKV{KeyValue: st.Control}
	view := control.NewView(kv, quiet)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- view.Run(runCtx, func() { close(ready) }) }()
	<-ready
	if b, _ := view.Bus(sc, "before"); b == nil {
		t.Fatal("the initial contents were not applied")
	}
	rev, err := st.Control.Put(ctx, "bus.123456789012.us-east-1.after", []byte(`{"Name":"after"}`))
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := view.WaitRev(wctx, rev); err != nil {
		t.Fatalf("the view never reached revision %d after its watch ended (watches made: %d): %v", rev, kv.watches.Load(), err)
	}
	if b, _ := view.Bus(sc, "after"); b == nil {
		t.Fatal("the bus created after the watch ended is not in the view")
	}
	if n := kv.watches.Load(); n < 2 {
		t.Fatalf("watches made = %d, want a second one", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil once its context ends", err)
	}
}

// The view survives a restart of the NATS server it watches through: once
// the connection is back, a bus created after the restart is seen.
func TestViewSurvivesNATSRestart(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	start := func() *server.Server {
		srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats-server not ready")
		}
		return srv
	}
	srv := start()
	defer func() { srv.Shutdown() }()

	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: srv.ClientURL(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	view := control.NewView(st.Control, quiet)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	go func() { _ = view.Run(runCtx, func() { close(ready) }) }()
	<-ready
	svc := control.NewService(st.Control, view, control.DefaultLimits(), quiet)
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}

	srv.Shutdown()
	srv.WaitForShutdown()
	srv = start()

	deadline := time.Now().Add(20 * time.Second)
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := svc.CreateEventBus(cctx, sc, control.BusInput{Name: "after-restart"})
		ccancel()
		if ae, ok := awserr.As(err); err == nil || ok && ae.Code == awserr.CodeResourceAlreadyExists {
			break // an earlier try was stored although its answer was lost
		}
		if time.Now().After(deadline) {
			t.Fatalf("CreateEventBus after the NATS restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for b, _ := view.Bus(sc, "after-restart"); b == nil; b, _ = view.Bus(sc, "after-restart") {
		if time.Now().After(deadline) {
			t.Fatal("the bus created after the NATS restart never reached the view")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
