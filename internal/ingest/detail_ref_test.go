package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

const maxDetailDepthOld = 1100

// checkDetailOld is the two-pass CheckDetail (json.Valid, then a scan
// for depth and integers) that the one-pass scanner replaced; it stays as
// the oracle of FuzzCheckDetailSameAsBefore.
func checkDetailOld(detail []byte) error {
	d := bytes.TrimSpace(detail)
	if len(d) == 0 || d[0] != '{' {
		return errors.New("old: not object")
	}
	if !json.Valid(d) {
		return errors.New("detail is not valid JSON")
	}
	// The bytes are valid JSON, so a light scan suffices: outside strings,
	// brackets set the depth and number literals start with '-' or a digit.
	depth, inString := 0, false
	for i := 0; i < len(d); i++ {
		c := d[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > maxDetailDepthOld {
				return errors.New("old: too deep")
			}
		case c == '}' || c == ']':
			depth--
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			integer := true
			for j < len(d) && bytes.IndexByte([]byte("+-.0123456789eE"), d[j]) >= 0 {
				if d[j] == '.' || d[j] == 'e' || d[j] == 'E' {
					integer = false
				}
				j++
			}
			if integer {
				if _, err := strconv.ParseInt(string(d[i:j]), 10, 64); err != nil {
					return errors.New("old: big int")
				}
			}
			i = j - 1
		}
	}
	return nil
}

// hasRepeatedKey reports whether valid JSON b has an object with the same
// (decoded) key twice, reading it with encoding/json's tokenizer.
func hasRepeatedKey(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.expKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.obj {
				top.expKey = true
			}
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expKey: true})
			continue
		case json.Delim('['):
			if top != nil && top.obj {
				top.expKey = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.obj {
			top.expKey = true
		}
	}
}

func FuzzCheckDetailSameAsBefore(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":1},"c":{"b":2}}`, `{"a":1,"\u0061":2}`, `{"x":[{"a":1},{"a":1}]}`, `{}`, `{"a":[1,{"b":"c"}]}`, `{"n":-0.5e-3}`, `[`, `{"a":"\u00e9"}`, `{"n":9223372036854775808}`, "\v{}", `{"a":-}`, `{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":tru}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := checkDetailOld(b) == nil && !hasRepeatedKey(bytes.TrimSpace(b))
		if got := CheckDetail(b) == nil; got != want {
			t.Fatalf("CheckDetail(%q) ok=%v, want %v (json.Valid %v)", b, got, want, json.Valid(b))
		}
	})
}
