package pattern

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/switchyard/switchyard/internal/jsontext"
)

// The scanner walks the event's bytes once. It descends only into keys that
// some pattern uses (the path trie tells which), hands their scalar values to
// the value index straight from the event buffer, and skips everything else.
// Skipped subtrees are still checked for well-formedness, so a malformed
// event is rejected wherever the fault lies.

var errNotObject = errors.New("pattern: event is not a JSON object")

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("pattern: invalid JSON event at offset %d: %s", e.off, e.msg)
}

// maxDepth bounds nesting so that a hostile event cannot exhaust the stack.
const maxDepth = 10000

// Byte classes used by the skipping loops; a table lookup per byte is
// cheaper than a chain of comparisons.
const (
	clsWS = 1 << iota
	clsStrStop
)

var byteClass = func() (t [256]uint8) {
	for _, c := range []byte{' ', '\t', '\n', '\r'} {
		t[c] |= clsWS
	}
	for c := 0; c < 0x20; c++ {
		t[c] |= clsStrStop
	}
	t['"'] |= clsStrStop
	t['\\'] |= clsStrStop
	return
}()

func (s *evalState) fail(i int, msg string) error {
	return &syntaxError{off: i, msg: msg}
}

func (s *evalState) ws(i int) int {
	b := s.ev
	// Most events are compact: test for the common case before looping.
	if i < len(b) && b[i] > ' ' {
		return i
	}
	for i < len(b) && byteClass[b[i]]&clsWS != 0 {
		i++
	}
	return i
}

// scanEvent checks that the event is one JSON object and feeds the values
// at used paths to the matcher.
func (s *evalState) scanEvent() error {
	i := s.ws(0)
	if i >= len(s.ev) {
		return s.fail(i, "empty event")
	}
	if s.ev[i] != '{' {
		if _, err := s.skipValue(i, 0); err != nil {
			return err
		}
		return errNotObject
	}
	i, err := s.scanObject(i, s.snap.root, 0, true)
	if err != nil {
		return err
	}
	if i = s.ws(i); i != len(s.ev) {
		return s.fail(i, "data after the top-level value")
	}
	return nil
}

// scanString is jsontext.ScanString over the event, its fault made a
// syntax error. The skipping loops call it (only for strings with escapes)
// rather than build the error inline, which measurably slows their hot
// loops; scanObject and scanValue, which scan every string they read, call
// jsontext.ScanString directly and save a call.
func (s *evalState) scanString(i int) (end int, esc bool, err error) {
	end, esc, err = jsontext.ScanString(s.ev, i)
	if err != nil {
		return 0, false, s.fail(end, err.Error())
	}
	return end, esc, nil
}

// scanNumber checks the JSON number grammar from i and returns its end.
func (s *evalState) scanNumber(i int) (int, error) {
	b := s.ev
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return 0, s.fail(start, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		if i = skipDigits(b, i); i == d {
			return 0, s.fail(start, "bad number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, s.fail(start, "bad number")
		}
	}
	return i, nil
}

func (s *evalState) scanLiteral(i int, lit string) (int, error) {
	if len(s.ev)-i < len(lit) || string(s.ev[i:i+len(lit)]) != lit {
		return 0, s.fail(i, "bad literal")
	}
	return i + len(lit), nil
}

// scanObject reads the object at i (s.ev[i] == '{') whose keys are looked up
// under node. tail says that once every key used here has been met, no
// more of the event is needed (for events known to be valid): the scan
// then ends at once (s.done).
func (s *evalState) scanObject(i int, node *pathNode, depth int, tail bool) (int, error) {
	if depth++; depth > maxDepth {
		return 0, s.fail(i, "nesting too deep")
	}
	b := s.ev
	i = s.ws(i + 1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	// For events known to be valid, reading can stop once every key used
	// here has been met: seen has a bit per key of node.
	var seen, all uint64
	if s.trusted && node != nil && len(node.kids) <= 64 {
		all = 1<<len(node.kids) - 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, s.fail(i, "expected a key")
		}
		end, esc, dot, err := jsontext.ScanKey(b, i)
		if err != nil {
			return 0, s.fail(end, err.Error())
		}
		key := b[i+1 : end-1]
		if esc {
			s.scratch = jsontext.AppendUnescaped(s.scratch[:0], key)
			key = s.scratch
		}
		child, at := node.child(key)
		if child == nil && (dot || esc) && node != nil && node.deep > 0 {
			// A key holding dots is a path (see dotted.go). It is
			// not one of this level's keys (at stays -1): another
			// key may lead to the same place.
			child = node.dotted(key)
		}
		i = s.ws(end)
		if i >= len(b) || b[i] != ':' {
			return 0, s.fail(i, "expected ':'")
		}
		i = s.ws(i + 1)
		switch {
		case child != nil:
			// The last key used here, in a level that is the last
			// needed, is the last needed in its turn.
			last := tail && at >= 0 && seen|1<<uint(at) == all && all != 0
			i, err = s.scanValue(i, child, depth, last)
			if s.done {
				return len(b), err
			}
			if at >= 0 {
				seen |= 1 << uint(at)
			}
		case s.trusted:
			i, err = s.lightSkip(i, 0)
		default:
			i, err = s.skipValue(i, depth)
		}
		if err != nil {
			return 0, err
		}
		if seen == all && all != 0 {
			if tail {
				// The rest of the event is of no interest.
				s.done = true
				return len(b), nil
			}
			return s.lightSkip(i, 1)
		}
		i = s.ws(i)
		if i >= len(b) {
			return 0, s.fail(i, "unterminated object")
		}
		switch b[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			return i + 1, nil
		default:
			return 0, s.fail(i, "expected ',' or '}'")
		}
	}
}

// scanValue reads a value found at node's path; tail is scanObject's.
func (s *evalState) scanValue(i int, node *pathNode, depth int, tail bool) (int, error) {
	b := s.ev
	if i >= len(b) {
		return 0, s.fail(i, "expected a value")
	}
	leaf := node.idx != nil
	switch c := b[i]; c {
	case '{':
		switch {
		case node.hasKids():
			return s.scanObject(i, node, depth, tail)
		case s.trusted:
			return s.lightSkip(i, 0)
		}
		return s.skipValue(i, depth)
	case '[':
		return s.scanArray(i, node, depth)
	case '"':
		end, esc, err := jsontext.ScanString(b, i)
		if err != nil {
			return 0, s.fail(end, err.Error())
		}
		if leaf {
			s.onString(node, i+1, end-1, esc)
		}
		return end, nil
	case 't', 'f', 'n':
		lit, kind := "true", KindTrue
		if c == 'f' {
			lit, kind = "false", KindFalse
		} else if c == 'n' {
			lit, kind = "null", KindNull
		}
		end, err := s.scanLiteral(i, lit)
		if err != nil {
			return 0, err
		}
		if leaf {
			s.onValue(node, kind, i, end)
		}
		return end, nil
	default:
		var end int
		if s.trusted && (c == '-' || c >= '0' && c <= '9') {
			end = lightNumber(b, i)
		} else {
			var err error
			if end, err = s.scanNumber(i); err != nil {
				return 0, err
			}
		}
		if leaf {
			s.onValue(node, KindNumber, i, end)
		}
		return end, nil
	}
}

// scanArray reads an array at node's path. Each array gets a fresh id and
// each element its index, so that values can later be told apart by the
// array elements they came from (array consistency).
func (s *evalState) scanArray(i int, node *pathNode, depth int) (int, error) {
	if depth++; depth > maxDepth {
		return 0, s.fail(i, "nesting too deep")
	}
	b := s.ev
	s.nextArray++
	s.trail = append(s.trail, trailStep{arr: s.nextArray})
	s.trailSaved = false
	top := len(s.trail) - 1
	defer s.popTrail(top)
	i = s.ws(i + 1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		// Later elements may be needed: no element is a tail.
		i, err = s.scanValue(i, node, depth, false)
		if err != nil {
			return 0, err
		}
		i = s.ws(i)
		if i >= len(b) {
			return 0, s.fail(i, "unterminated array")
		}
		switch b[i] {
		case ',':
			s.trail[top].idx++
			s.trailSaved = false
			i = s.ws(i + 1)
		case ']':
			return i + 1, nil
		default:
			return 0, s.fail(i, "expected ',' or ']'")
		}
	}
}

func (s *evalState) popTrail(top int) {
	s.trail = s.trail[:top]
	s.trailSaved = false
}

// skipValue passes over a value no pattern reads, checking its syntax.
// It is the hottest loop of matching (most of an event is usually skipped),
// so it keeps open brackets on an explicit stack instead of recursing, and
// handles plain strings and numbers inline; anything unusual (escapes,
// errors, literals) goes to the general functions.
func (s *evalState) skipValue(i int, depth int) (int, error) {
	b := s.ev
	stack := s.skipStack[:0]
	defer s.keepSkipStack(&stack)
	var err error
	for {
		// A value starts at i.
		if i >= len(b) {
			return 0, s.fail(i, "expected a value")
		}
		switch c := b[i]; {
		case c == '"':
			if j := plainStringEnd(b, i+1); j > 0 {
				i = j
			} else if i, _, err = s.scanString(i); err != nil {
				return 0, err
			}
		case c == '-' || c >= '0' && c <= '9':
			if i, err = s.scanNumber(i); err != nil {
				return 0, err
			}
		case c == '{' || c == '[':
			if len(stack)+depth >= maxDepth {
				return 0, s.fail(i, "nesting too deep")
			}
			i = s.ws(i + 1)
			closer := c + 2 // '{'+2 == '}', '['+2 == ']'
			if i < len(b) && b[i] == closer {
				i++
				break
			}
			stack = append(stack, closer)
			if c == '{' {
				if i, err = s.skipKey(i); err != nil {
					return 0, err
				}
			}
			continue
		case c == 't':
			i, err = s.scanLiteral(i, "true")
		case c == 'f':
			i, err = s.scanLiteral(i, "false")
		case c == 'n':
			i, err = s.scanLiteral(i, "null")
		default:
			return 0, s.fail(i, "expected a value")
		}
		if err != nil {
			return 0, err
		}
		// A value ended at i: close finished containers, then move on to
		// the next value.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			i = s.ws(i)
			if i >= len(b) {
				return 0, s.fail(i, "unterminated container")
			}
			closer := stack[len(stack)-1]
			if b[i] == closer {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return 0, s.fail(i, "expected ',' or a closing bracket")
			}
			i = s.ws(i + 1)
			if closer == '}' {
				if i, err = s.skipKey(i); err != nil {
					return 0, err
				}
			}
			break
		}
	}
}

// lightSkip is skipValue for events known to be valid: it only counts
// brackets and finds string ends. With open > 0 it skips to the end of the
// open containers instead of over one value. Malformed input still yields
// an error or a wrong position, never a panic.
func (s *evalState) lightSkip(i, open int) (int, error) {
	b := s.ev
	if open == 0 {
		if i >= len(b) {
			return 0, s.fail(i, "expected a value")
		}
		switch b[i] {
		case '"':
			return s.lightString(i)
		case '{', '[':
			i, open = i+1, 1
		default:
			for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && byteClass[b[i]]&clsWS == 0 {
				i++
			}
			return i, nil
		}
	}
	depth := open
	for {
		// Eight bytes at a time while none can be a quote or a bracket:
		// c|0x26 == 0x7f holds for the four brackets (and for Y, _, y and
		// DEL, which the switch below then passes over). The lowest flag
		// marks the first such byte (a borrow only flags bytes above a
		// true match): go straight to it.
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			q := w ^ (lo8 * '"')
			br := (w | lo8*0x26) ^ (lo8 * 0x7f)
			if m := ((q-lo8)&^q | (br-lo8)&^br) & hi8; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return 0, s.fail(i, "unterminated container")
		}
		switch b[i] {
		case '"':
			var err error
			if i, err = s.lightString(i); err != nil {
				return 0, err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
}

// lightNumber returns the end of the number starting at i in a valid
// event: the first comma, closing bracket or blank (or control byte) after
// it, found eight bytes at a time. (Bytes above 0x7f are not flagged: in an
// invalid event the number then runs on, which the number decoders reject.)
func lightNumber(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		lt := (w - lo8*0x21) &^ w // bytes below 0x21
		cm := w ^ (lo8 * ',')
		br := (w | lo8*0x20) ^ (lo8 * '}') // ']' and '}'
		if m := (lt | (cm-lo8)&^cm | (br-lo8)&^br) & hi8; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c <= ' ' || c == ',' || c == ']' || c == '}' {
			break
		}
	}
	return i
}

// lightString returns the end of the string starting at the quote at i.
func (s *evalState) lightString(i int) (int, error) {
	b := s.ev
	// Strings are short: a byte loop beats a call to IndexByte.
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i++
		}
	}
	return 0, s.fail(i, "unterminated string")
}

// plainStringEnd returns the index after the closing quote of a string body
// starting at i that holds no escapes or control characters, or -1.
func plainStringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; byteClass[c]&clsStrStop != 0 {
			if c == '"' {
				return i + 1
			}
			return -1
		}
	}
	return -1
}

func (s *evalState) keepSkipStack(st *[]byte) { s.skipStack = (*st)[:0] }

// skipKey passes over `"key" :` and the blanks after it.
func (s *evalState) skipKey(i int) (int, error) {
	b := s.ev
	if i >= len(b) || b[i] != '"' {
		return 0, s.fail(i, "expected a key")
	}
	if j := plainStringEnd(b, i+1); j > 0 {
		i = j
	} else {
		end, _, err := s.scanString(i)
		if err != nil {
			return 0, err
		}
		i = end
	}
	if i < len(b) && b[i] == ':' {
		return s.ws(i + 1), nil
	}
	i = s.ws(i)
	if i >= len(b) || b[i] != ':' {
		return 0, s.fail(i, "expected ':'")
	}
	return s.ws(i + 1), nil
}

// SWAR helpers: test eight bytes of a little-endian word at once.
const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// digits8 reports whether all eight bytes are ASCII digits.
func digits8(w uint64) bool {
	return (w&0xF0F0F0F0F0F0F0F0)|(((w+0x0606060606060606)&0xF0F0F0F0F0F0F0F0)>>4) == 0x3333333333333333
}

func skipDigits(b []byte, i int) int {
	for i+8 <= len(b) && digits8(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
