package webhooks

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
)

func newBox(t *testing.T) *secretbox.Box {
	t.Helper()
	b, err := secretbox.Parse(secretbox.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runRegistry(t *testing.T, st *store.Store, box *secretbox.Box) *Registry {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := OpenRegistry(context.Background(), st.JS, 1, box, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan struct{})
	go func() { _ = reg.Run(ctx, func() { close(ready) }) }()
	<-ready
	return reg
}

// A definition put through one registry is seen, secret opened, by another
// on the same bucket (another process); the bucket holds the secret only
// sealed; a key rotation seals it again under the new key, after which the
// old key is no longer needed.
func TestRegistrySharedAndResealed(t *testing.T) {
	st, _ := controltest.Open(t, store.Config{})
	oldKey, newKey := newBox(t), newBox(t)
	a := runRegistry(t, st, oldKey)
	ctx := context.Background()
	d := &Definition{Name: "gh", Provider: "github", Account: "111122223333", Region: "us-east-1", EventBusName: "default",
		Secret: []byte("top-secret"), Origin: OriginAPI, CreationTime: time.Now()}
	if err := a.put(ctx, d, 0); err != nil {
		t.Fatal(err)
	}
	e, err := a.kv.Get(ctx, "gh")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value()) == "" || bytes.Contains(e.Value(), []byte("top-secret")) {
		t.Fatalf("stored record holds the secret in the clear: %s", e.Value())
	}

	b := runRegistry(t, st, oldKey)
	if got := b.Lookup("gh"); got == nil || string(got.Secret) != "top-secret" {
		t.Fatalf("the other registry sees %+v", got)
	}

	rotating := runRegistry(t, st, newKey.WithPrevious(oldKey))
	n, err := rotating.Reseal(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Reseal: %d %v", n, err)
	}
	if n, err := rotating.Reseal(ctx); err != nil || n != 0 {
		t.Errorf("second Reseal: %d %v, want nothing left", n, err)
	}
	after := runRegistry(t, st, newKey)
	if got := after.Lookup("gh"); got == nil || string(got.Secret) != "top-secret" {
		t.Errorf("with the new key alone: %+v", got)
	}
	if err := b.waitRev(ctx, after.rev); err != nil {
		t.Fatal(err)
	}
	if got := b.Lookup("gh"); got != nil {
		t.Errorf("a registry with only the old key still opens the resealed secret: %+v", got)
	}
}
