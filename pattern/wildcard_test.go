package pattern

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Wildcard matching must stay linear in the length of the value for every
// pattern EventBridge accepts: a pattern is a rule anyone with PutRule can
// add, and every event of the bus is matched against it. The complexity
// limit (wildcard.go) is what makes that hold: it bounds how many partial
// matches can be alive at one position of the value, and the greedy matcher
// re-reads a byte once per live partial match at most.

// hostileWildcards are accepted patterns chosen to make a matcher work
// hard, each with a value shape that keeps as many partial matches alive as
// the pattern allows. A value is its unit repeated, then its end.
var hostileWildcards = []struct {
	pattern   string
	unit, end string
}{
	{"*a*a*a*a*a*a*b", "a", "c"},
	{"*a*a*a*a*a*a*b", "a", "b"},
	{"*a*a*a*a*a*a*b", "b", "b"},
	{"*aaaaab", "a", "c"},
	{"*ababab*c", "ab", "b"},
	{"*abcabcabd", "abc", "x"},
	{"a*b*a*b*a*b*c", "ab", "d"},
	{"*xyzxyzxyz*", "xyzxy", "q"},
}

func TestHostileWildcardsAccepted(t *testing.T) {
	for _, h := range hostileWildcards {
		src, _ := json.Marshal(map[string]any{"a": []any{map[string]string{"wildcard": h.pattern}}})
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%s): %v", src, err)
		}
	}
}

// FuzzWildcard checks the wildcard matcher against a regular expression
// (Go's regexp runs in linear time, so it is a safe oracle) on operands the
// parser accepts, both the bare matcher and the Matcher behind Parse with
// its complexity limit.
func FuzzWildcard(f *testing.F) {
	for _, h := range hostileWildcards {
		f.Add(h.pattern, strings.Repeat(h.unit, 8)+h.end)
	}
	f.Add(`a\*b*`, `a*bc`)
	f.Add(`*\\*`, `x\y`)
	f.Add(`**`, ``)
	f.Fuzz(func(t *testing.T, pat, s string) {
		// The oracle needs valid UTF-8 (the matcher works on bytes and
		// needs nothing).
		if !utf8.ValidString(pat) || !utf8.ValidString(s) {
			return
		}
		if _, err := validateWildcard(pat); err != nil {
			return
		}
		want := wildcardRegexp(pat).MatchString(s)
		if got := matchWildcard(pat, s); got != want {
			t.Fatalf("matchWildcard(%q, %q) = %v, want %v", pat, s, got, want)
		}
		src, _ := json.Marshal(map[string]any{"a": []any{map[string]string{"wildcard": pat}}})
		p, err := Parse(src)
		if err != nil {
			return // too complex, or not valid UTF-8 JSON
		}
		ev, _ := json.Marshal(map[string]string{"a": s})
		m := NewMatcher()
		m.Add("p", p)
		got, err := m.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, "p") != want {
			t.Fatalf("Matcher: pattern %s event %s: %v, want %v", src, ev, got, want)
		}
	})
}

// BenchmarkWildcardHostile times the matcher on the hostile patterns at
// growing value lengths: MB/s stays flat when matching is linear.
func BenchmarkWildcardHostile(b *testing.B) {
	for _, h := range hostileWildcards[:4] {
		src, _ := json.Marshal(map[string]any{"a": []any{map[string]string{"wildcard": h.pattern}}})
		p, err := Parse(src)
		if err != nil {
			b.Fatal(err)
		}
		m := NewMatcher()
		m.Add("p", p)
		for _, n := range []int{1 << 10, 1 << 16, 1 << 20} {
			v := strings.Repeat(h.unit, n/len(h.unit)) + h.end
			ev, _ := json.Marshal(map[string]string{"a": v})
			b.Run(fmt.Sprintf("%s/%s%s/%d", h.pattern, h.unit, h.end, n), func(b *testing.B) {
				b.SetBytes(int64(len(ev)))
				dst := make([]string, 0, 1)
				for b.Loop() {
					dst, _ = m.AppendMatches(dst[:0], ev)
				}
			})
		}
	}
}
