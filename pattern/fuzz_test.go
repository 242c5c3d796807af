package pattern

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, refuses every input that is not
// JSON, and that what it accepts is well formed and deterministic; it also
// runs the reference evaluator over the result so that the two are fuzzed
// together.
func FuzzParse(f *testing.F) {
	for _, c := range loadConformance(f) {
		f.Add(c.Pattern)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParseWithOptions(src, Options{MaxLength: MaxMaxLength})
		if err != nil {
			var pe *Error
			var le *LengthError
			if !errors.As(err, &pe) && !errors.As(err, &le) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if pe != nil && !strings.HasPrefix(err.Error(), "Event pattern is not valid. Reason: ") {
				t.Fatalf("bad error text %q", err)
			}
			return
		}
		if !json.Valid(src) {
			t.Fatalf("accepted invalid JSON %q", src)
		}
		if p.Source != string(src) || p.String() != string(src) {
			t.Fatal("Source does not round-trip")
		}
		if len(p.Rules) == 0 || len(p.Rules) > MaxRules {
			t.Fatalf("%d rules", len(p.Rules))
		}
		if !strings.Contains(string(src), `"$or"`) && len(p.Rules) != 1 {
			t.Fatalf("%d rules without $or", len(p.Rules))
		}
		for _, r := range p.Rules {
			if len(r.Fields) == 0 {
				t.Fatal("empty rule")
			}
			for i, fl := range r.Fields {
				if len(fl.Conds) == 0 || len(fl.Path) == 0 {
					t.Fatalf("empty field %+v", fl)
				}
				// Keys are split at their dots (dotted.go).
				if slices.ContainsFunc(fl.Path, func(k string) bool { return strings.Contains(k, ".") }) {
					t.Fatalf("path part with a dot in %q", fl.Path)
				}
				if i > 0 && slices.Compare(r.Fields[i-1].Path, fl.Path) >= 0 {
					t.Fatalf("fields not sorted and unique: %q then %q", r.Fields[i-1].Path, fl.Path)
				}
				for _, c := range fl.Conds {
					checkCond(t, c)
				}
			}
		}
		again, err := ParseWithOptions(src, Options{MaxLength: MaxMaxLength})
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("Parse is not deterministic: %v", err)
		}
		// The pattern is itself a JSON object, so it doubles as an event.
		for _, ev := range [][]byte{[]byte(`{}`), src} {
			if _, err := referenceMatch(p, ev); err != nil {
				t.Fatalf("referenceMatch(%s): %v", ev, err)
			}
		}
	})
}

func checkCond(t *testing.T, c Cond) {
	t.Helper()
	switch c.Op {
	case OpExact:
		if c.Value.Kind == KindNumber && !validNumber([]byte(c.Value.Str)) {
			t.Fatalf("bad number %q", c.Value.Str)
		}
	case OpWildcard:
		if _, err := validateWildcard(c.Str); err != nil {
			t.Fatal(err)
		}
	case OpAnythingBut:
		if len(c.Values) == 0 {
			t.Fatal("anything-but without values")
		}
		for _, v := range c.Values {
			if v.Kind != c.Values[0].Kind || v.Kind != KindString && v.Kind != KindNumber {
				t.Fatalf("anything-but values %+v", c.Values)
			}
			if _, ok := ComparableNumber([]byte(v.Str)); v.Kind == KindNumber && !ok {
				t.Fatalf("anything-but number not comparable: %q", v.Str)
			}
		}
	case OpNumeric:
		r := c.Range
		if !r.HasLow && !r.HasHigh || r.HasLow && r.HasHigh && r.Low > r.High {
			t.Fatalf("bad range %+v", r)
		}
	case OpCIDR:
		if !c.Prefix.IsValid() {
			t.Fatal("invalid prefix")
		}
	case OpPrefix, OpSuffix, OpEqualsIgnoreCase, OpPrefixIgnoreCase, OpSuffixIgnoreCase,
		OpAnythingButPrefix, OpAnythingButSuffix, OpAnythingButIgnoreCase, OpAnythingButWildcard, OpExists:
	default:
		t.Fatalf("unknown op %d", c.Op)
	}
}
