package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
)

// Bucket names.
const (
	DefinitionsBucket = "switchyard_webhooks"
	DeliveriesBucket  = "switchyard_webhook_deliveries"
)

// DedupTTL is how long a delivery id is remembered: past Stripe's three
// days of retries ("Stripe attempts to deliver a given event for up to
// three days", Stripe docs, "Retry behavior"), Shopify's 48 hours and
// GitHub's manual redeliveries of the last three days.
const DedupTTL = 7 * 24 * time.Hour

// Registry holds the webhook definitions in force: the API's, from the
// definitions bucket (watched, so every process sees every change), and
// the file's. A file definition wins over an API one of the same name.
type Registry struct {
	kv      jetstream.KeyValue
	secrets *secretbox.Box // nil: API definitions cannot hold secrets
	log     *slog.Logger

	mu  sync.RWMutex
	api map[string]*Definition
	rev uint64
	// changed is closed and replaced whenever rev advances.
	changed chan struct{}

	file atomic.Pointer[map[string]*Definition]
}

// OpenRegistry makes sure the definitions bucket exists and returns its
// registry; Run fills it.
func OpenRegistry(ctx context.Context, js jetstream.JetStream, replicas int, secrets *secretbox.Box, log *slog.Logger) (*Registry, error) {
	kv, err := store.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      DefinitionsBucket,
		Description: "Switchyard inbound webhooks defined through the API (secrets sealed)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks bucket: %w", err)
	}
	r := &Registry{kv: kv, secrets: secrets, log: log, api: make(map[string]*Definition), changed: make(chan struct{})}
	empty := map[string]*Definition{}
	r.file.Store(&empty)
	return r, nil
}

// Run watches the definitions bucket until ctx ends, calling ready once
// its contents are applied; a watch that ends is made again.
func (r *Registry) Run(ctx context.Context, ready func()) error {
	for {
		err := r.watch(ctx, &ready)
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("webhooks: definitions watch interrupted; watching again", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (r *Registry) watch(ctx context.Context, ready *func()) error {
	var opts []jetstream.WatchOpt
	r.mu.RLock()
	rev := r.rev
	r.mu.RUnlock()
	if rev > 0 {
		opts = append(opts, jetstream.ResumeFromRevision(rev+1))
	}
	w, err := r.kv.WatchAll(ctx, opts...)
	if err != nil {
		return fmt.Errorf("watch webhooks bucket: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("webhooks bucket watch ended")
			}
			if e == nil {
				if *ready != nil {
					(*ready)()
					*ready = nil
				}
				continue
			}
			r.apply(e)
		}
	}
}

func (r *Registry) apply(e jetstream.KeyValueEntry) {
	r.mu.Lock()
	defer func() {
		r.rev = max(r.rev, e.Revision())
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}()
	name := store.Untoken(e.Key())
	if e.Operation() != jetstream.KeyValuePut {
		delete(r.api, name)
		return
	}
	var d Definition
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		r.log.Error("webhooks: undecodable definition", "webhook", name, "err", err)
		return
	}
	d.Origin = OriginAPI
	if r.secrets == nil {
		r.log.Error("webhooks: definition not loaded: no secrets key to open its secret (--secrets-key-file)", "webhook", name)
		delete(r.api, name)
		return
	}
	secret, err := r.secrets.Open(d.SealedSecret, sealAAD(name))
	if err != nil {
		r.log.Error("webhooks: definition not loaded: its secret does not open", "webhook", name, "err", err)
		delete(r.api, name)
		return
	}
	d.Secret = secret
	r.api[name] = &d
}

// waitRev blocks until the registry has applied revision rev.
func (r *Registry) waitRev(ctx context.Context, rev uint64) error {
	for {
		r.mu.RLock()
		cur, ch := r.rev, r.changed
		r.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sealAAD binds a sealed secret to its webhook: a sealed value copied to
// another definition does not open.
func sealAAD(name string) []byte { return []byte("webhook:" + name) }

// SetFile replaces the file's definitions.
func (r *Registry) SetFile(defs map[string]*Definition) { r.file.Store(&defs) }

// Lookup returns the definition named name, or nil.
func (r *Registry) Lookup(name string) *Definition {
	if d := (*r.file.Load())[name]; d != nil {
		return d
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.api[name]
}

// List returns every definition whose scope ok accepts, by name.
func (r *Registry) List(ok func(*Definition) bool) []*Definition {
	var out []*Definition
	seen := map[string]bool{}
	for name, d := range *r.file.Load() {
		seen[name] = true
		if ok(d) {
			out = append(out, d)
		}
	}
	r.mu.RLock()
	for name, d := range r.api {
		if !seen[name] && ok(d) {
			out = append(out, d)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var (
	errNoSecretsKey = errors.New("no secrets key")
	errConflict     = errors.New("concurrent modification")
)

// put stores an API definition, sealing its secret, created (rev 0) or
// replacing revision rev; it returns once this registry has applied it.
func (r *Registry) put(ctx context.Context, d *Definition, rev uint64) error {
	if r.secrets == nil {
		return errNoSecretsKey
	}
	rec := *d
	rec.SealedSecret = r.secrets.Seal(d.Secret, sealAAD(d.Name))
	data, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	nrev, err := store.Swap(ctx, r.kv, store.Token(d.Name), data, rev)
	if store.IsConflict(err) {
		return errConflict
	}
	if err != nil {
		return fmt.Errorf("store webhook %s: %w", d.Name, err)
	}
	return r.waitRev(ctx, nrev)
}

// current returns the stored API definition and its revision (0 if none).
func (r *Registry) current(ctx context.Context, name string) (*Definition, uint64, error) {
	e, err := r.kv.Get(ctx, store.Token(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read webhook %s: %w", name, err)
	}
	var d Definition
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return nil, 0, fmt.Errorf("decode webhook %s: %w", name, err)
	}
	return &d, e.Revision(), nil
}

// remove deletes an API definition at revision rev.
func (r *Registry) remove(ctx context.Context, name string, rev uint64) error {
	err := r.kv.Delete(ctx, store.Token(name), jetstream.LastRevision(rev))
	if store.IsConflict(err) {
		return errConflict
	}
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", name, err)
	}
	st, err := r.kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("webhooks bucket status: %w", err)
	}
	return r.waitRev(ctx, st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq)
}

// Reseal seals again, under the current secrets key, every API
// definition's secret sealed under a previous one: the webhooks' part of
// a key rotation (--secrets-previous-key-file), as connections have
// theirs (control.Service.ResealSecrets). It returns how many it sealed
// again.
func (r *Registry) Reseal(ctx context.Context) (int, error) {
	if r.secrets == nil {
		return 0, nil
	}
	keys, err := r.kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("list webhooks: %w", err)
	}
	var names []string
	for k := range keys.Keys() {
		names = append(names, store.Untoken(k))
	}
	n := 0
	for _, name := range names {
		for attempt := 0; ; attempt++ {
			cur, rev, err := r.current(ctx, name)
			if err != nil {
				return n, err
			}
			if cur == nil || sealedKeyID(cur.SealedSecret) == r.secrets.KeyID() {
				break
			}
			plain, err := r.secrets.Open(cur.SealedSecret, sealAAD(name))
			if err != nil {
				return n, fmt.Errorf("webhook %s: %w", name, err)
			}
			cur.Secret = plain
			err = r.put(ctx, cur, rev)
			if errors.Is(err, errConflict) && attempt < 20 {
				continue
			}
			if err != nil {
				return n, err
			}
			n++
			break
		}
	}
	return n, nil
}

// sealedKeyID is the id of the key a sealed value was sealed with
// ("<version>:<kid>:<data>", package secretbox).
func sealedKeyID(sealed string) string {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}
