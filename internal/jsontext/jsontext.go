// Package jsontext holds the small JSON string primitives that both the
// event pattern matcher (package pattern) and the input transformer
// (package transform) need: finding where a string ends while checking its
// escapes, and decoding those escapes, \u surrogate pairs included.
//
// Both packages read a few values out of each event straight from its
// bytes, on the path every event takes. encoding/json does not fit there:
// it decodes through reflection or a token stream that hands out fresh
// strings, and offers no way to find a string's end or to decode one string
// into a caller's buffer in place. The functions here work on byte slices
// as they are and never allocate on their own (an append may grow dst, as
// any append does), so the matcher keeps its zero-allocation matching path.
//
// Compacted serves the router (package match): whether an event is compact
// JSON already, so that the compaction targets need can be skipped.
//
// ScanString accepts exactly the strings encoding/json accepts, and
// AppendUnescaped decodes them as encoding/json does, but for one thing:
// it copies invalid UTF-8 as it stands where encoding/json puts U+FFFD for
// each bad byte; a caller that needs the replacement makes it. The fuzz
// test FuzzString holds them to this.
package jsontext

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// The faults ScanString reports. Their texts are part of the messages the
// callers build from them.
var (
	ErrUnterminated     = errors.New("unterminated string")
	ErrBadEscape        = errors.New("bad escape")
	ErrBadUnicodeEscape = errors.New(`bad \u escape`)
	ErrControlChar      = errors.New("control character in string")
)

// stop marks the bytes that end a run of plain string characters: the
// quote, the backslash and the control characters. A table lookup per byte
// is cheaper than a chain of comparisons.
var stop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return
}()

// ScanString checks the JSON string whose opening quote is b[i] and returns
// end, the index just past its closing quote, and esc, whether it holds
// escapes (and so must go through AppendUnescaped to be read). b[i] itself
// is not looked at.
//
// If the string is malformed, err is one of the Err values above and end is
// the offset of the fault: the backslash of a bad or cut-off escape, the
// control character, or len(b) for a string that is never closed.
func ScanString(b []byte, i int) (end int, esc bool, err error) {
	i++
	for {
		for i < len(b) && !stop[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, false, ErrUnterminated
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return i, false, ErrUnterminated
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return i, false, ErrBadUnicodeEscape
				}
				i += 6
			default:
				return i, false, ErrBadEscape
			}
		default:
			return i, false, ErrControlChar
		}
	}
}

// keyStop is stop with the dot added, for ScanKey.
var keyStop = func() (t [256]bool) {
	t = stop
	t['.'] = true
	return
}()

// ScanKey is ScanString for an object key that also reports whether the
// key's bytes hold a dot (a raw '.', not a \u002e escape): the pattern
// matcher reads a dotted key as a path, as EventBridge does, and learns it
// here without a second pass over the key. It repeats ScanString's loop
// rather than share it through a table argument, which slowed the
// matcher's scan of every string measurably; FuzzString holds the two to
// the same answers.
func ScanKey(b []byte, i int) (end int, esc, dot bool, err error) {
	i++
	for {
		for i < len(b) && !keyStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, false, false, ErrUnterminated
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, dot, nil
		case c == '.':
			dot = true
			i++
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return i, false, false, ErrUnterminated
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return i, false, false, ErrBadUnicodeEscape
				}
				i += 6
			default:
				return i, false, false, ErrBadEscape
			}
		default:
			return i, false, false, ErrControlChar
		}
	}
}

// AppendUnescaped appends to dst the text of the JSON string body raw (what
// stands between the quotes), its escapes decoded, and returns the extended
// slice. A \u escape of a surrogate that does not pair with the \u escape
// after it decodes to U+FFFD, as encoding/json decodes it (the escape after
// it is then decoded on its own); other bytes, invalid UTF-8 included, are
// copied as they are.
//
// raw must be a body that ScanString accepts. On any other input the result
// is unspecified, but AppendUnescaped does not panic.
func AppendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			return append(dst, c)
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			dst = append(dst, raw[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(raw) {
				return append(dst, raw[i:]...)
			}
			r := hex4(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hex4(raw[i+2:i+6])); d != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, d)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, c, raw[i+1])
		}
		i += 2
	}
	return dst
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isHex4 reports whether h holds hexadecimal digits only.
func isHex4(h []byte) bool {
	for _, c := range h {
		if !isHex(c) {
			return false
		}
	}
	return true
}

// hex4 returns the value of the four hexadecimal digits h[0:4], which must
// have been checked (other bytes give an unspecified value).
func hex4(h []byte) rune {
	var v rune
	for _, c := range h[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			v |= rune(c - 'a' + 10)
		default:
			v |= rune(c - 'A' + 10)
		}
	}
	return v
}

// Compacted reports whether the JSON text b holds no insignificant
// whitespace: whether json.Compact would return it unchanged. b must be
// valid JSON (for other input the answer means nothing). It reads strings
// with bytes.IndexByte, so it is several times cheaper than the compaction
// it lets a caller skip on text that is compact already, as the envelopes
// the server builds itself mostly are.
func Compacted(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			// find the closing quote: one preceded by an even run of
			// backslashes
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return false
				}
				i += 1 + j
				k := i - 1
				for b[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
		}
	}
	return true
}
