package pattern

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Small pools make collisions between pattern operands and event values
// likely, which is where matchers go wrong.
var (
	propKeys    = []string{"a", "b", "c"}
	propStrings = []string{"", "a", "ab", "abc", "B", "Ab", "ba", "x*y", "xay", "10.0.0.1", "10.0.1.5", "::1",
		"ſ", "s", "S", "K", "k", "straße", "STRASSE", "1", "a\"b", "é", "É"}
	propNumbers = []string{"0", "1", "1.0", "-1", "2.5", "1e2", "100", "5000000001", "0.1234567", "3.000001", "-0", "1E-7", "12345678901234567890"}
	// propEventNumbers adds event numbers with more than six decimals,
	// some of which round to pattern numbers.
	propEventNumbers = append(slices.Clone(propNumbers), "0.99999999999999999", "1.0000000000000001", "2.50000000000000001",
		"-0.0000001", "100.00000000000001", "3.0000010000000001", "0.12345670", "2.4999999999999999", "4999999999.99999999",
		"-0.99999999", "2.50000001", "99.999999999999", "-1.0000000012345678", "0.00000000", "-122.50605141424910")
)

type propGen struct {
	r *rand.Rand
	// keys are the object keys patterns and events draw from; nil means
	// propKeys.
	keys []string
}

func (g propGen) keyPool() []string {
	if g.keys != nil {
		return g.keys
	}
	return propKeys
}

func (g propGen) pick(l []string) string { return l[g.r.IntN(len(l))] }
func (g propGen) str() string            { return strconv.Quote(g.pick(propStrings)) }
func (g propGen) wild() string {
	parts := []string{"", "a", "b", "x", "\\\\*", "é"}
	var b strings.Builder
	for n := g.r.IntN(4); n >= 0; n-- {
		b.WriteString(parts[g.r.IntN(len(parts))])
		if g.r.IntN(2) == 0 {
			b.WriteString("*")
		}
	}
	s := strings.ReplaceAll(b.String(), "**", "*")
	return `"` + s + `"`
}

func (g propGen) strList() string {
	if g.r.IntN(2) == 0 {
		return g.str()
	}
	return "[" + g.str() + "," + g.str() + "]"
}

func (g propGen) cond() string {
	switch g.r.IntN(19) {
	case 0, 1:
		return g.str()
	case 2:
		return g.pick(propNumbers)
	case 3:
		return g.pick([]string{"true", "false", "null"})
	case 4:
		return `{"prefix":` + g.str() + `}`
	case 5:
		return `{"suffix":` + g.str() + `}`
	case 6:
		return `{"equals-ignore-case":` + g.str() + `}`
	case 7:
		return `{"prefix":{"equals-ignore-case":` + g.str() + `}}`
	case 8:
		return `{"suffix":{"equals-ignore-case":` + g.str() + `}}`
	case 9, 10:
		return `{"wildcard":` + g.wild() + `}`
	case 11:
		vals := []string{g.str(), g.pick(propNumbers)}
		return `{"anything-but":[` + vals[g.r.IntN(2)] + `,` + vals[g.r.IntN(2)] + `]}`
	case 12:
		return `{"anything-but":{"prefix":` + g.str() + `}}`
	case 13:
		return `{"anything-but":{"suffix":` + g.str() + `}}`
	case 14:
		return `{"anything-but":{"equals-ignore-case":` + g.strList() + `}}`
	case 15:
		return `{"anything-but":{"wildcard":` + g.wild() + `}}`
	case 16:
		ops := []string{"<", "<=", "=", ">", ">="}
		n := []string{"0", "1", "2.5", "-1", "100", "3.000001"}
		s := `"` + g.pick(ops) + `",` + g.pick(n)
		if g.r.IntN(2) == 0 {
			s = `">",` + g.pick(n) + `,"<",` + g.pick(n)
		}
		return `{"numeric":[` + s + `]}`
	case 17:
		return `{"exists":` + strconv.FormatBool(g.r.IntN(2) == 0) + `}`
	default:
		return `{"cidr":` + g.pick([]string{`"10.0.0.0/24"`, `"10.0.0.0/8"`, `"::/0"`}) + `}`
	}
}

func (g propGen) patternObj(depth int) string {
	var parts []string
	keys := slices.Clone(g.keyPool())
	g.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys[:1+g.r.IntN(2)] {
		var v string
		if depth < 2 && g.r.IntN(3) == 0 {
			v = g.patternObj(depth + 1)
		} else {
			cs := []string{g.cond()}
			if g.r.IntN(3) == 0 {
				cs = append(cs, g.cond())
			}
			v = "[" + strings.Join(cs, ",") + "]"
		}
		parts = append(parts, strconv.Quote(k)+":"+v)
	}
	if depth == 0 && g.r.IntN(5) == 0 {
		parts = append(parts, `"$or":[`+g.patternObj(1)+`,`+g.patternObj(1)+`]`)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func (g propGen) eventValue(depth int) string {
	switch n := g.r.IntN(10); {
	case n < 3 && depth < 3:
		return g.eventObj(depth + 1)
	case n < 5 && depth < 4:
		var els []string
		for i := g.r.IntN(4); i > 0; i-- {
			els = append(els, g.eventValue(depth+1))
		}
		return "[" + strings.Join(els, ",") + "]"
	case n < 7:
		return g.str()
	case n < 9:
		return g.pick(propEventNumbers)
	default:
		return g.pick([]string{"true", "false", "null"})
	}
}

func (g propGen) eventObj(depth int) string {
	var parts []string
	for _, k := range g.keyPool() {
		if g.r.IntN(3) > 0 {
			parts = append(parts, strconv.Quote(k)+":"+g.eventValue(depth))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestMatcherMatchesReference compares the Matcher with referenceMatch on
// random patterns (every operator, $or, nesting) and random events (nested
// objects and arrays), many patterns per matcher.
func TestMatcherMatchesReference(t *testing.T) {
	testMatcherMatchesReference(t, propGen{r: rand.New(rand.NewPCG(1, 2))})
}

// TestMatcherMatchesReferenceDotted is TestMatcherMatchesReference with
// keys that hold dots, so that patterns and events spell the same paths in
// different ways (see dotted.go).
func TestMatcherMatchesReferenceDotted(t *testing.T) {
	testMatcherMatchesReference(t, propGen{r: rand.New(rand.NewPCG(3, 4)), keys: []string{"a", "b", "a.b", "b.a", "a.b.a", "a."}})
}

func testMatcherMatchesReference(t *testing.T, g propGen) {
	rounds := 400
	if testing.Short() {
		rounds = 50
	}
	matched, checked := 0, 0
	defer func() { t.Logf("%d of %d (pattern, event) pairs match", matched, checked) }()
	for round := 0; round < rounds; round++ {
		m := NewMatcher()
		pats := map[string]*Pattern{}
		for len(pats) < 12 {
			src := g.patternObj(0)
			p, err := Parse([]byte(src))
			if err != nil {
				continue
			}
			id := strconv.Itoa(len(pats))
			pats[id] = p
			if err := m.Add(id, p); err != nil {
				t.Fatal(err)
			}
		}
		// Churn: replace and remove some, so matching runs on an
		// automaton that has been edited, not only built.
		for id := range pats {
			if g.r.IntN(4) == 0 {
				m.Remove(id)
				delete(pats, id)
			} else if g.r.IntN(4) == 0 {
				m.Add(id, pats[id])
			}
		}
		for e := 0; e < 40; e++ {
			ev := []byte(g.eventObj(0))
			got, err := m.Match(ev)
			if err != nil {
				t.Fatalf("Match(%s): %v", ev, err)
			}
			got2, err := m.AppendMatchesValid(nil, ev)
			if err != nil {
				t.Fatalf("AppendMatchesValid(%s): %v", ev, err)
			}
			slices.Sort(got)
			slices.Sort(got2)
			// The trusting entry point may stop before a later spelling
			// of a path it has met (TestDottedFastPathStop).
			if !slices.Equal(got, got2) && !hasSpellingCollision(ev) {
				t.Fatalf("event %s: AppendMatches %v, AppendMatchesValid %v", ev, got, got2)
			}
			var want []string
			for id, p := range pats {
				ok, err := referenceMatch(p, ev)
				if err != nil {
					t.Fatal(err)
				}
				checked++
				if ok {
					matched++
					want = append(want, id)
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				var b strings.Builder
				for _, id := range append(slices.Clone(got), want...) {
					fmt.Fprintf(&b, "\n  %s: %s", id, pats[id].Source)
				}
				t.Fatalf("event %s\nMatcher %v, reference %v%s", ev, got, want, b.String())
			}
		}
	}
}
