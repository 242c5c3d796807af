package pattern

import (
	"math"
	"strconv"
)

// AWS compares numbers as fixed-point decimals, not as binary floating
// point, to six digits after the decimal point: within ±5e9, a number with
// at most six digits after the decimal point (trailing zeros do not count)
// compares exactly, so 300, 300.0, 3e2 and 300.000000 are all equal, and
// 0.1+0.2 style rounding never shows.
//
// An event number within ±5e9 that has more than six decimals still takes
// part in numeric comparison (numeric ranges, numeric equality, anything-but
// numbers): it is compared as its nearest float64 (a correctly rounded
// parse). The AWS user guide says comparisons are precise to six digits to
// the right of the decimal point; it does not say that more precise numbers
// are left out, and users comparing coordinates or measurements
// (37.12345678901234 > 37.1) expect a match. The benchmark expectations of
// ../shared/bench (which aws/event-ruler is said to agree with) count such
// numbers too. Within the domain, the float64 of a number with at most six
// decimals is the nearest float64 as well (see below), and rounding to
// nearest is monotonic, so the two kinds order consistently with each
// other; only numbers more precise than float64 can tell apart may compare
// equal.
//
// Pattern numbers are held to the stricter rule AWS applies when a pattern
// is created: a numeric bound or an anything-but number with more than six
// decimals is refused ("Only values upto 6 decimals are supported"), and an
// exact pattern number with more decimals matches only the identical
// literal.
//
// A number outside ±5e9 is still a value: it matches an identical literal
// (an AWS account number such as 123456789012 is the usual case) but never a
// numeric range, and it is not "numeric" for anything-but.
//
// For numbers with at most six decimals, the float64 returned by
// ComparableNumber is the exact fixed-point value rounded once; because the
// domain's spacing (1e-6) is wider than float64's spacing at 5e9 (about
// 9.5e-7), that rounding is strictly monotonic, so comparing the float64s is
// the same as comparing the decimals. The matcher can therefore use
// ordinary float comparison and map keys on the returned values.

const (
	// NumberLimit bounds the magnitude of numbers that compare numerically.
	NumberLimit = 5e9
	// NumberDecimals is how many digits after the decimal point a number
	// that compares numerically may have.
	NumberDecimals = 6

	numberScale      = 1_000_000 // 10^NumberDecimals
	numberLimitUnits = 5_000_000_000 * numberScale
)

type numberFault uint8

const (
	numberOK numberFault = iota
	numberSyntax
	numberTooPrecise
	numberOutOfRange
)

// ComparableNumber returns the value AWS compares for the JSON number
// literal lit found in an event, and false if lit is not a JSON number or
// lies outside ±5e9 (see NumberLimit). Numbers with at most NumberDecimals
// digits after the decimal point compare exactly; more precise ones are
// compared as their nearest float64. An event number takes part in numeric
// comparison exactly when ComparableNumber accepts it; pattern numbers must
// in addition have at most NumberDecimals decimals.
func ComparableNumber(lit []byte) (float64, bool) {
	f, class := comparableNumber(lit)
	return f, class != numNone
}

// numClass says how an event number compares.
type numClass uint8

const (
	numNone    numClass = iota // not comparable: matches by its literal only
	numFixed                   // at most six decimals: exact fixed point
	numPrecise                 // more decimals: nearest float64
)

// comparableNumber is ComparableNumber with the kind of number.
func comparableNumber(lit []byte) (float64, numClass) {
	neg, digits, exp, ok := decimalParts(lit)
	if !ok {
		return 0, numNone
	}
	units, fault := decimalUnits(digits, exp, neg)
	switch {
	case fault == numberOK:
		return float64(units) / numberScale, numFixed
	case fault == numberTooPrecise && preciseWithinLimit(digits, exp):
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			return 0, numNone
		}
		return f, numPrecise
	}
	return 0, numNone
}

// patternNumber returns the value of a pattern number literal that can
// take part in numeric comparison: within ±5e9 and with at most six
// decimals.
func patternNumber(lit []byte) (float64, bool) {
	units, fault := numberUnits(lit)
	if fault != numberOK {
		return 0, false
	}
	return float64(units) / numberScale, true
}

// preciseWithinLimit reports whether digits × 10^exp, a number with more
// than six decimals (so exp < -6 and the last digit is not zero), lies
// within ±5e9: its integer part must be below 5e9, since the fraction is
// not zero.
func preciseWithinLimit(digits []byte, exp int) bool {
	n := len(digits) + exp // digits before the decimal point
	if n <= 0 {
		return true
	}
	if n > 10 {
		return false
	}
	var ip int64
	for _, d := range digits[:n] {
		ip = ip*10 + int64(d-'0')
	}
	return ip < 5_000_000_000
}

// ParseNumber parses a JSON number literal (strict JSON grammar: no leading
// '+', no leading zeros, no bare '.') into the nearest float64. It returns
// false for anything that is not a JSON number and for literals whose
// magnitude does not fit in a float64.
func ParseNumber(lit []byte) (float64, bool) {
	if !validNumber(lit) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// validNumber reports whether lit follows the JSON number grammar.
func validNumber(lit []byte) bool {
	i := 0
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	switch {
	case i < len(lit) && lit[i] == '0':
		i++
	case i < len(lit) && lit[i] >= '1' && lit[i] <= '9':
		for i < len(lit) && isDigit(lit[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		start := i
		for i < len(lit) && isDigit(lit[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			i++
		}
		start := i
		for i < len(lit) && isDigit(lit[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(lit)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberUnits converts a JSON number literal into millionths without going
// through binary floating point, so that the domain checks are exact: the
// literal is read as digits × 10^exp, trailing zeros are moved into the
// exponent, and only then are precision and range judged.
func numberUnits(lit []byte) (int64, numberFault) {
	neg, digits, exp, ok := decimalParts(lit)
	if !ok {
		return 0, numberSyntax
	}
	return decimalUnits(digits, exp, neg)
}

// decimalParts reads a JSON number literal as ± digits × 10^exp, with
// neither leading nor trailing zeros in digits (none at all for zero).
func decimalParts(lit []byte) (neg bool, digits []byte, exp int, ok bool) {
	if !validNumber(lit) {
		return false, nil, 0, false
	}
	neg = lit[0] == '-'
	i := 0
	if neg {
		i++
	}
	for ; i < len(lit) && isDigit(lit[i]); i++ {
		digits = append(digits, lit[i])
	}
	if i < len(lit) && lit[i] == '.' {
		for i++; i < len(lit) && isDigit(lit[i]); i++ {
			digits = append(digits, lit[i])
			exp--
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		eneg := false
		if lit[i] == '+' || lit[i] == '-' {
			eneg = lit[i] == '-'
			i++
		}
		e := 0
		for ; i < len(lit); i++ {
			// Saturate: any exponent this large puts a non-zero value
			// out of the domain either way.
			if e < 1_000_000 {
				e = e*10 + int(lit[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return neg, nil, 0, true
	}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	return neg, digits, exp, true
}

// decimalUnits converts digits × 10^exp (see decimalParts) into millionths.
func decimalUnits(digits []byte, exp int, neg bool) (int64, numberFault) {
	if len(digits) == 0 {
		return 0, numberOK
	}
	if exp < -NumberDecimals {
		return 0, numberTooPrecise
	}
	// value in units = digits × 10^(exp+6); at most 16 digits can fit
	// under the limit of 5e15 units.
	shift := exp + NumberDecimals
	if len(digits)+shift > 16 {
		return 0, numberOutOfRange
	}
	var units int64
	for _, d := range digits {
		units = units*10 + int64(d-'0')
	}
	for ; shift > 0; shift-- {
		units *= 10
	}
	if units > numberLimitUnits {
		return 0, numberOutOfRange
	}
	if neg {
		units = -units
	}
	return units, numberOK
}

// numberReason is the reason AWS gives for a pattern number that cannot take
// part in a numeric comparison.
func numberReason(f numberFault) string {
	if f == numberTooPrecise {
		return "Only values upto 6 decimals are supported"
	}
	return "Value must be between -5.0E9 and 5.0E9, inclusive"
}

// numberValue builds the Value of a pattern number literal: Num is its
// comparable value when it has one (see patternNumber), otherwise the
// nearest float64 (informational only, since such numbers only ever match
// by their literal text).
func numberValue(lit string) Value {
	if f, ok := patternNumber([]byte(lit)); ok {
		return Value{Kind: KindNumber, Str: lit, Num: f}
	}
	f, _ := strconv.ParseFloat(lit, 64)
	return Value{Kind: KindNumber, Str: lit, Num: f}
}

// numbersEqual is exact matching between a pattern number pat and an event
// number ev: equal literals always match (which is how pattern numbers
// outside the comparable domain match at all), otherwise the pattern number
// must be comparable (patternNumber), the event number too
// (ComparableNumber), and the two values equal.
func numbersEqual(pat, ev string) bool {
	if pat == ev {
		return true
	}
	x, ok1 := patternNumber([]byte(pat))
	y, ok2 := ComparableNumber([]byte(ev))
	return ok1 && ok2 && x == y
}
