// Package controltest runs a control plane on an embedded store for the
// tests of the packages above it. Tests only.
package controltest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

// Open opens an embedded store with cfg (in a temporary directory unless
// cfg.DataDir says otherwise; logging nowhere unless cfg.Logger is set),
// runs a view of its control bucket and returns the store and a control
// service with the default limits over it. Both end with the test.
func Open(t testing.TB, cfg store.Config) (*store.Store, *control.Service) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	view := control.NewView(st.Control, cfg.Logger)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan struct{})
	go func() { _ = view.Run(ctx, func() { close(ready) }) }()
	<-ready
	return st, control.NewService(st.Control, view, control.DefaultLimits(), cfg.Logger)
}
