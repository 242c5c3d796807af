package pattern

import (
	"encoding/binary"
	"math"
	"math/bits"
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

// appendPatternNumberKey appends the trie key of an exact pattern number:
// by value when it is comparable as a pattern number (patternNumber), by
// its literal otherwise.
func appendPatternNumberKey(dst []byte, lit []byte) []byte {
	if f, ok := patternNumber(lit); ok {
		return appendNumberValueKey(dst, f)
	}
	return append(append(dst, tagNumberLit), lit...)
}

func appendNumberValueKey(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, tagNumber), math.Float64bits(f))
}

// pow10u holds the powers of ten that fit in a uint64.
var pow10u = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return
}()

// eventNumber is ComparableNumber for event numbers (see numClass).
func eventNumber(lit []byte) (float64, bool) {
	f, c := eventNumberClass(lit)
	return f, c != numNone
}

// eventNumberClass is comparableNumber for the common shape of event
// numbers, a plain decimal without exponent, computed in one pass without
// allocating; other literals go to comparableNumber. Both give the same
// answers (TestEventNumber).
func eventNumberClass(lit []byte) (float64, numClass) {
	i, neg := 0, false
	if len(lit) > 0 && lit[0] == '-' {
		i, neg = 1, true
	}
	start := i
	var ip uint64 // the integer part
	for ; i < len(lit) && isDigit(lit[i]); i++ {
		ip = ip*10 + uint64(lit[i]-'0')
	}
	n := i - start
	if n == 0 || n > 10 || n > 1 && lit[start] == '0' {
		return comparableNumber(lit)
	}
	fs, fe := i, i // the fraction's digits
	if i < len(lit) && lit[i] == '.' {
		j := skipDigits(lit, i+1)
		if j == i+1 {
			return comparableNumber(lit)
		}
		fs, fe, i = i+1, j, j
	}
	if i != len(lit) {
		return comparableNumber(lit) // an exponent, or not a number
	}
	for fe > fs && lit[fe-1] == '0' {
		fe--
	}
	nf := fe - fs
	if nf > NumberDecimals {
		// More precise than the fixed point: the nearest float64, if the
		// number is within the limit (the fraction is not zero, so the
		// integer part must be below it).
		if ip >= 5_000_000_000 {
			return 0, numNone
		}
		if n+nf > 19 {
			return comparableNumber(lit)
		}
		m := ip
		for k := fs; k < fe; k++ {
			m = m*10 + uint64(lit[k]-'0')
		}
		f, ok := nearestFloat(m, nf)
		if !ok {
			return comparableNumber(lit)
		}
		if neg {
			f = -f
		}
		return f, numPrecise
	}
	units := ip
	for k := 0; k < NumberDecimals; k++ {
		units *= 10
		if k < nf {
			units += uint64(lit[fs+k] - '0')
		}
	}
	if units > numberLimitUnits {
		return 0, numNone
	}
	f := float64(units) / numberScale
	if neg && units != 0 {
		f = -f // -0 is 0
	}
	return f, numFixed
}

// nearestFloat returns the float64 nearest to m / 10^k (ties to even), for
// 0 < m < 10^19 and k <= 19, or false when the value is too small for the
// 128-bit arithmetic used here (the caller then asks strconv).
//
// While m fits in float64's 53-bit significand the quotient of two exact
// floats is correctly rounded by the division itself. Otherwise the
// division's result is within a unit in the last place or two of the
// answer, and exact comparisons of m / 10^k with the midpoints between
// neighbouring floats move it to the right one.
func nearestFloat(m uint64, k int) (float64, bool) {
	p := pow10u[k]
	if m <= 1<<53 {
		return float64(m) / float64(p), true
	}
	c := math.Float64bits(float64(m) / float64(p))
	for range 4 {
		// Above the midpoint with the next float (or on it, with c odd):
		// the next float is nearer.
		r, ok := cmpMidpoint(m, p, c, c+1)
		if !ok {
			return 0, false
		}
		if r > 0 || r == 0 && c&1 == 1 {
			c++
			continue
		}
		if r, ok = cmpMidpoint(m, p, c-1, c); !ok {
			return 0, false
		}
		if r < 0 || r == 0 && c&1 == 1 {
			c--
			continue
		}
		return math.Float64frombits(c), true
	}
	return 0, false
}

// cmpMidpoint compares m / p with the midpoint of the positive normal
// floats whose bits are lo and lo+1 (= hi): -1, 0 or +1, and false when the
// comparison does not fit in 128 bits.
func cmpMidpoint(m, p, lo, hi uint64) (int, bool) {
	const frac = 1<<52 - 1
	elo, ehi := int(lo>>52), int(hi>>52)
	if elo == 0 || ehi >= 0x7ff {
		return 0, false // subnormal or not finite
	}
	// lo = mlo × 2^(elo-1075), hi = mhi × 2^(ehi-1075), ehi - elo is 0 or
	// 1; the midpoint is s × 2^(elo-1076) with s = mlo + mhi << (ehi-elo).
	mlo, mhi := lo&frac|1<<52, hi&frac|1<<52
	s := mlo + mhi<<uint(ehi-elo)
	// Compare m × 2^(1076-elo) with s × p.
	sh := 1076 - elo
	if sh < 0 || sh+bits.Len64(m) > 128 {
		return 0, false
	}
	var lh, ll uint64
	if sh >= 64 {
		lh = m << uint(sh-64)
	} else {
		lh, ll = m>>uint(64-sh), m<<uint(sh)
	}
	rh, rl := bits.Mul64(s, p)
	switch {
	case lh > rh || lh == rh && ll > rl:
		return 1, true
	case lh == rh && ll == rl:
		return 0, true
	}
	return -1, true
}
