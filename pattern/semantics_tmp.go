package pattern

// Stand-ins for the value semantics owned by number.go / wildcard.go /
// reference.go until those land; to be replaced by calls into them.

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

func foldAppend(dst, s []byte) []byte {
	for i, c := range s {
		if c >= utf8.RuneSelf {
			return append(dst, strings.ToLower(string(s[i:]))...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func foldString(s string) string { return string(foldAppend(nil, []byte(s))) }

func appendNumberKey(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

func wildcardIsLiteral(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '*':
			return false
		}
	}
	return true
}

func wildcardLiteral(p string) string {
	lit, _ := wildcardSplit(p)
	return lit[0]
}

// wildcardSplit cuts a wildcard into its literal pieces, unescaped.
func wildcardSplit(p string) ([]string, bool) {
	var parts []string
	var cur []byte
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 < len(p) {
				i++
				cur = append(cur, p[i])
			}
		case '*':
			parts = append(parts, string(cur))
			cur = nil
		default:
			cur = append(cur, c)
		}
	}
	return append(parts, string(cur)), true
}

func wildcardEnds(p string) (lead, trail string) {
	parts, _ := wildcardSplit(p)
	return parts[0], parts[len(parts)-1]
}

func wildcardMatch(p, s string) bool {
	parts, _ := wildcardSplit(p)
	if len(parts) == 1 {
		return parts[0] == s
	}
	if !strings.HasPrefix(s, parts[0]) || !strings.HasSuffix(s, parts[len(parts)-1]) {
		return false
	}
	pos, end := len(parts[0]), len(s)-len(parts[len(parts)-1])
	if pos > end {
		return false
	}
	for _, mid := range parts[1 : len(parts)-1] {
		j := strings.Index(s[pos:end], mid)
		if j < 0 {
			return false
		}
		pos += j + len(mid)
	}
	return true
}

func valuesEqual(a, b *Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindString:
		return a.Str == b.Str
	case KindNumber:
		return a.Num == b.Num
	}
	return true
}

func slowMatch(c *Cond, v *Value) bool {
	switch c.Op {
	case OpExists:
		return c.Exists
	case OpNumeric:
		if v.Kind != KindNumber {
			return false
		}
		r := &c.Range
		if r.HasLow && (v.Num < r.Low || r.LowOpen && v.Num == r.Low) {
			return false
		}
		if r.HasHigh && (v.Num > r.High || r.HighOpen && v.Num == r.High) {
			return false
		}
		return true
	case OpAnythingBut:
		for i := range c.Values {
			if valuesEqual(&c.Values[i], v) {
				return false
			}
		}
		return true
	case OpCIDR:
		if v.Kind != KindString {
			return false
		}
		a, err := netip.ParseAddr(v.Str)
		return err == nil && c.Prefix.Contains(a)
	}
	if v.Kind != KindString {
		return true
	}
	for _, x := range c.Strs {
		var hit bool
		switch c.Op {
		case OpAnythingButPrefix:
			hit = strings.HasPrefix(v.Str, x)
		case OpAnythingButSuffix:
			hit = strings.HasSuffix(v.Str, x)
		case OpAnythingButIgnoreCase:
			hit = foldString(v.Str) == foldString(x)
		case OpAnythingButWildcard:
			hit = wildcardMatch(x, v.Str)
		}
		if hit {
			return false
		}
	}
	return true
}
