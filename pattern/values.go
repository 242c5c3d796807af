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

// parse8 returns the value of eight ASCII digits read as a little-endian
// word (the first digit in the lowest byte): neighbouring digits are
// combined in pairs, pairs in fours, fours in the result, each step one
// multiplication over all lanes at once.
func parse8(w uint64) uint64 {
	w -= 0x3030303030303030
	w = w*10 + w>>8 // each 16-bit lane's low byte: 10 × first digit + second
	const lane = 0x000000FF000000FF
	return ((w&lane)*(100+1_000_000<<32) + (w>>16&lane)*(1+10_000<<32)) >> 32
}

// pow10u holds the powers of ten that fit in a uint64.
var pow10u = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return
}()

// eventNumberClass is comparableNumber for the common shape of event
// numbers, a plain decimal without exponent, computed in one pass without
// allocating; other literals go to comparableNumber. Both give the same
// answers (TestEventNumber).
func eventNumberClass(lit []byte) (float64, numClass) {
	f, c, _ := eventNumberOf(lit, true)
	return f, c
}

// approxTolerance bounds the distance between an approximate event number
// (see eventNumberOf) and the exact one: the division that makes it is off
// by at most about |v| × 2^-52, the exact float by half a unit in the last
// place, |v| × 2^-53 at most. Comparisons of the interval a ± tolerance
// with a bound that are settled either way hold for the exact value too;
// the others need the exact value.
func approxTolerance(a float64) float64 { return math.Abs(a) * 0x1p-50 }

// quickNum bounds the ComparableNumber of a long decimal from its first
// digits, without reading the rest: for a plain decimal (no exponent) with
// fewer than ten integer digits and 8 to 16 after the point, the value
// lies within [lo, hi]. Range tests that this interval settles need no
// exact decoding. ok is false for other literals.
func quickNum(lit []byte) (lo, hi float64, ok bool) {
	i, neg := 0, false
	if len(lit) > 0 && lit[0] == '-' {
		i, neg = 1, true
	}
	start := i
	var ip uint64
	for ; i < len(lit) && isDigit(lit[i]); i++ {
		ip = ip*10 + uint64(lit[i]-'0')
	}
	n := i - start
	fs := i + 1
	if n == 0 || n > 9 || n > 1 && lit[start] == '0' || i >= len(lit) || lit[i] != '.' ||
		len(lit)-fs < 8 || len(lit)-fs > 16 {
		return 0, 0, false
	}
	// Two words cover the whole fraction: it is all digits.
	w := binary.LittleEndian.Uint64(lit[fs:])
	if !digits8(w) || !digits8(binary.LittleEndian.Uint64(lit[len(lit)-8:])) {
		return 0, 0, false
	}
	// The value is m/10^8 plus less than 10^-8. Converting m and scaling
	// by 1e-8 are each off by at most a unit in the last place, the
	// nearest float64 of the exact value by half of one: 2^-49 of
	// relative margin covers them all.
	m := ip*100_000_000 + parse8(w)
	lo = float64(m) * 1e-8 * (1 - 0x1p-49)
	hi = float64(m+1) * 1e-8 * (1 + 0x1p-49)
	if neg {
		lo, hi = -hi, -lo
	}
	return lo, hi, true
}

// eventNumberOf is eventNumberClass; unless exact is set, a number with
// more than 15 significant digits may come back approximate (approx set):
// within approxTolerance of the exact value, which comparisons near a
// bound must then compute.
func eventNumberOf(lit []byte, exact bool) (float64, numClass, bool) {
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
		f, c := comparableNumber(lit)
		return f, c, false
	}
	// m gathers all the digits, nf counts those after the point; one pass
	// over the fraction, eight digits at a time.
	m, nf := ip, 0
	if i < len(lit) && lit[i] == '.' {
		fs := i + 1
		if n+len(lit)-fs > 19 {
			// More digits than a word holds (or an exponent).
			f, c := comparableNumber(lit)
			return f, c, false
		}
		k := fs
		for k+8 <= len(lit) {
			w := binary.LittleEndian.Uint64(lit[k:])
			if !digits8(w) {
				break
			}
			m = m*100_000_000 + parse8(w)
			k += 8
		}
		for ; k < len(lit) && isDigit(lit[k]); k++ {
			m = m*10 + uint64(lit[k]-'0')
		}
		if k == fs {
			f, c := comparableNumber(lit)
			return f, c, false
		}
		nf, i = k-fs, k
		for nf > 0 && lit[fs+nf-1] == '0' {
			m /= 10
			nf--
		}
	}
	if i != len(lit) {
		f, c := comparableNumber(lit) // an exponent, or not a number
		return f, c, false
	}
	if nf > NumberDecimals {
		// More precise than the fixed point: the nearest float64, if the
		// number is within the limit (the fraction is not zero, so the
		// integer part must be below it).
		if ip >= 5_000_000_000 {
			return 0, numNone, false
		}
		var f float64
		approx := false
		if !exact && m > 1<<53 {
			f, approx = float64(m)/float64(pow10u[nf]), true
		} else {
			var ok bool
			if f, ok = nearestFloat(m, nf); !ok {
				f, c := comparableNumber(lit)
				return f, c, false
			}
		}
		if neg {
			f = -f
		}
		return f, numPrecise, approx
	}
	units := m * pow10u[NumberDecimals-nf]
	if units > numberLimitUnits {
		return 0, numNone, false
	}
	f := float64(units) / numberScale
	if neg && units != 0 {
		f = -f // -0 is 0
	}
	return f, numFixed, false
}

// nearestFloat returns the float64 nearest to m / 10^k (ties to even), for
// 0 < m < 10^19 and k <= 19, or false when the value is too small for the
// 128-bit arithmetic used here (the caller then asks strconv).
//
// While m fits in float64's 53-bit significand the quotient of two exact
// floats is correctly rounded by the division itself. Otherwise the
// division's result c is within two units in the last place of the answer:
// the exact distance from c to m / 10^k, scaled to an integer, says whether
// a neighbour of c is nearer.
func nearestFloat(m uint64, k int) (float64, bool) {
	p := pow10u[k]
	if m <= 1<<53 {
		return float64(m) / float64(p), true
	}
	c := math.Float64bits(float64(m) / float64(p))
	for range 4 {
		e := int(c >> 52) // c = M × 2^(e-1075), c positive
		if e == 0 {
			return 0, false // subnormal
		}
		sh := 1075 - e
		if sh <= 0 || sh+bits.Len64(m) > 127 {
			return 0, false
		}
		mant := c&(1<<52-1) | 1<<52
		// m/p - c = (m × 2^sh - M × p) / (p × 2^sh) = d / (p × 2^sh): c's
		// neighbours lie at d = ±p (a binade's lowest float has its lower
		// neighbour at -p/2), so the midpoints are at ±p/2 (-p/4).
		var lh, ll uint64
		if sh >= 64 {
			lh = m << uint(sh-64)
		} else {
			lh, ll = m>>uint(64-sh), m<<uint(sh)
		}
		rh, rl := bits.Mul64(mant, p)
		var dh, dl uint64
		var neg bool
		if lh > rh || lh == rh && ll >= rl {
			var b uint64
			dl, b = bits.Sub64(ll, rl, 0)
			dh, _ = bits.Sub64(lh, rh, b)
		} else {
			var b uint64
			dl, b = bits.Sub64(rl, ll, 0)
			dh, _ = bits.Sub64(rh, lh, b)
			neg = true
		}
		// |d| compared with the half distance to the neighbour on its side.
		half := p / 2
		odd := p&1 == 1 // the midpoint is half + 0.5
		if neg && mant == 1<<52 {
			half, odd = p/4, p&3 != 0 // p is a power of ten: p/4 exact for k >= 2
		}
		var cmp int
		switch {
		case dh != 0 || dl > half:
			cmp = 1
		case dl == half && !odd:
			cmp = 0
		case dl == half:
			cmp = -1 // dl = half < half + 0.5
		default:
			cmp = -1
		}
		if cmp > 0 || cmp == 0 && c&1 == 1 {
			if neg {
				c--
			} else {
				c++
			}
			continue
		}
		return math.Float64frombits(c), true
	}
	return 0, false
}
