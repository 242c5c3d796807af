package pattern

import (
	"bytes"
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
	if f, ok := eventNumber(lit); ok {
		return binary.BigEndian.AppendUint64(append(dst, tagNumber), math.Float64bits(f))
	}
	return append(append(dst, tagNumberLit), lit...)
}

// eventNumber is ComparableNumber for the common shape of event numbers,
// a plain decimal without exponent, computed in one pass without
// allocating; other literals go to ComparableNumber. Both give the same
// answers (TestEventNumber).
func eventNumber(lit []byte) (float64, bool) {
	// Event numbers with more decimals than AWS compares are common
	// (coordinates, measurements): tell them apart before any arithmetic.
	if dot := bytes.IndexByte(lit, '.'); dot >= 0 && len(lit)-dot-1 > NumberDecimals {
		if last := lit[len(lit)-1]; last >= '1' && last <= '9' && skipDigits(lit, dot+1) == len(lit) {
			return 0, false
		}
	}
	i, neg := 0, false
	if len(lit) > 0 && lit[0] == '-' {
		i, neg = 1, true
	}
	var units int64
	start := i
	for ; i < len(lit) && isDigit(lit[i]); i++ {
		units = units*10 + int64(lit[i]-'0')
	}
	if n := i - start; n == 0 || n > 10 || n > 1 && lit[start] == '0' {
		return ComparableNumber(lit)
	}
	frac := lit[i:i]
	if i < len(lit) && lit[i] == '.' {
		j := i + 1
		for j < len(lit) && isDigit(lit[j]) {
			j++
		}
		if j == i+1 {
			return ComparableNumber(lit)
		}
		frac, i = lit[i+1:j], j
		for len(frac) > 0 && frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
	}
	if i != len(lit) {
		return ComparableNumber(lit) // an exponent, or not a number
	}
	if len(frac) > NumberDecimals {
		return 0, false // more precise than AWS compares
	}
	for k := 0; k < NumberDecimals; k++ {
		units *= 10
		if k < len(frac) {
			units += int64(frac[k] - '0')
		}
	}
	if units > numberLimitUnits {
		return 0, false
	}
	if neg {
		units = -units
	}
	return float64(units) / numberScale, true
}
