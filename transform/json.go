package transform

import (
	"bytes"
	"errors"

	"github.com/switchyard/switchyard/internal/jsontext"
)

// The scanner below walks raw JSON bytes instead of decoding them: a target
// needs a few values out of each event, and copying their bytes is far
// cheaper than building a generic tree. Every value it hands out has been
// scanned in full, so it is valid JSON even when the rest of the document
// is never looked at.

var errSyntax = errors.New("transform: event is not valid JSON")

// kind is the JSON type of a value, from its first byte.
type kind uint8

const (
	kindMissing kind = iota
	kindString
	kindNumber
	kindBool
	kindNull
	kindObject
	kindArray
)

func kindOf(v []byte) kind {
	if len(v) == 0 {
		return kindMissing
	}
	switch v[0] {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't', 'f':
		return kindBool
	case 'n':
		return kindNull
	}
	return kindNumber
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue returns the end of the value that starts at b[i] (no leading
// whitespace).
func scanValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := jsontext.ScanString(b, i)
		if err != nil {
			return 0, errSyntax
		}
		return end, nil
	case c == '{':
		return scanObject(b, i, nil)
	case c == '[':
		return scanArray(b, i, nil)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	}
	return 0, errSyntax
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return 0, errSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, errSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, errSyntax
		}
	}
	return i, nil
}

// scanObject scans the object at b[i], calling member (when not nil) with
// each raw key (quotes included) and value.
func scanObject(b []byte, i int, member func(key, val []byte) error) (int, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		kend, _, err := jsontext.ScanString(b, i)
		if err != nil {
			return 0, errSyntax
		}
		key := b[i:kend]
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		i = skipWS(b, i+1)
		vend, err := scanValue(b, i)
		if err != nil {
			return 0, err
		}
		if member != nil {
			if err := member(key, b[i:vend]); err != nil {
				return 0, err
			}
		}
		var done bool
		if i, done, err = next(b, vend, '}'); done || err != nil {
			return i, err
		}
	}
}

// scanArray scans the array at b[i], calling elem (when not nil) with each
// element.
func scanArray(b []byte, i int, elem func(n int, val []byte) error) (int, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		vend, err := scanValue(b, i)
		if err != nil {
			return 0, err
		}
		if elem != nil {
			if err := elem(n, b[i:vend]); err != nil {
				return 0, err
			}
		}
		var done bool
		if i, done, err = next(b, vend, ']'); done || err != nil {
			return i, err
		}
	}
}

// next reads what follows a member or element that ends at b[i]: a comma,
// and it returns where the following one starts, or end (the closing
// bracket), and it returns the end of the object or array and done.
func next(b []byte, i int, end byte) (int, bool, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return 0, false, errSyntax
	}
	switch b[i] {
	case ',':
		return skipWS(b, i+1), false, nil
	case end:
		return i + 1, true, nil
	}
	return 0, false, errSyntax
}

// keyIs reports whether the raw key (with quotes) names name.
func keyIs(key []byte, name string) bool {
	raw := key[1 : len(key)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	if len(raw) < len(name) {
		return false // escapes only ever shorten
	}
	var buf [128]byte
	return string(jsontext.AppendUnescaped(buf[:0], raw)) == name
}

// member returns the value of obj's member name, the last one if the name
// repeats (as a JSON parser that overwrites would keep).
func member(obj []byte, name string) ([]byte, error) {
	var found []byte
	_, err := scanObject(obj, 0, func(key, val []byte) error {
		if keyIs(key, name) {
			found = val
		}
		return nil
	})
	return found, err
}

var errStop = errors.New("stop")

// element returns arr's element n.
func element(arr []byte, n int) ([]byte, error) {
	var found []byte
	_, err := scanArray(arr, 0, func(i int, val []byte) error {
		if i == n {
			found = val
			return errStop
		}
		return nil
	})
	if err == errStop {
		err = nil
	}
	return found, err
}

// appendCompact appends the scanned value v without insignificant
// whitespace.
func appendCompact(dst, v []byte) []byte {
	in := false
	start := 0 // of the run of v not yet appended
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			dst = append(dst, v[start:i]...)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// appendUnquoted appends a compacted object or array with the quotes
// around its strings dropped, which is how AWS inserts a structure into a
// JSON string ("EventBridge removes any internal quotes to ensure a valid
// string"). The strings keep their escapes, so the result stays valid
// inside a JSON string.
func appendUnquoted(dst, v []byte) []byte {
	in := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case in && c == '\\':
			dst = append(dst, c, v[i+1])
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendQuoted appends s as a JSON string. Like encoding/json it escapes
// <, > and & nowhere: targets receive the text as written.
func appendQuoted(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
