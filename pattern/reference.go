package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// referenceMatch is the slow, deliberately plain statement of AWS's matching
// semantics, against which the compiled Matcher is tested. It favours being
// evidently right over being fast: it decodes the whole event, lists every
// leaf with the array elements it sits in, and tries every assignment of
// leaves to fields.
//
// The semantics, each pinned by a conformance case:
//
//   - Only leaves (strings, numbers, true, false, null) are values; objects
//     are structure. A path that ends at an object has no value there.
//   - Arrays are transparent: a path reaches every element of every array it
//     passes through, at any nesting depth; an empty array contributes
//     nothing.
//   - A field matches when one of its conditions matches one of its values.
//     anything-but is judged value by value like the other operators, so
//     ["a","b"] satisfies {"anything-but":"a"} through "b"; with no value at
//     all (field missing) it does not match.
//   - exists:true matches any value, null included; exists:false matches
//     when the path has no value anywhere in the event.
//   - Array consistency: within one rule, the values chosen for different
//     fields must agree on the element of every array they both pass
//     through. {"a":[{"b":1,"c":2},{"b":3,"c":4}]} does not match
//     {"a":{"b":[1],"c":[4]}}.
//   - The event must be a JSON object; anything else is an error.
func referenceMatch(p *Pattern, event []byte) (bool, error) {
	leaves, err := referenceLeaves(event)
	if err != nil {
		return false, err
	}
	for _, r := range p.Rules {
		if referenceRule(r, leaves) {
			return true, nil
		}
	}
	return false, nil
}

// arrayPos says that a leaf is in element idx of the array numbered id.
type arrayPos struct{ id, idx int }

type leaf struct {
	v   Value
	arr []arrayPos
}

var errReferenceNotObject = errors.New("pattern: event is not a JSON object")

// referenceLeaves decodes the event and groups its leaves by path.
func referenceLeaves(event []byte) (map[string][]leaf, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	w := &leafWalker{dec: dec, out: map[string][]leaf{}}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if ok {
			// Still reject malformed input before the type.
			if err := w.skip(); err != nil {
				return nil, err
			}
		}
		return nil, errReferenceNotObject
	}
	if err := w.object(nil, nil); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("pattern: data after the event object")
		}
		return nil, err
	}
	return w.out, nil
}

type leafWalker struct {
	dec    *json.Decoder
	out    map[string][]leaf
	arrays int
}

func (w *leafWalker) object(path []string, arr []arrayPos) error {
	for {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return nil
		}
		key := tok.(string)
		// EventBridge joins keys with dots: a key holding dots is a
		// path (see dotted.go).
		sub := appendSplit(path[:len(path):len(path)], key)
		if err := w.value(sub, arr); err != nil {
			return err
		}
	}
}

func (w *leafWalker) value(path []string, arr []arrayPos) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	var v Value
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return w.object(path, arr)
		}
		id := w.arrays
		w.arrays++
		for i := 0; w.dec.More(); i++ {
			if err := w.value(path, append(arr[:len(arr):len(arr)], arrayPos{id, i})); err != nil {
				return err
			}
		}
		_, err := w.dec.Token() // ']'
		return err
	case string:
		v = Value{Kind: KindString, Str: t}
	case json.Number:
		v = numberValue(string(t))
	case bool:
		if t {
			v = Value{Kind: KindTrue, Str: "true"}
		} else {
			v = Value{Kind: KindFalse, Str: "false"}
		}
	case nil:
		v = Value{Kind: KindNull, Str: "null"}
	}
	k := branchKey(path)
	w.out[k] = append(w.out[k], leaf{v: v, arr: arr})
	return nil
}

func (w *leafWalker) skip() error {
	depth := 1
	for depth > 0 {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// referenceRule decides one conjunction, searching for leaves that satisfy
// every field and agree on their array elements.
func referenceRule(r Rule, leaves map[string][]leaf) bool {
	// For each field, the leaves it may be satisfied by; absent means the
	// field is satisfied without a leaf (exists:false on a missing path).
	type choice struct {
		free bool
		opts [][]arrayPos
	}
	choices := make([]choice, len(r.Fields))
	for i, f := range r.Fields {
		vals := leaves[branchKey(f.Path)]
		var ch choice
		for _, c := range f.Conds {
			if c.Op == OpExists && !c.Exists && len(vals) == 0 {
				ch.free = true
			}
		}
		for _, l := range vals {
			for _, c := range f.Conds {
				if referenceCond(&c, l.v) {
					ch.opts = append(ch.opts, l.arr)
					break
				}
			}
		}
		if !ch.free && len(ch.opts) == 0 {
			return false
		}
		choices[i] = ch
	}
	var chosen [][]arrayPos
	var try func(i int) bool
	try = func(i int) bool {
		if i == len(choices) {
			return true
		}
		if choices[i].free {
			return try(i + 1)
		}
		for _, arr := range choices[i].opts {
			if !consistentWithAll(arr, chosen) {
				continue
			}
			chosen = append(chosen, arr)
			if try(i + 1) {
				return true
			}
			chosen = chosen[:len(chosen)-1]
		}
		return false
	}
	return try(0)
}

func consistentWithAll(arr []arrayPos, chosen [][]arrayPos) bool {
	for _, other := range chosen {
		for _, a := range arr {
			for _, b := range other {
				if a.id == b.id && a.idx != b.idx {
					return false
				}
			}
		}
	}
	return true
}

// referenceCond applies one condition to one leaf.
func referenceCond(c *Cond, v Value) bool {
	isStr := v.Kind == KindString
	switch c.Op {
	case OpExact:
		if c.Value.Kind != v.Kind {
			return false
		}
		switch v.Kind {
		case KindString:
			return c.Value.Str == v.Str
		case KindNumber:
			return numbersEqual(c.Value.Str, v.Str)
		}
		return true
	case OpPrefix:
		return isStr && strings.HasPrefix(v.Str, c.Str)
	case OpSuffix:
		return isStr && strings.HasSuffix(v.Str, c.Str)
	case OpEqualsIgnoreCase:
		return isStr && equalFold(v.Str, c.Str)
	case OpPrefixIgnoreCase:
		return isStr && hasPrefixFold(v.Str, c.Str)
	case OpSuffixIgnoreCase:
		return isStr && hasSuffixFold(v.Str, c.Str)
	case OpWildcard:
		return isStr && matchWildcard(c.Str, v.Str)
	case OpAnythingBut:
		for _, x := range c.Values {
			if x.Kind == KindString && isStr && x.Str == v.Str {
				return false
			}
			if x.Kind == KindNumber && v.Kind == KindNumber {
				if n, ok := ComparableNumber([]byte(v.Str)); ok && n == x.Num {
					return false
				}
			}
		}
		return true
	case OpAnythingButPrefix:
		return !isStr || !anyString(c.Strs, func(s string) bool { return strings.HasPrefix(v.Str, s) })
	case OpAnythingButSuffix:
		return !isStr || !anyString(c.Strs, func(s string) bool { return strings.HasSuffix(v.Str, s) })
	case OpAnythingButIgnoreCase:
		return !isStr || !anyString(c.Strs, func(s string) bool { return equalFold(v.Str, s) })
	case OpAnythingButWildcard:
		return !isStr || !anyString(c.Strs, func(s string) bool { return matchWildcard(s, v.Str) })
	case OpNumeric:
		if v.Kind != KindNumber {
			return false
		}
		n, ok := ComparableNumber([]byte(v.Str))
		return ok && inRange(c.Range, n)
	case OpExists:
		return c.Exists
	case OpCIDR:
		return isStr && cidrMatchString(c.Prefix, v.Str)
	}
	panic("pattern: unknown operator " + strconv.Itoa(int(c.Op)))
}

func anyString(list []string, f func(string) bool) bool {
	for _, s := range list {
		if f(s) {
			return true
		}
	}
	return false
}

// inRange reports whether n (a ComparableNumber value) lies in r.
func inRange(r Range, n float64) bool {
	if r.HasLow && (n < r.Low || r.LowOpen && n == r.Low) {
		return false
	}
	if r.HasHigh && (n > r.High || r.HighOpen && n == r.High) {
		return false
	}
	return true
}
