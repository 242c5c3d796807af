package pattern

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
)

// TestMatcherConformance runs the shared conformance cases against the
// Matcher, one pattern per matcher.
func TestMatcherConformance(t *testing.T) {
	for _, c := range loadConformance(t) {
		if c.Error != "" || c.Event == nil {
			continue
		}
		t.Run(c.File+"/"+c.Name, func(t *testing.T) {
			p, err := Parse(c.Pattern)
			if err != nil {
				t.Fatalf("Parse(%s): %v", c.Pattern, err)
			}
			m := NewMatcher()
			if err := m.Add("p", p); err != nil {
				t.Fatal(err)
			}
			checkMatcherCase(t, m, "p", c)
		})
	}
}

// TestMatcherConformanceShared puts every conformance pattern into one
// matcher, so that patterns share automaton nodes, and checks each event
// against its own pattern; then removes every other pattern and checks
// again.
func TestMatcherConformanceShared(t *testing.T) {
	m := NewMatcher()
	var cases []conformanceCase
	ids := map[string]string{} // pattern text -> id
	for _, c := range loadConformance(t) {
		if c.Error != "" || c.Event == nil {
			continue
		}
		if _, ok := ids[string(c.Pattern)]; !ok {
			p, err := Parse(c.Pattern)
			if err != nil {
				t.Fatalf("Parse(%s): %v", c.Pattern, err)
			}
			id := strconv.Itoa(len(ids))
			ids[string(c.Pattern)] = id
			if err := m.Add(id, p); err != nil {
				t.Fatal(err)
			}
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		checkMatcherCase(t, m, ids[string(c.Pattern)], c)
	}
	removed := map[string]bool{}
	for _, id := range ids {
		if n, _ := strconv.Atoi(id); n%2 == 0 {
			if !m.Remove(id) {
				t.Fatalf("Remove(%s) = false", id)
			}
			removed[id] = true
		}
	}
	for _, c := range cases {
		id := ids[string(c.Pattern)]
		if removed[id] {
			got, _ := m.Match(c.Event)
			if slices.Contains(got, id) {
				t.Errorf("%s: removed pattern %s still matches", c.Name, id)
			}
			continue
		}
		checkMatcherCase(t, m, id, c)
	}
	if st := m.Stats(); st.Patterns != len(ids)-len(removed) {
		t.Errorf("Stats().Patterns = %d, want %d", st.Patterns, len(ids)-len(removed))
	}
}

func checkMatcherCase(t *testing.T, m *Matcher, id string, c conformanceCase) {
	t.Helper()
	got, err := m.Match(c.Event)
	if c.EventError {
		if err == nil {
			t.Errorf("%s: Match accepted bad event %s", c.Name, c.Event)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: Match(%s): %v", c.Name, c.Event, err)
		return
	}
	if slices.Contains(got, id) != c.Match {
		t.Errorf("%s: pattern %s\nevent %s\nmatch = %v, want %v", c.Name, c.Pattern, c.Event, !c.Match, c.Match)
	}
	if len(got) != len(slices.Compact(slices.Sorted(slices.Values(got)))) {
		t.Errorf("%s: duplicate ids in %v", c.Name, got)
	}
	// The trusting entry point agrees on valid events, except where it
	// may stop early by design (see TestDottedFastPathStop).
	if json.Valid(c.Event) && !hasSpellingCollision(c.Event) {
		got2, err := m.AppendMatchesValid(nil, c.Event)
		if err != nil || !slices.Equal(slices.Sorted(slices.Values(got2)), slices.Sorted(slices.Values(got))) {
			t.Errorf("%s: AppendMatchesValid = %v, %v; AppendMatches = %v", c.Name, got2, err, got)
		}
	}
}
