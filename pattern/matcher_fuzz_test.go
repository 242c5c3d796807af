package pattern

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzMatch feeds arbitrary pattern and event text to Parse and the
// Matcher: nothing may panic, and the Matcher must agree with
// referenceMatch, on the answer and on whether the event is rejected.
func FuzzMatch(f *testing.F) {
	seeds := []struct{ pattern, event string }{
		{`{"a":["x"]}`, `{"a":"x"}`},
		{`{"a":[{"prefix":"x"}],"b":{"c":[1]}}`, `{"a":["xy"],"b":[{"c":1.0},{"c":2}]}`},
		{`{"a":{"b":[1],"c":[4]}}`, `{"a":[{"b":1,"c":2},{"b":3,"c":4}]}`},
		{`{"a":[{"wildcard":"x*y"}]}`, `{"a":"x\u0041y"}`},
		{`{"a":[{"anything-but":{"suffix":"z"}}],"b":[{"exists":false}]}`, `{"a":[null,"az"]}`},
		{`{"a":[{"numeric":[">",0,"<=",5]}]}`, `{"a":[[1e0]]}`},
		{`{"a":[{"equals-ignore-case":"ſ"}]}`, `{"a":"S"}`},
		{`{"a":[{"cidr":"10.0.0.0/24"}]}`, `{"a":"10.0.0.7"}`},
		{`{"$or":[{"a":[1]},{"b":[{"suffix":{"equals-ignore-case":"Q"}}]}]}`, `{"b":"xq"}`},
		{`{"a":["x"]}`, `{"a":"x"`},
		{`{"a":["x"]}`, `[{"a":"x"}]`},
		// Keys holding dots are paths (dotted.go).
		{`{"detail":{"state.status":["running"]}}`, `{"detail":{"state":{"status":"running"}}}`},
		{`{"detail":{"state":{"status":["running"]}}}`, `{"detail":{"state.status":"running"}}`},
		{`{"a..b":[{"exists":false}],"c.d":[{"anything-but":"x"}]}`, `{"a.":{"b":1},"c":[{"d":"y"}],"c.d":"x"}`},
		{`{"$or":[{"a.b":[1]},{"a":{"c":[2]}}]}`, `{"a":{"b":0},"a.c":2}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.pattern), []byte(s.event))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		m := NewMatcher()
		if err := m.Add("p", p); err != nil {
			t.Fatal(err)
		}
		got, err := m.Match(event)
		want, rerr := referenceMatch(p, event)
		if (err != nil) != (rerr != nil) {
			t.Fatalf("pattern %s event %q: Matcher error %v, reference error %v", pattern, event, err, rerr)
		}
		if err == nil && slices.Contains(got, "p") != want {
			t.Fatalf("pattern %s event %q: Matcher %v, reference %v", pattern, event, got, want)
		}
		// The trusting entry point must not panic on anything, and must
		// agree on valid events without duplicate keys or two spellings of
		// one path (where it may stop early by design).
		got2, err2 := m.AppendMatchesValid(nil, event)
		if json.Valid(event) && !hasDuplicateKeys(event) && !hasSpellingCollision(event) && ((err2 != nil) != (err != nil) || !slices.Equal(got2, got)) {
			t.Fatalf("pattern %s event %q: AppendMatchesValid %v %v, AppendMatches %v", pattern, event, got2, err2, got)
		}
		// Removing leaves nothing behind, and an empty matcher matches
		// nothing through either entry point.
		m.Remove("p")
		if r := m.cur.Load(); r.root != nil || len(r.always) != 0 {
			t.Fatalf("pattern %s: automaton not empty after Remove", pattern)
		}
		if got, _ := m.AppendMatchesValid(nil, event); len(got) != 0 {
			t.Fatalf("event %q: an empty matcher matched %v", event, got)
		}
		if got, _ := m.Match(event); len(got) != 0 {
			t.Fatalf("event %q: an empty matcher matched %v", event, got)
		}
	})
}

// hasDuplicateKeys reports whether some object of a valid JSON text holds
// a key twice: json.Unmarshal keeps one of them silently, so its objects
// then hold fewer keys than the text.
func hasDuplicateKeys(event []byte) bool {
	var v any
	if json.Unmarshal(event, &v) != nil {
		return true
	}
	return countKeys(event) != countMapKeys(v)
}

func countMapKeys(v any) int {
	n := 0
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			n += countMapKeys(x)
		}
	case map[string]any:
		n += len(v)
		for _, x := range v {
			n += countMapKeys(x)
		}
	}
	return n
}

func countKeys(event []byte) int {
	s := &evalState{ev: event}
	n := 0
	// A key is a string followed by ':'; scanString handles escapes.
	for i := 0; i < len(event); i++ {
		if event[i] != '"' {
			continue
		}
		end, _, err := s.scanString(i)
		if err != nil {
			return -1
		}
		if j := s.ws(end); j < len(event) && event[j] == ':' {
			n++
		}
		i = end - 1
	}
	return n
}
