package pattern

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestComparableNumber(t *testing.T) {
	for _, c := range []struct {
		lit  string
		want float64
		ok   bool
	}{
		{"300", 300, true}, {"300.0", 300, true}, {"3e2", 300, true}, {"3.00E+2", 300, true},
		{"-0", 0, true}, {"0e999999999999", 0, true}, {"0.000000", 0, true},
		{"0.3", 0.3, true}, {"3e-1", 0.3, true}, {"0.000001", 1e-6, true},
		{"1.10000000", 1.1, true},
		{"5000000000", 5e9, true}, {"-5e9", -5e9, true}, {"5000000000.000001", 0, false},
		{"4999999999.999999", 4999999999.999999, true},
		// More than six decimals: the nearest float64, within the limit.
		{"0.0000001", 1e-7, true}, {"1.0000001", 1.0000001, true}, {"1E-7", 1e-7, true},
		{"-122.50592764163595", -122.50592764163595, true}, {"37.12345678901234", 37.12345678901234, true},
		{"4999999999.9999999", 4999999999.9999999, true}, {"-4999999999.99999999999", -5e9, true},
		{"5000000000.0000001", 0, false}, {"-5000000000.0000001", 0, false}, {"50000000000.1234567", 0, false},
		{"5000000000.0000001e-1", 500000000.00000001, true},
		{"1e-400", 0, true}, // rounds to zero
		{"123456789012", 0, false}, {"1e400", 0, false},
		{"01", 0, false}, {"+1", 0, false}, {".5", 0, false}, {"1.", 0, false}, {"1e", 0, false},
		{"", 0, false}, {"-", 0, false}, {"NaN", 0, false},
	} {
		got, ok := ComparableNumber([]byte(c.lit))
		if ok != c.ok || ok && got != c.want {
			t.Errorf("ComparableNumber(%q) = %v, %v; want %v, %v", c.lit, got, ok, c.want, c.ok)
		}
	}
}

// Comparable values must order exactly like the decimals they stand for;
// this checks it against integer arithmetic on millionths.
func TestComparableNumberOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		a := r.Int64N(2*numberLimitUnits+1) - numberLimitUnits
		b := a + r.Int64N(3) - 1
		if i%2 == 0 {
			b = r.Int64N(2*numberLimitUnits+1) - numberLimitUnits
		}
		fa, oka := ComparableNumber([]byte(unitsLiteral(a)))
		fb, okb := ComparableNumber([]byte(unitsLiteral(b)))
		if !oka || !okb {
			t.Fatalf("not comparable: %s %s", unitsLiteral(a), unitsLiteral(b))
		}
		if (a < b) != (fa < fb) || (a == b) != (fa == fb) {
			t.Fatalf("%s vs %s: floats %v %v", unitsLiteral(a), unitsLiteral(b), fa, fb)
		}
	}
}

func unitsLiteral(u int64) string {
	neg := u < 0
	if neg {
		u = -u
	}
	s := strconv.FormatInt(u/numberScale, 10) + "." + strconv.FormatInt(u%numberScale+numberScale, 10)[1:]
	if neg {
		s = "-" + s
	}
	return s
}

func TestParseNumber(t *testing.T) {
	if f, ok := ParseNumber([]byte("1.5e3")); !ok || f != 1500 {
		t.Fatal(f, ok)
	}
	for _, bad := range []string{"1e400", "01", "+1", "abc", ""} {
		if _, ok := ParseNumber([]byte(bad)); ok {
			t.Errorf("ParseNumber(%q) accepted", bad)
		}
	}
}

// wildcardRegexp is an independent statement of wildcard matching.
func wildcardRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, tok := range wildcardTokens(pat) {
		if tok == wcStar {
			b.WriteString(`.*`)
		} else {
			b.WriteString(regexp.QuoteMeta(string([]byte{byte(tok)})))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

func TestMatchWildcardAgainstRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alpha := "ab*"
	for i := 0; i < 50000; i++ {
		var p []byte
		for n := r.IntN(8); n > 0; n-- {
			c := alpha[r.IntN(len(alpha))]
			if c == '*' && len(p) > 0 && p[len(p)-1] == '*' {
				continue
			}
			p = append(p, c)
		}
		var s []byte
		for n := r.IntN(10); n > 0; n-- {
			s = append(s, "ab"[r.IntN(2)])
		}
		want := wildcardRegexp(string(p)).MatchString(string(s))
		if got := matchWildcard(string(p), string(s)); got != want {
			t.Fatalf("matchWildcard(%q, %q) = %v, want %v", p, s, got, want)
		}
	}
}

func TestWildcardComplexity(t *testing.T) {
	for _, c := range []struct {
		ops  []string
		want int
	}{
		{nil, 0},
		{[]string{"abc"}, 1},
		{[]string{"*.png"}, 2},
		{[]string{"*a*b*c*"}, 5},
	} {
		var toks [][]int
		for _, s := range c.ops {
			toks = append(toks, wildcardTokens(s))
		}
		if got := wildcardComplexity(toks); got != c.want {
			t.Errorf("wildcardComplexity(%q) = %d, want %d", c.ops, got, c.want)
		}
	}
}

func TestFold(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{"Hello", "hELLO", true}, {"k", "\u212a", true}, {"straße", "STRASSE", false},
		{"Σίσυφος", "ΣΊΣΥΦΟΣ", true}, {"é", "É", true}, {"a", "", false},
	} {
		if got := equalFold(c.a, c.b); got != c.eq {
			t.Errorf("equalFold(%q,%q) = %v", c.a, c.b, got)
		}
		if got := foldKey(c.a) == foldKey(c.b); got != c.eq {
			t.Errorf("foldKey(%q) == foldKey(%q): %v", c.a, c.b, got)
		}
	}
	if !hasPrefixFold("EVENTBRIDGE", "eventb") || hasPrefixFold("Ev", "eventb") {
		t.Error("hasPrefixFold")
	}
	if !hasSuffixFold("a.PNG", ".png") || hasSuffixFold("png", ".png") || !hasSuffixFold("x\u212a", "k") {
		t.Error("hasSuffixFold")
	}
}

// foldKey must agree with equalFold on every pair of runes in the ranges
// where case exists.
func TestFoldKeyAgreesWithEqualFold(t *testing.T) {
	for r := rune(0); r < 0x2200; r++ {
		for _, s := range []rune{r, foldRune(r)} {
			a, b := string(r), string(s)
			if !utf8.ValidString(a) {
				continue
			}
			if equalFold(a, b) != (foldKey(a) == foldKey(b)) {
				t.Fatalf("%U %U", r, s)
			}
		}
	}
}

func TestParseShape(t *testing.T) {
	p, err := Parse([]byte(`{"z":["1"],"a":{"c":[1],"b":[{"prefix":"x"}]},"$or":[{"m":[true]},{"n":[null]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 2 {
		t.Fatalf("%d rules", len(p.Rules))
	}
	var paths []string
	for _, f := range p.Rules[0].Fields {
		paths = append(paths, strings.Join(f.Path, "."))
	}
	if got := strings.Join(paths, " "); got != "a.b a.c m z" {
		t.Fatalf("paths %q", got)
	}
	if c := p.Rules[0].Fields[1].Conds[0]; c.Op != OpExact || c.Value.Kind != KindNumber || c.Value.Num != 1 || c.Value.Str != "1" {
		t.Fatalf("%+v", c)
	}
	if p.String() != p.Source {
		t.Fatal("String")
	}
	r, err := Parse([]byte(`{"a":[{"numeric":[">=",1,"<",2]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Rules[0].Fields[0].Conds[0].Range; got != (Range{HasLow: true, Low: 1, HasHigh: true, High: 2, HighOpen: true}) {
		t.Fatalf("%+v", got)
	}
}

func TestParseOptionsMaxLength(t *testing.T) {
	src := []byte(`{"a":["` + strings.Repeat("x", 3000) + `"]}`)
	if _, err := Parse(src); err == nil {
		t.Fatal("default limit not applied")
	}
	if _, err := ParseWithOptions(src, Options{MaxLength: 4096}); err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"a":["` + strings.Repeat("x", 5000) + `"]}`)
	_, err := ParseWithOptions(big, Options{MaxLength: 1 << 20})
	if le, ok := err.(*LengthError); !ok || le.Max != MaxMaxLength {
		t.Fatalf("limit above 4096 not clamped: %v", err)
	}
}

func TestReferenceNumbersNoFloatSurprises(t *testing.T) {
	p, err := Parse([]byte(`{"a":[{"numeric":["=",0.3]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// What 0.1+0.2 prints as in float64: more than six decimals, so not
	// comparable at all rather than "almost 0.3".
	ok, err := referenceMatch(p, []byte(`{"a":0.30000000000000004}`))
	if err != nil || ok {
		t.Fatalf("%v %v", ok, err)
	}
}
