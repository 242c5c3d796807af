package pattern

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// foldAppend appends the case-folding key of s (what foldKey in fold.go
// computes) to dst. Keys of equal-folding strings are equal byte for byte,
// and folding goes rune by rune, so folded prefixes and suffixes stay
// prefixes and suffixes: the tries can hold folded literals. ASCII, the
// common case, is handled without decoding runes.
func foldAppend(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			// The smallest rune of an ASCII letter's fold orbit is its
			// upper case (k and s fold with non-ASCII runes, all larger).
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// Tags that start the trie key of a number: a comparable number is keyed by
// its value (so 3, 3.0 and 3e0 meet), any other by its literal text, which
// is the only way such numbers match (see numbersEqual in number.go).
const (
	tagNumber    = 'n'
	tagNumberLit = 'N'
)

func appendNumberKey(dst []byte, lit []byte) []byte {
	if f, ok := ComparableNumber(lit); ok {
		return binary.BigEndian.AppendUint64(append(dst, tagNumber), math.Float64bits(f))
	}
	return append(append(dst, tagNumberLit), lit...)
}

// matchPathKey identifies a path by one string; lengths in front of the
// names keep it unambiguous whatever characters the names hold.
func matchPathKey(path []string) string {
	var b []byte
	for _, p := range path {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return string(b)
}
