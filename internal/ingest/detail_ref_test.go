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

func FuzzCheckDetailSameAsBefore(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"c"}]}`, `{"n":-0.5e-3}`, `[`, `{"a":"\u00e9"}`, `{"n":9223372036854775808}`, "\v{}", `{"a":-}`, `{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":tru}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := CheckDetail(b) == nil, checkDetailOld(b) == nil; got != want {
			t.Fatalf("CheckDetail(%q) ok=%v, before ok=%v (json.Valid %v)", b, got, want, json.Valid(b))
		}
	})
}
