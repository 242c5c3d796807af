package pattern

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

// Hand-built patterns keep these tests independent of the parser.
func fld(cs []Cond, path ...string) Field { return Field{Path: path, Conds: cs} }
func rule(fs ...Field) Rule               { return Rule{Fields: fs} }
func pat(rs ...Rule) *Pattern             { return &Pattern{Rules: rs} }
func str(s string) Cond                   { return Cond{Op: OpExact, Value: Value{Kind: KindString, Str: s}} }
func num(lit string) Cond                 { return Cond{Op: OpExact, Value: numberValue(lit)} }
func op(o Op, s string) Cond              { return Cond{Op: o, Str: s} }
func cs(c ...Cond) []Cond                 { return c }

func TestMatcherCases(t *testing.T) {
	tests := []struct {
		name  string
		p     *Pattern
		event string
		want  bool
	}{
		{"exact", pat(rule(fld(cs(str("a")), "x"))), `{"x":"a"}`, true},
		{"exact miss", pat(rule(fld(cs(str("a")), "x"))), `{"x":"ab"}`, false},
		{"exact escaped", pat(rule(fld(cs(str("a\"b")), "x"))), `{"x":"a\"b"}`, true},
		{"escaped key", pat(rule(fld(cs(str("a")), "x y"))), `{"x\u0020y":"a"}`, true},
		{"string is not number", pat(rule(fld(cs(str("1")), "x"))), `{"x":1}`, false},
		{"number numerically", pat(rule(fld(cs(num("1")), "x"))), `{"x":1.0e0}`, true},
		{"nested", pat(rule(fld(cs(str("a")), "x", "y"))), `{"x":{"z":[1,{"q":2}],"y":"a"}}`, true},
		{"array any", pat(rule(fld(cs(str("a")), "x"))), `{"x":["b",["c","a"]]}`, true},
		{"object is no value", pat(rule(fld(cs(op(OpPrefix, "")), "x"))), `{"x":{"a":"b"}}`, false},
		{"prefix", pat(rule(fld(cs(op(OpPrefix, "ab")), "x"))), `{"x":"abc"}`, true},
		{"prefix miss", pat(rule(fld(cs(op(OpPrefix, "ab")), "x"))), `{"x":"acb"}`, false},
		{"suffix", pat(rule(fld(cs(op(OpSuffix, "bc")), "x"))), `{"x":"abc"}`, true},
		{"eic", pat(rule(fld(cs(op(OpEqualsIgnoreCase, "AbC")), "x"))), `{"x":"aBc"}`, true},
		{"prefix ic", pat(rule(fld(cs(op(OpPrefixIgnoreCase, "AB")), "x"))), `{"x":"abC"}`, true},
		{"suffix ic", pat(rule(fld(cs(op(OpSuffixIgnoreCase, "BC")), "x"))), `{"x":"Abc"}`, true},
		{"wildcard", pat(rule(fld(cs(op(OpWildcard, "a*c*e")), "x"))), `{"x":"abcde"}`, true},
		{"wildcard miss", pat(rule(fld(cs(op(OpWildcard, "a*c*e")), "x"))), `{"x":"abcdef"}`, false},
		{"wildcard lead star", pat(rule(fld(cs(op(OpWildcard, "*de")), "x"))), `{"x":"abcde"}`, true},
		{"wildcard both stars", pat(rule(fld(cs(op(OpWildcard, "*c*")), "x"))), `{"x":"abcde"}`, true},
		{"wildcard escaped star", pat(rule(fld(cs(op(OpWildcard, `a\*`)), "x"))), `{"x":"a*"}`, true},
		{"numeric", pat(rule(fld(cs(Cond{Op: OpNumeric, Range: Range{HasLow: true, Low: 1, LowOpen: true}}), "x"))), `{"x":[0,2]}`, true},
		{"numeric miss", pat(rule(fld(cs(Cond{Op: OpNumeric, Range: Range{HasLow: true, Low: 1, LowOpen: true}}), "x"))), `{"x":1}`, false},
		{"anything-but", pat(rule(fld(cs(Cond{Op: OpAnythingBut, Values: []Value{{Kind: KindString, Str: "a"}}}), "x"))), `{"x":"b"}`, true},
		{"anything-but miss", pat(rule(fld(cs(Cond{Op: OpAnythingBut, Values: []Value{{Kind: KindString, Str: "a"}}}), "x"))), `{"x":"a"}`, false},
		{"anything-but absent", pat(rule(fld(cs(Cond{Op: OpAnythingBut, Values: []Value{{Kind: KindString, Str: "a"}}}), "x"))), `{"y":"b"}`, false},
		{"exists", pat(rule(fld(cs(Cond{Op: OpExists, Exists: true}), "x"))), `{"x":null}`, true},
		{"exists false", pat(rule(fld(cs(Cond{Op: OpExists, Exists: false}), "x"))), `{"y":1}`, true},
		{"exists false miss", pat(rule(fld(cs(Cond{Op: OpExists, Exists: false}), "x"))), `{"x":1}`, false},
		{"cidr", pat(rule(fld(cs(Cond{Op: OpCIDR, Prefix: netip.MustParsePrefix("10.0.0.0/8")}), "ip"))), `{"ip":"10.1.2.3"}`, true},
		{"and", pat(rule(fld(cs(str("a")), "x"), fld(cs(str("b")), "y"))), `{"x":"a","y":"b"}`, true},
		{"and miss", pat(rule(fld(cs(str("a")), "x"), fld(cs(str("b")), "y"))), `{"x":"a","y":"c"}`, false},
		{"or", pat(rule(fld(cs(str("a")), "x")), rule(fld(cs(str("b")), "y"))), `{"y":"b"}`, true},
		{"array consistency", pat(rule(fld(cs(str("1")), "a", "b"), fld(cs(str("2")), "a", "c"))), `{"a":[{"b":"1"},{"c":"2"}]}`, false},
		{"array consistency ok", pat(rule(fld(cs(str("1")), "a", "b"), fld(cs(str("2")), "a", "c"))), `{"a":[{"b":"1"},{"b":"1","c":"2"}]}`, true},
		{"array consistency nested", pat(rule(fld(cs(str("1")), "a", "b"), fld(cs(str("2")), "a", "c"))), `{"a":[[{"b":"1"},{"c":"2"}]]}`, false},
		{"different arrays", pat(rule(fld(cs(str("1")), "a", "b"), fld(cs(str("2")), "c", "d"))), `{"a":[{"b":"1"}],"c":[{"x":0},{"d":"2"}]}`, true},
		{"empty rule", pat(rule()), `{"a":1}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMatcher()
			if err := m.Add("p", tc.p); err != nil {
				t.Fatal(err)
			}
			got, err := m.Match([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != tc.want || len(got) > 1 {
				t.Errorf("Match(%s) = %v, want match=%v", tc.event, got, tc.want)
			}
		})
	}
}

func TestMatcherBadEvents(t *testing.T) {
	m := NewMatcher()
	m.Add("p", pat(rule(fld(cs(str("a")), "x"))))
	for _, ev := range []string{``, ` `, `[]`, `"x"`, `1`, `{`, `{"x"}`, `{"x":}`, `{"x":"a"`, `{"x":"a"}}`,
		`{"x":"a",}`, `{"y":[1,]}`, `{"y":tru}`, `{"y":01}`, `{"y":1.}`, `{"y":"\x"}`, "{\"y\":\"\x01\"}",
		`{"y":{"z":[1 2]}}`, `{"x":"a" "y":1}`, `{"y":-}`, `{"y":"\u12"}`} {
		if got, err := m.Match([]byte(ev)); err == nil {
			t.Errorf("Match(%q) = %v, nil; want an error", ev, got)
		}
	}
}

func TestMatcherAddRemove(t *testing.T) {
	m := NewMatcher()
	ev := []byte(`{"x":"abc","y":5}`)
	// Both entry points, also on an empty matcher (an empty root: the
	// non-validating path once dereferenced it).
	check := func(want ...string) {
		t.Helper()
		got, err := m.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		valid, err := m.AppendMatchesValid(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(valid)
		if !slices.Equal(got, want) || !slices.Equal(valid, want) {
			t.Errorf("got %v (valid %v) want %v", got, valid, want)
		}
	}
	check()
	m.Add("a", pat(rule(fld(cs(op(OpPrefix, "a")), "x"))))
	m.Add("b", pat(rule(fld(cs(num("5")), "y"))))
	m.Add("c", pat(rule(fld(cs(str("zzz")), "x"))))
	check("a", "b")
	m.Add("c", pat(rule(fld(cs(str("abc")), "x"))))
	check("a", "b", "c")
	if !m.Remove("a") || m.Remove("a") {
		t.Error("Remove")
	}
	check("b", "c")
	m.Remove("b")
	m.Remove("c")
	check()
	if st := m.Stats(); st.Patterns != 0 || st.ApproxBytes != 0 || st.Fields != 0 {
		t.Errorf("stats after removing all: %+v", st)
	}
	if r := m.cur.Load().root; r != nil {
		t.Errorf("root not pruned: %+v", r)
	}
}

func TestMatcherConcurrent(t *testing.T) {
	m := NewMatcher()
	ev := []byte(`{"x":"v7","y":[{"z":1},{"z":2}]}`)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []string
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if dst, err = m.AppendMatches(dst[:0], ev); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 500; i++ {
		id := fmt.Sprint(i % 50)
		m.Add(id, pat(rule(fld(cs(str(fmt.Sprint("v", i%10))), "x"), fld(cs(num(fmt.Sprint(i%3))), "y", "z"))))
		if i%7 == 0 {
			m.Remove(fmt.Sprint(i % 13))
		}
	}
	close(stop)
	wg.Wait()
}

func TestAppendMatchesAllocs(t *testing.T) {
	m := NewMatcher()
	for i := 0; i < 100; i++ {
		m.Add(fmt.Sprint(i), pat(rule(fld(cs(op(OpPrefix, fmt.Sprint(i))), "a", "b"), fld(cs(Cond{Op: OpNumeric, Range: Range{HasLow: true}}), "a", "n"))))
	}
	checkNoAllocs(t, m, `{"a":[{"b":"17x","n":3},{"b":"5","n":-1}],"c":{"d":[1,2,{"e":"x\"y"}]}}`, "1", "17")
}

// TestAppendMatchesAllocsEscaped is TestAppendMatchesAllocs with escapes in
// the keys and values that patterns read, so that decoding them is on the
// measured path.
func TestAppendMatchesAllocsEscaped(t *testing.T) {
	m := NewMatcher()
	for i := 0; i < 100; i++ {
		m.Add(fmt.Sprint(i), pat(rule(fld(cs(op(OpPrefix, fmt.Sprint(i))), "a", "b\"c"), fld(cs(str("\u00e9\U0001F600")), "a", "s"))))
	}
	checkNoAllocs(t, m, `{"a":[{"b\"c":"1\u0037x","s":"\u00e9\ud83d\ude00"},{"b\u0022c":"5","s":"x\ud800"}],"c":{"d":[1,2,{"e":"x\"y"}]}}`, "1", "17")
}

// checkNoAllocs checks that m matches event to want without allocating
// once warmed up.
func checkNoAllocs(t *testing.T, m *Matcher, event string, want ...string) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	ev := []byte(event)
	dst := make([]string, 0, 16)
	m.AppendMatches(dst, ev)
	n := testing.AllocsPerRun(100, func() {
		var err error
		if dst, err = m.AppendMatches(dst[:0], ev); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per AppendMatches", n)
	}
	slices.Sort(dst)
	if !slices.Equal(dst, want) {
		t.Errorf("got %v; want %v", dst, want)
	}
}

func TestMatcherMaxBytes(t *testing.T) {
	m := NewMatcher()
	p := pat(rule(fld(cs(str("some value")), "x")))
	if err := m.Add("a", p); err != nil {
		t.Fatal(err)
	}
	one := m.Stats().ApproxBytes
	if one <= 0 {
		t.Fatalf("ApproxBytes = %d after one pattern", one)
	}
	m.SetMaxBytes(2*one + one/2)
	for _, id := range []string{"a", "b"} { // replacing counts the difference only
		if err := m.Add(id, p); err != nil {
			t.Fatalf("Add(%s): %v", id, err)
		}
	}
	if err := m.Add("c", p); err != ErrMatcherFull {
		t.Fatalf("Add over the limit: %v, want ErrMatcherFull", err)
	}
	if got, _ := m.Match([]byte(`{"x":"some value"}`)); len(got) != 2 {
		t.Errorf("after a refused Add, matches %v", got)
	}
	m.SetMaxBytes(0)
	if err := m.Add("c", p); err != nil {
		t.Fatal(err)
	}
}

// TestMatcherWideLevel covers object levels with many keys, which are held
// in a hash trie instead of a list, through growth and shrinkage.
func TestMatcherWideLevel(t *testing.T) {
	m := NewMatcher()
	const n = 200
	for i := 0; i < n; i++ {
		m.Add(fmt.Sprint(i), pat(rule(fld(cs(str("v")), "detail", fmt.Sprint("k", i)))))
	}
	check := func(key string, want ...string) {
		t.Helper()
		got, err := m.Match([]byte(`{"detail":{"x":1,"` + key + `":"v","y":[2]}}`))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: got %v, %v; want %v", key, got, err, want)
		}
	}
	check("k7", "7")
	check("k199", "199")
	check("k200")
	for i := 0; i < n; i++ {
		if i != 7 && !m.Remove(fmt.Sprint(i)) {
			t.Fatalf("Remove(%d)", i)
		}
	}
	check("k7", "7")
	check("k199")
	m.Remove("7")
	if r := m.cur.Load().root; r != nil {
		t.Errorf("root not pruned: %+v", r)
	}
}

func BenchmarkAddWide(b *testing.B) {
	for b.Loop() {
		m := NewMatcher()
		for i := 0; i < 10000; i++ {
			m.Add(fmt.Sprint(i), pat(rule(fld(cs(str("v")), "detail", fmt.Sprint("k", i)))))
		}
	}
}
