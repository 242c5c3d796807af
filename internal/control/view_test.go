package control

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// kvEntry is a control-bucket entry as the watch delivers it.
type kvEntry struct {
	key string
	val []byte
	rev uint64
}

func (e kvEntry) Bucket() string                  { return "control" }
func (e kvEntry) Key() string                     { return e.key }
func (e kvEntry) Value() []byte                   { return e.val }
func (e kvEntry) Revision() uint64                { return e.rev }
func (e kvEntry) Created() time.Time              { return time.Time{} }
func (e kvEntry) Delta() uint64                   { return 0 }
func (e kvEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }

func viewWithRules(t *testing.T, patterns map[string]string) (*View, Scope) {
	t.Helper()
	sc := Scope{Account: "123456789012", Region: "us-east-1"}
	v := NewView(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rev := uint64(0)
	put := func(key string, x any) {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		rev++
		v.apply(kvEntry{key: key, val: b, rev: rev})
	}
	put("bus.123456789012.us-east-1.default", &Bus{Scope: sc, Name: DefaultBus})
	for name, p := range patterns {
		put("rule.123456789012.us-east-1.default."+name, &Rule{Scope: sc, Bus: DefaultBus, Name: name, EventPattern: p})
	}
	return v, sc
}

func ruleNames(rs []*Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestViewMatch(t *testing.T) {
	v, sc := viewWithRules(t, map[string]string{
		"b": `{"source":["app"],"detail":{"n":[{"numeric":[">",37.1]}]}}`,
		"a": `{"detail-type":[{"prefix":"Order"}]}`,
		"c": `{"source":["other"]}`,
	})
	ev := []byte(`{"version":"0","id":"1","detail-type":"OrderCreated","source":"app","account":"123456789012",` +
		`"time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"n":37.12345678901234}}`)
	for name, match := range map[string]func(Scope, string, []byte) ([]*Rule, error){"Match": v.Match, "MatchValid": v.MatchValid} {
		rs, err := match(sc, DefaultBus, ev)
		if err != nil {
			t.Fatal(name, err)
		}
		if got := ruleNames(rs); len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Errorf("%s: %v, want [a b]", name, got)
		}
		if rs, err := match(sc, "nobus", ev); rs != nil || err != nil {
			t.Errorf("%s on a bus the view does not hold: %v, %v", name, rs, err)
		}
	}
	// Match checks the whole event; MatchValid reads only what it needs.
	bad := []byte(`{"source":"app","detail-type":"OrderCreated","detail":{"n":37.2},"x":[}`)
	if _, err := v.Match(sc, DefaultBus, bad); err == nil {
		t.Error("Match accepted a malformed event")
	}
}

func TestViewMatchValidAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	v, sc := viewWithRules(t, map[string]string{"a": `{"detail-type":[{"prefix":"Order"}]}`})
	miss := []byte(`{"detail-type":"Shipped","source":"app","detail":{}}`)
	hit := []byte(`{"detail-type":"OrderCreated","source":"app","detail":{}}`)
	v.MatchValid(sc, DefaultBus, hit)
	if n := testing.AllocsPerRun(200, func() { v.MatchValid(sc, DefaultBus, miss) }); n != 0 {
		t.Errorf("MatchValid without a match: %v allocations, want 0", n)
	}
	// With matches, only the result slice.
	if n := testing.AllocsPerRun(200, func() { v.MatchValid(sc, DefaultBus, hit) }); n > 1 {
		t.Errorf("MatchValid with a match: %v allocations, want at most 1", n)
	}
}
