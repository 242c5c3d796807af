package iampolicy

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type family uint8

const (
	famString family = iota
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

type cmpKind uint8

const (
	cmpEquals cmpKind = iota
	cmpEqualsFold
	cmpLike
	cmpLess
	cmpLessEq
	cmpGreater
	cmpGreaterEq
)

type operator struct {
	family  family
	cmp     cmpKind
	negated bool
}

// operators are the condition operators of "IAM JSON policy elements:
// Condition operators", by name without qualifier or IfExists.
var operators = map[string]operator{
	"StringEquals":              {famString, cmpEquals, false},
	"StringNotEquals":           {famString, cmpEquals, true},
	"StringEqualsIgnoreCase":    {famString, cmpEqualsFold, false},
	"StringNotEqualsIgnoreCase": {famString, cmpEqualsFold, true},
	"StringLike":                {famString, cmpLike, false},
	"StringNotLike":             {famString, cmpLike, true},

	"NumericEquals":            {famNumeric, cmpEquals, false},
	"NumericNotEquals":         {famNumeric, cmpEquals, true},
	"NumericLessThan":          {famNumeric, cmpLess, false},
	"NumericLessThanEquals":    {famNumeric, cmpLessEq, false},
	"NumericGreaterThan":       {famNumeric, cmpGreater, false},
	"NumericGreaterThanEquals": {famNumeric, cmpGreaterEq, false},

	"DateEquals":            {famDate, cmpEquals, false},
	"DateNotEquals":         {famDate, cmpEquals, true},
	"DateLessThan":          {famDate, cmpLess, false},
	"DateLessThanEquals":    {famDate, cmpLessEq, false},
	"DateGreaterThan":       {famDate, cmpGreater, false},
	"DateGreaterThanEquals": {famDate, cmpGreaterEq, false},

	"Bool":         {famBool, cmpEquals, false},
	"BinaryEquals": {famBinary, cmpEquals, false},

	"IpAddress":    {famIP, cmpEquals, false},
	"NotIpAddress": {famIP, cmpEquals, true},

	// ArnEquals and ArnLike behave alike: both match part by part and
	// both take wildcards.
	"ArnEquals":    {famARN, cmpLike, false},
	"ArnLike":      {famARN, cmpLike, false},
	"ArnNotEquals": {famARN, cmpLike, true},
	"ArnNotLike":   {famARN, cmpLike, true},

	"Null": {famNull, cmpEquals, false},
}

// holds reports whether the condition holds for the request.
//
// The rules are those of "IAM JSON policy elements: Condition operators"
// and "Conditions with multiple context keys or values":
//   - a key absent from the request makes a condition false, except that
//     a negated operator (StringNotEquals, ArnNotLike, ...) is then true,
//     an ...IfExists operator is true, ForAllValues is true and
//     ForAnyValue is false;
//   - several policy values for one key are ORed, and for a negated
//     operator NORed;
//   - a request value holds for a plain operator if it matches any policy
//     value, for its negation if it matches none;
//   - without a qualifier a key with several values in the request holds
//     if any value does (for a negated operator, if every value does);
//     ForAnyValue needs one value to hold and ForAllValues every value.
//
// Null holds if the key's absence is what any of its values ("true" for
// absent, "false" for present) says.
func (c *Condition) holds(e *env) bool {
	op, known := operators[c.Operator]
	if !known {
		return false
	}
	vals := e.lookup(c.Key)
	if op.family == famNull {
		want := "false" // the key is present
		if len(vals) == 0 {
			want = "true"
		}
		for _, v := range c.Values {
			if strings.EqualFold(v, want) {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case c.IfExists:
			return true
		case c.Qualifier == ForAllValues:
			return true
		case c.Qualifier == ForAnyValue:
			return false
		}
		return op.negated
	}
	all := c.Qualifier == ForAllValues || c.Qualifier == "" && op.negated
	for _, v := range vals {
		m, valid := c.matchAny(e, op, v)
		ok := valid && m != op.negated
		if all && !ok {
			return false
		}
		if !all && ok {
			return true
		}
	}
	return all
}

// matchAny reports whether the request value v matches any of the
// condition's values under the operator's positive comparison, and whether
// v is a value of the operator's type at all (a number for Numeric..., and
// so on); an invalid request value holds for no operator, negated or not.
func (c *Condition) matchAny(e *env, op operator, v string) (match, valid bool) {
	switch op.family {
	case famString, famBinary:
		for _, pv := range c.Values {
			p, ok := e.expand(pv, op.cmp == cmpLike)
			if !ok {
				continue
			}
			switch op.cmp {
			case cmpEquals:
				match = v == p
			case cmpEqualsFold:
				match = strings.EqualFold(v, p)
			case cmpLike:
				match = globMatch(p, v, false)
			}
			if match {
				return true, true
			}
		}
		return false, true
	case famARN:
		for _, pv := range c.Values {
			if p, ok := e.expand(pv, true); ok && arnMatch(p, v) {
				return true, true
			}
		}
		return false, true
	case famBool:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return false, false
		}
		for _, pv := range c.Values {
			if p, ok := e.expand(pv, false); ok && strings.EqualFold(v, p) {
				return true, true
			}
		}
		return false, true
	case famNumeric:
		x, ok := parseNumber(v)
		if !ok {
			return false, false
		}
		for _, pv := range c.Values {
			p, ok := e.expand(pv, false)
			if !ok {
				continue
			}
			if y, ok := parseNumber(p); ok && compare(op.cmp, cmpFloat(x, y)) {
				return true, true
			}
		}
		return false, true
	case famDate:
		x, ok := parseDate(v)
		if !ok {
			return false, false
		}
		for _, pv := range c.Values {
			p, ok := e.expand(pv, false)
			if !ok {
				continue
			}
			if y, ok := parseDate(p); ok && compare(op.cmp, x.Compare(y)) {
				return true, true
			}
		}
		return false, true
	case famIP:
		addr, err := netip.ParseAddr(v)
		if err != nil {
			return false, false
		}
		for _, pv := range c.Values {
			p, ok := e.expand(pv, false)
			if !ok {
				continue
			}
			if pfx, ok := parseCIDR(p); ok && pfx.Contains(addr.Unmap()) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// compare applies an ordering comparison to the result of comparing the
// request's value with the policy's (-1, 0, +1).
func compare(k cmpKind, c int) bool {
	switch k {
	case cmpEquals:
		return c == 0
	case cmpLess:
		return c < 0
	case cmpLessEq:
		return c <= 0
	case cmpGreater:
		return c > 0
	case cmpGreaterEq:
		return c >= 0
	}
	return false
}

// parseNumber parses a decimal number, integer or floating-point.
func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// dateLayouts are the ISO 8601 forms a date condition accepts ("IAM JSON
// policy elements: Condition operators", date condition operators: "a
// variation of the ISO 8601 date format or the epoch (UNIX) time").
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDate parses an ISO 8601 date or time, read as UTC when it names no
// zone, or a count of seconds since the epoch.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			digits = false
			break
		}
	}
	if digits {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1<<40 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseCIDR parses an IPv4 or IPv6 CIDR block, or a single address as a
// block of one.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}
