package pattern

import (
	"math"
	"strconv"
)

// AWS compares numbers as fixed-point decimals, not as binary floating
// point: a number takes part in numeric comparison only if it lies within
// ±5e9 and has at most six digits after the decimal point (trailing zeros do
// not count). Such numbers compare exactly, so 300, 300.0, 3e2 and
// 300.000000 are all equal, and 0.1+0.2 style rounding never shows. A number
// outside that domain is still a value: it matches an identical literal
// (an AWS account number such as 123456789012 is the usual case) but never a
// numeric range, and it is not "numeric" for anything-but.
//
// Within the domain, the float64 returned by ComparableNumber is the exact
// fixed-point value rounded once; because the domain's spacing (1e-6) is
// wider than float64's spacing at 5e9 (about 9.5e-7), that rounding is
// strictly monotonic, so comparing the float64s is the same as comparing the
// decimals. The matcher can therefore use ordinary float comparison and map
// keys on the returned values.

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
// literal lit, and false if lit is not a JSON number or lies outside the
// domain in which AWS compares numbers (see NumberLimit and NumberDecimals).
// Two literals are numerically equal for event matching exactly when both
// are comparable and the returned values are equal.
func ComparableNumber(lit []byte) (float64, bool) {
	units, fault := numberUnits(lit)
	if fault != numberOK {
		return 0, false
	}
	return float64(units) / numberScale, true
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
	if !validNumber(lit) {
		return 0, numberSyntax
	}
	neg := lit[0] == '-'
	i := 0
	if neg {
		i++
	}
	var digits []byte
	exp := 0
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
		return 0, numberOK
	}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
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

// numberValue builds the Value of a number literal: Num is the comparable
// value when there is one, otherwise the nearest float64 (informational
// only, since such numbers only ever match by their literal text).
func numberValue(lit string) Value {
	if f, ok := ComparableNumber([]byte(lit)); ok {
		return Value{Kind: KindNumber, Str: lit, Num: f}
	}
	f, _ := strconv.ParseFloat(lit, 64)
	return Value{Kind: KindNumber, Str: lit, Num: f}
}

// numbersEqual is exact matching between a pattern number and an event
// number: equal literals always match (which is how values outside the
// comparable domain match at all), otherwise both must be comparable and
// equal.
func numbersEqual(a, b string) bool {
	if a == b {
		return true
	}
	x, ok1 := ComparableNumber([]byte(a))
	y, ok2 := ComparableNumber([]byte(b))
	return ok1 && ok2 && x == y
}
