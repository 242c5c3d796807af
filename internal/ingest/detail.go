package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// MaxDetailDepth is the deepest nesting of objects and arrays a Detail may
// have, as AWS accepts.
const MaxDetailDepth = 1100

var (
	errNotObject = errors.New("detail is not a JSON object")
	errInvalid   = errors.New("detail is not valid JSON")
	errTooDeep   = errors.New("detail is nested too deeply")
	errBigInt    = errors.New("detail has an integer outside the int64 range")
	errDupKey    = errors.New("detail has an object with a repeated key")
)

// CheckDetail reports whether detail is what AWS accepts as an event's
// Detail: one JSON object, nested at most MaxDetailDepth levels, whose
// integers (numbers without fraction or exponent) fit in an int64, and
// none of whose objects has the same key twice.
//
// Repeated keys are refused (MalformedDetail) because an event that has
// them has no one meaning: RFC 8259 leaves the choice to each receiver
// (most keep the last value), AWS's engine sees every occurrence, and the
// matcher's fast path stops reading a field once it has its value. Which
// rules match, and what a target reads, would differ for the same event.
// Keys are compared as decoded, so "a" and "\u0061" are the same key.
//
// It checks all of that in one pass over the bytes: validating with
// encoding/json and then scanning again for depth and integers cost a
// tenth of the server's CPU under PutEvents load. It accepts exactly what
// json.Valid accepts (after bytes.TrimSpace).
func CheckDetail(detail []byte) error {
	_, err := CheckDetailPaths(detail)
	return err
}

// CheckDetailPaths is CheckDetail that also reports whether some object of
// the detail has a key k without dots and a key that begins with k and a
// dot, such as "state" and "state.status". EventBridge reads a key holding
// dots as a path (it joins field names with dots: User Guide, "Event
// pattern syntax", "Considerations when creating event patterns"), so
// such an object reaches one path through two spellings, and the
// matcher's fast path (pattern.Matcher.AppendMatchesValid) may stop
// reading before the second: an event whose detail has them is matched
// reading all of it. Finding the answer costs a look for a dot per key.
func CheckDetailPaths(detail []byte) (respelled bool, err error) {
	d := bytes.TrimSpace(detail)
	if len(d) == 0 || d[0] != '{' {
		return false, errNotObject
	}
	s := detailScanner{d: d}
	if err := s.value(); err != nil {
		return false, err
	}
	s.ws()
	if s.i != len(d) {
		return false, errInvalid
	}
	return s.respelled, nil
}

type detailScanner struct {
	d     []byte
	i     int
	depth int
	// keys holds the keys of the objects being scanned, innermost last;
	// each object compares its new key with its own part (from its base),
	// or with a set once it has many. A key is its bytes between the
	// quotes, or, if it has escapes, its decoded form in decoded.
	keys    [128]keyRef // the first keys, on the stack
	more    []keyRef    // the keys beyond them, in deep or wide details
	nkeys   int
	decoded [][]byte
	// respelled is CheckDetailPaths's answer, found so far.
	respelled bool
}

func (s *detailScanner) push(k keyRef) {
	if s.nkeys < len(s.keys) {
		s.keys[s.nkeys] = k
	} else {
		s.more = append(s.more[:s.nkeys-len(s.keys)], k)
	}
	s.nkeys++
}

func (s *detailScanner) at(i int) keyRef {
	if i < len(s.keys) {
		return s.keys[i]
	}
	return s.more[i-len(s.keys)]
}

// keyRef is a key: d[off:off+n], or decoded[n] if off is -1.
type keyRef struct{ off, n int32 }

func (s *detailScanner) keyBytes(k keyRef) []byte {
	if k.off < 0 {
		return s.decoded[k.n]
	}
	return s.d[k.off : k.off+k.n]
}

// manyKeys is where an object's keys move from a list compared in turn to
// a set.
const manyKeys = 24

func (s *detailScanner) ws() {
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *detailScanner) value() error {
	s.ws()
	if s.i >= len(s.d) {
		return errInvalid
	}
	switch c := s.d[s.i]; {
	case c == '{':
		return s.container('}')
	case c == '[':
		return s.container(']')
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return errInvalid
}

// container scans the object or array at s.i; end is its closing bracket.
// An object's members are a key, a colon and a value; an array's elements
// a value.
func (s *detailScanner) container(end byte) error {
	if s.depth++; s.depth > MaxDetailDepth {
		return errTooDeep
	}
	s.i++ // '{' or '['
	s.ws()
	if s.i < len(s.d) && s.d[s.i] == end {
		s.i++
		s.depth--
		return nil
	}
	base := s.nkeys
	var set map[string]struct{}
	// firsts holds the first parts of this object's keys that hold dots
	// (up to the first dot), made when the first such key comes.
	var firsts map[string]struct{}
	for {
		if end == '}' {
			ref, dotted, err := s.key()
			if err != nil {
				return err
			}
			k := s.keyBytes(ref)
			if dotted && !s.respelled {
				dot := bytes.IndexByte(k, '.')
				if s.has(base, set, k[:dot]) {
					s.respelled = true
				}
				if firsts == nil {
					firsts = map[string]struct{}{}
				}
				firsts[string(k[:dot])] = struct{}{}
			} else if firsts != nil && !s.respelled {
				if _, ok := firsts[string(k)]; ok {
					s.respelled = true
				}
			}
			switch {
			case set != nil:
				if _, dup := set[string(k)]; dup {
					return errDupKey
				}
				set[string(k)] = struct{}{}
			default:
				for i := base; i < s.nkeys; i++ {
					if bytes.Equal(s.keyBytes(s.at(i)), k) {
						return errDupKey
					}
				}
				if s.push(ref); s.nkeys-base == manyKeys {
					set = make(map[string]struct{}, 2*manyKeys)
					for i := base; i < s.nkeys; i++ {
						set[string(s.keyBytes(s.at(i)))] = struct{}{}
					}
				}
			}
		}
		if err := s.value(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.d) {
			return errInvalid
		}
		switch s.d[s.i] {
		case ',':
			s.i++
		case end:
			s.i++
			s.depth--
			s.nkeys = base
			return nil
		default:
			return errInvalid
		}
	}
}

// has reports whether the object whose keys start at base (or are in set,
// once it has many) has the key k.
func (s *detailScanner) has(base int, set map[string]struct{}, k []byte) bool {
	if set != nil {
		_, ok := set[string(k)]
		return ok
	}
	for i := base; i < s.nkeys; i++ {
		if bytes.Equal(s.keyBytes(s.at(i)), k) {
			return true
		}
	}
	return false
}

// key scans an object member's key and the colon after it, and returns
// the key and whether it holds a dot (as decoded).
func (s *detailScanner) key() (ref keyRef, dot bool, err error) {
	s.ws()
	if s.i >= len(s.d) || s.d[s.i] != '"' {
		return keyRef{}, false, errInvalid
	}
	start := s.i
	if err := s.str(); err != nil {
		return keyRef{}, false, err
	}
	ref = keyRef{off: int32(start + 1), n: int32(s.i - start - 2)}
	raw := s.keyBytes(ref)
	dot = bytes.IndexByte(raw, '.') >= 0
	if bytes.IndexByte(raw, '\\') >= 0 {
		var dec string
		if err := json.Unmarshal(s.d[start:s.i], &dec); err != nil {
			return keyRef{}, false, errInvalid
		}
		s.decoded = append(s.decoded, []byte(dec))
		ref = keyRef{off: -1, n: int32(len(s.decoded) - 1)}
		dot = strings.IndexByte(dec, '.') >= 0
	}
	s.ws()
	if s.i >= len(s.d) || s.d[s.i] != ':' {
		return keyRef{}, false, errInvalid
	}
	s.i++
	return ref, dot, nil
}

func (s *detailScanner) str() error {
	d := s.d
	i := s.i + 1 // '"'
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.i = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(d) {
				return errInvalid
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return errInvalid
				}
				for _, h := range d[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return errInvalid
					}
				}
				i += 6
			default:
				return errInvalid
			}
		case c < 0x20:
			return errInvalid
		default:
			i++
		}
	}
	return errInvalid
}

func (s *detailScanner) literal(lit string) error {
	if !bytes.HasPrefix(s.d[s.i:], []byte(lit)) {
		return errInvalid
	}
	s.i += len(lit)
	return nil
}

func (s *detailScanner) number() error {
	d := s.d
	start := s.i
	i := s.i
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		digits()
	default:
		return errInvalid
	}
	integer := true
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			return errInvalid
		}
		integer = false
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			return errInvalid
		}
		integer = false
	}
	s.i = i
	// Up to 18 digits always fit; only longer integers need parsing.
	if integer && i-start > 18 {
		if _, err := strconv.ParseInt(string(d[start:i]), 10, 64); err != nil {
			return errBigInt
		}
	}
	return nil
}
