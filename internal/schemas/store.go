package schemas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

// Bucket is the JetStream KV bucket of the Schema Registry: registries,
// schemas and their versions, discoverers, resource policies and code
// bindings, every key starting with its kind, account and region. It is
// part of the on-disk format.
const Bucket = "switchyard_schemas"

// Keys of the bucket ("<kind>.<account>.<region>.<name>..."), each name
// one token (see tok):
//
//	reg.A.R.<registry>                         registry
//	sch.A.R.<registry>.<schema>                schema: its versions' list, tags
//	ver.A.R.<registry>.<schema>.<unique id>    one version's content
//	dis.A.R.<discoverer id>                    discoverer
//	pol.A.R.<registry or "=">                  resource policy
//	bin.A.R.<registry>.<schema>.<version>.<language>   code binding
const (
	kindRegistry   = "reg"
	kindSchema     = "sch"
	kindVersion    = "ver"
	kindDiscoverer = "dis"
	kindPolicy     = "pol"
	kindBinding    = "bin"
)

// tok encodes a name as one token of a key. KV keys may hold only
// [-/_=.A-Za-z0-9] and '.' separates tokens, while registry and schema
// names also have '@' and '.' ("aws.events@ScheduledEvent"): every other
// byte becomes "=XX" (hex). The empty name is "=".
func tok(name string) string {
	if name == "" {
		return "="
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}

// untok reverses tok.
func untok(t string) string {
	if t == "=" {
		return ""
	}
	if !strings.Contains(t, "=") {
		return t
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] == '=' && i+2 < len(t) {
			var c byte
			_, _ = fmt.Sscanf(t[i+1:i+3], "%02X", &c)
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(t[i])
	}
	return b.String()
}

func key(kind string, sc control.Scope, names ...string) string {
	parts := make([]string, 0, 3+len(names))
	parts = append(parts, kind, sc.Account, sc.Region)
	for _, n := range names {
		parts = append(parts, tok(n))
	}
	return strings.Join(parts, ".")
}

// Registry is a schema registry.
type Registry struct {
	Name        string
	Description string            `json:",omitempty"`
	Tags        map[string]string `json:",omitempty"`
	Created     time.Time
}

// Schema is a schema with its versions (their contents are stored apart).
type Schema struct {
	Registry    string
	Name        string
	Description string            `json:",omitempty"`
	Tags        map[string]string `json:",omitempty"`
	// Last is the number of the last version made; numbers are never
	// reused, even after that version is deleted.
	Last         int
	Versions     []Version
	LastModified time.Time
}

// Version is one version of a schema.
type Version struct {
	Number  int
	Type    string
	Created time.Time
	// Content is the key of the version's content. It is unique to the
	// write (a version number is taken by the schema's compare-and-swap,
	// after the content is stored), so two writers racing for a number
	// never overwrite each other's content.
	Content string
	// ClientToken is the ClientTokenId of the UpdateSchema that made the
	// version: the SDKs fill it in, and a retry with the same one makes no
	// second version.
	ClientToken string `json:",omitempty"`
}

// latest is the schema's newest version.
func (s *Schema) latest() *Version {
	if len(s.Versions) == 0 {
		return nil
	}
	return &s.Versions[len(s.Versions)-1]
}

// version finds a version by its number as the API spells it ("" is the
// latest).
func (s *Schema) version(v string) *Version {
	if v == "" {
		return s.latest()
	}
	for i := range s.Versions {
		if fmt.Sprint(s.Versions[i].Number) == v {
			return &s.Versions[i]
		}
	}
	return nil
}

// Discoverer discovers the schemas of the events on one bus.
type Discoverer struct {
	ID           string
	SourceArn    string
	Description  string `json:",omitempty"`
	State        string
	CrossAccount bool
	Tags         map[string]string `json:",omitempty"`
}

// Policy is a registry's resource policy.
type Policy struct {
	Policy     json.RawMessage
	RevisionID string
}

// Binding is a generated code binding of one schema version.
type Binding struct {
	Status       string
	Created      time.Time
	LastModified time.Time
	Zip          []byte `json:",omitempty"`
	Error        string `json:",omitempty"`
}

// db is the bucket.
type db struct{ kv jetstream.KeyValue }

// openBucket creates or updates the bucket.
func openBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := store.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Switchyard Schema Registry: registries, schemas and versions, discoverers, policies, code bindings",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
		// A version's content may be 100,000 characters; a binding's zip
		// somewhat more.
		MaxValueSize: 4 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("schemas bucket: %w", err)
	}
	return kv, nil
}

// get reads key into v, returning its revision; 0 and no error when it
// does not exist.
func (d *db) get(ctx context.Context, k string, v any) (uint64, error) {
	e, err := d.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", k, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", k, err)
	}
	return e.Revision(), nil
}

// getRaw reads key's bytes; nil when it does not exist.
func (d *db) getRaw(ctx context.Context, k string) ([]byte, error) {
	e, err := d.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k, err)
	}
	return e.Value(), nil
}

// swap writes v under k if k is still at rev (0: does not exist).
func (d *db) swap(ctx context.Context, k string, v any, rev uint64) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", k, err)
	}
	return store.Swap(ctx, d.kv, k, data, rev)
}

func (d *db) put(ctx context.Context, k string, data []byte) error {
	if _, err := d.kv.Put(ctx, k, data); err != nil {
		return fmt.Errorf("write %s: %w", k, err)
	}
	return nil
}

func (d *db) delete(ctx context.Context, k string) error {
	if err := d.kv.Delete(ctx, k); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	return nil
}

// entry is one key of a listing with its value.
type entry struct {
	Key   string
	Value []byte
}

// list returns the keys matching filter (a subject filter: "sch.A.R.x.*")
// with their values, in key order.
func (d *db) list(ctx context.Context, filter string) ([]entry, error) {
	w, err := d.kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", filter, err)
	}
	defer func() { _ = w.Stop() }()
	var out []entry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("list %s: watcher closed", filter)
			}
			if e == nil {
				slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.Key, b.Key) })
				return out, nil
			}
			out = append(out, entry{e.Key(), e.Value()})
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// keys returns the keys matching filter.
func (d *db) keys(ctx context.Context, filter string) ([]string, error) {
	l, err := d.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", filter, err)
	}
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	return out, nil
}
