package pattern

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive operators compare rune by rune under simple Unicode case
// folding (the relation strings.EqualFold uses), so "STRASSE" does not equal
// "straße" but "K" (Kelvin sign) equals "k". Folding never changes the
// number of runes, which is what makes prefix and suffix folding well
// defined.

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// hasPrefixFold reports whether s begins with prefix under case folding.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if !runeEqualFold(r1, r2) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

// hasSuffixFold reports whether s ends with suffix under case folding.
func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeLastRuneInString(s)
		r2, n2 := utf8.DecodeLastRuneInString(suffix)
		if !runeEqualFold(r1, r2) {
			return false
		}
		s, suffix = s[:len(s)-n1], suffix[:len(suffix)-n2]
	}
	return true
}

func runeEqualFold(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// foldKey maps s to a canonical representative of its case-folding class:
// equalFold(a, b) holds exactly when foldKey(a) == foldKey(b). It lets a
// matcher look case-insensitive values up in a map.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune returns the smallest rune of r's SimpleFold orbit.
func foldRune(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}
