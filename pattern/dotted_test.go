package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The conformance file testdata/conformance/dotted.json holds the documented
// cases (EventBridge User Guide, "Considerations when creating event
// patterns"; event-ruler's README, "Compiled rules and JSON keys with dots")
// and their interactions with exists, anything-but, $or and arrays; the
// tests here pin the parsed form and the matcher's internals.

func TestParseSplitsDottedKeys(t *testing.T) {
	for _, c := range []struct {
		src  string
		want [][]string // the paths of the single rule's fields, sorted
	}{
		{`{"detail":{"state.status":["running"]}}`, [][]string{{"detail", "state", "status"}}},
		{`{"detail":{"state":{"status":["running"]}}}`, [][]string{{"detail", "state", "status"}}},
		{`{"a.b.c":[1]}`, [][]string{{"a", "b", "c"}}},
		{`{"a..b":[1]}`, [][]string{{"a", "", "b"}}},
		{`{".":[1]}`, [][]string{{"", ""}}},
		{`{"":[1]}`, [][]string{{""}}},
		{`{"a\u002eb":[1]}`, [][]string{{"a", "b"}}},
		// Two spellings of one field are one key: the last wins.
		{`{"a":{"b":[1]},"a.b":[2],"c":[3]}`, [][]string{{"a", "b"}, {"c"}}},
	} {
		p, err := Parse([]byte(c.src))
		if err != nil {
			t.Fatalf("Parse(%s): %v", c.src, err)
		}
		if len(p.Rules) != 1 {
			t.Fatalf("Parse(%s): %d rules", c.src, len(p.Rules))
		}
		var got [][]string
		for _, f := range p.Rules[0].Fields {
			got = append(got, f.Path)
		}
		if !slices.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("Parse(%s) paths = %q, want %q", c.src, got, c.want)
		}
	}
	// The last spelling's conditions are the ones kept.
	p, _ := Parse([]byte(`{"a":{"b":[1]},"a.b":[2]}`))
	if v := p.Rules[0].Fields[0].Conds[0].Value.Str; v != "2" {
		t.Errorf("kept condition %q, want the last one", v)
	}
}

// TestDottedErrorsNameKeyAsWritten: reasons quote the key as the pattern
// spells it, dots included.
func TestDottedErrorsNameKeyAsWritten(t *testing.T) {
	_, err := Parse([]byte(`{"a.b":"x"}`))
	if err == nil || err.Error() != `Event pattern is not valid. Reason: "a.b" must be an object or an array` {
		t.Fatalf("err = %v", err)
	}
}

// TestDottedDeepCount: a level counts its children that have children,
// through adds and removes, narrow and wide (the scanner looks for dots
// only where that count is not zero).
func TestDottedDeepCount(t *testing.T) {
	m := NewMatcher()
	add := func(id, src string) {
		t.Helper()
		p, err := Parse([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Add(id, p); err != nil {
			t.Fatal(err)
		}
	}
	deep := func() int { return int(m.cur.Load().root.deep) }
	add("leaf", `{"a":[1]}`)
	if d := deep(); d != 0 {
		t.Fatalf("deep = %d with leaf children only", d)
	}
	add("nested", `{"b":{"c":[1]}}`)
	if d := deep(); d != 1 {
		t.Fatalf("deep = %d, want 1", d)
	}
	add("dotted", `{"a.x":[1]}`) // "a" gains a child
	if d := deep(); d != 2 {
		t.Fatalf("deep = %d, want 2", d)
	}
	// Make the root wide, then take the deep children away again.
	for i := range pathWideMin + 2 {
		add(fmt.Sprint("w", i), fmt.Sprintf(`{"k%d":[1]}`, i))
	}
	if m.cur.Load().root.wide == nil {
		t.Fatal("root did not become wide")
	}
	if d := deep(); d != 2 {
		t.Fatalf("deep = %d after widening, want 2", d)
	}
	add("nested2", `{"b":{"d":{"e":[1]}}}`)
	m.Remove("dotted")
	if d := deep(); d != 1 {
		t.Fatalf("deep = %d, want 1", d)
	}
	m.Remove("nested")
	m.Remove("nested2")
	if d := deep(); d != 0 {
		t.Fatalf("deep = %d, want 0", d)
	}
	got, _ := m.Match([]byte(`{"b.c":1,"a.x":1,"a":1}`))
	if !slices.Equal(got, []string{"leaf"}) {
		t.Fatalf("Match = %v", got)
	}
}

// TestDottedWideLevel: dotted keys walk wide levels too.
func TestDottedWideLevel(t *testing.T) {
	m := NewMatcher()
	for i := range 3 * pathWideMin {
		p, err := Parse(fmt.Appendf(nil, `{"detail":{"k%d":{"v":[%d]}}}`, i, i))
		if err != nil {
			t.Fatal(err)
		}
		m.Add(fmt.Sprint(i), p)
	}
	for _, ev := range []string{
		`{"detail":{"k20.v":20}}`, `{"detail.k20.v":20}`, `{"detail.k20":{"v":20}}`, `{"detail":{"k20":{"v":20}}}`,
	} {
		for _, valid := range []bool{false, true} {
			var got []string
			var err error
			if valid {
				got, err = m.AppendMatchesValid(nil, []byte(ev))
			} else {
				got, err = m.Match([]byte(ev))
			}
			if err != nil || !slices.Equal(got, []string{"20"}) {
				t.Errorf("%s (valid %v): %v, %v", ev, valid, got, err)
			}
		}
	}
}

// TestDottedFastPathStop pins what AppendMatchesValid does with an event
// that reaches one field through two spellings when the spelled-out one
// comes later: like a repeated key, the later spelling is read only if the
// scan has not stopped yet. Match reads it always.
func TestDottedFastPathStop(t *testing.T) {
	p, _ := Parse([]byte(`{"a":{"b":["x"]}}`))
	m := NewMatcher()
	m.Add("p", p)
	for _, c := range []struct {
		event string
		valid bool // AppendMatchesValid's answer
	}{
		{`{"a.b":"x","a":{"b":"y"}}`, true},
		{`{"a":{"b":"x"},"a.b":"y"}`, true},
		{`{"a":{"b":"y"},"a.b":"x"}`, false}, // stopped after "a"
		{`{"z":1,"a.b":"x"}`, true},
	} {
		got, _ := m.Match([]byte(c.event))
		if !slices.Equal(got, []string{"p"}) {
			t.Errorf("Match(%s) = %v", c.event, got)
		}
		got2, _ := m.AppendMatchesValid(nil, []byte(c.event))
		if (len(got2) == 1) != c.valid {
			t.Errorf("AppendMatchesValid(%s) = %v, want match %v", c.event, got2, c.valid)
		}
		if hasSpellingCollision([]byte(c.event)) != strings.HasPrefix(c.event, `{"a`) {
			t.Errorf("hasSpellingCollision(%s) wrong", c.event)
		}
	}
}

func TestHasSpellingCollision(t *testing.T) {
	for ev, want := range map[string]bool{
		`{"a":1,"a.b":2}`:           true,
		`{"a.b":2,"a":{}}`:          true,
		`{"x":[{"a":1,"a.b":2}]}`:   true,
		`{"a.b":1,"a.c":2}`:         false,
		`{"a":1,"ab.c":2}`:          false,
		`{"a":{"b":1},"b.c":2}`:     false,
		`{"a\u002eb":1,"a":2}`:      true,
		`{"a":[1,{"a.b":{"a":1}}]}`: false,
	} {
		if got := hasSpellingCollision([]byte(ev)); got != want {
			t.Errorf("hasSpellingCollision(%s) = %v, want %v", ev, got, want)
		}
	}
}

// hasSpellingCollision reports whether some object of a valid JSON text
// has a key k without dots and a key that begins with k and a dot: the
// shape AppendMatchesValid may read only in part (see
// TestDottedFastPathStop). Keys are compared as decoded.
func hasSpellingCollision(event []byte) bool {
	if !json.Valid(event) {
		return false // the walk below assumes valid JSON
	}
	dec := json.NewDecoder(bytes.NewReader(event))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return false
		}
		found := false
		if d == '[' {
			for dec.More() {
				found = walk() || found
			}
			dec.Token()
			return found
		}
		if d != '{' {
			return false
		}
		var keys []string
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return false
			}
			keys = append(keys, k.(string))
			found = walk() || found
		}
		dec.Token()
		for _, k := range keys {
			if strings.Contains(k, ".") {
				continue
			}
			for _, o := range keys {
				if strings.HasPrefix(o, k+".") {
					return true
				}
			}
		}
		return found
	}
	return walk()
}
