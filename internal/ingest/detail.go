package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// MaxDetailDepth is the deepest nesting of objects and arrays a Detail may
// have, as AWS accepts.
const MaxDetailDepth = 1100

var (
	errNotObject = errors.New("detail is not a JSON object")
	errTooDeep   = errors.New("detail is nested too deeply")
	errBigInt    = errors.New("detail has an integer outside the int64 range")
)

// CheckDetail reports whether detail is what AWS accepts as an event's
// Detail: one JSON object, nested at most MaxDetailDepth levels, whose
// integers (numbers without fraction or exponent) fit in an int64.
func CheckDetail(detail []byte) error {
	d := bytes.TrimSpace(detail)
	if len(d) == 0 || d[0] != '{' {
		return errNotObject
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
			if depth++; depth > MaxDetailDepth {
				return errTooDeep
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
					return errBigInt
				}
			}
			i = j - 1
		}
	}
	return nil
}
