package iampolicy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Patterns: the policy language's wildcards are "*" (any run of characters,
// possibly empty) and "?" (any one character). Internally a pattern may also
// hold a backslash escape, which makes the next character literal; the
// expansion of policy variables produces such escapes so that ${*}, ${?}
// and the values of variables are matched literally. A pattern read from a
// document is escaped before use if it holds a backslash, so a backslash in
// a document is itself literal.

// globMatch reports whether s matches pattern p. Characters compare
// exactly, or under Unicode simple case folding when fold is set. Its cost
// is at most proportional to len(p)*len(s).
func globMatch(p, s string, fold bool) bool {
	// Most patterns are literal or start with a literal run.
	lit := strings.IndexAny(p, `*?\`)
	if lit < 0 {
		if fold {
			return strings.EqualFold(p, s)
		}
		return p == s
	}
	if !fold && lit > 0 {
		if !strings.HasPrefix(s, p[:lit]) {
			return false
		}
		p, s = p[lit:], s[lit:]
	}
	pi, si := 0, 0
	starP, starS := -1, 0 // pattern index after the last star, and where it started in s
	for si < len(s) {
		if pi < len(p) {
			c := p[pi]
			switch {
			case c == '*':
				pi++
				starP, starS = pi, si
				continue
			case c == '?':
				_, w := utf8.DecodeRuneInString(s[si:])
				pi++
				si += w
				continue
			case c < utf8.RuneSelf && c != '\\' && s[si] < utf8.RuneSelf:
				if c == s[si] || fold && foldEqual(rune(c), rune(s[si])) {
					pi++
					si++
					continue
				}
			default:
				lit, lw := literalAt(p, pi)
				r, w := utf8.DecodeRuneInString(s[si:])
				if r == lit || fold && foldEqual(r, lit) {
					pi += lw
					si += w
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last star take one more character and retry.
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		si, pi = starS, starP
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// literalAt decodes the literal character at p[i], which is not an
// unescaped wildcard, and returns it with the number of bytes it takes.
func literalAt(p string, i int) (rune, int) {
	if p[i] == '\\' && i+1 < len(p) {
		r, w := utf8.DecodeRuneInString(p[i+1:])
		return r, w + 1
	}
	return utf8.DecodeRuneInString(p[i:])
}

func foldEqual(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// appendEscaped appends s with the wildcards and the escape character made
// literal, and colons escaped so that they do not split ARN parts.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '*', '?', ':':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// An arn is an ARN split into its six parts; resource is everything after
// the fifth colon.
type arn struct {
	partition, service, region, account, resource string
}

// splitARN splits an ARN. It fails unless s starts with "arn:" and has at
// least five colons.
func splitARN(s string) (arn, bool) {
	var parts [5]string
	rest := s
	for i := range parts {
		j := indexColon(rest, false)
		if j < 0 {
			return arn{}, false
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	if parts[0] != "arn" {
		return arn{}, false
	}
	return arn{parts[1], parts[2], parts[3], parts[4], rest}, true
}

// splitPattern splits an ARN pattern, in which escaped colons do not
// separate parts. The first part must match "arn".
func splitPattern(p string) (arn, bool) {
	var parts [5]string
	rest := p
	for i := range parts {
		j := indexColon(rest, true)
		if j < 0 {
			return arn{}, false
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	return arn{parts[1], parts[2], parts[3], parts[4], rest}, globMatch(parts[0], "arn", false)
}

func indexColon(s string, escaped bool) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			return i
		case '\\':
			if escaped {
				i++
			}
		}
	}
	return -1
}

// arnMatch reports whether the ARN s matches the ARN pattern p part by part,
// as ArnLike and the Resource element do. The pattern "*" matches anything.
func arnMatch(p, s string) bool {
	if p == "*" {
		return true
	}
	pa, ok := splitPattern(p)
	if !ok {
		return false
	}
	sa, ok := splitARN(s)
	if !ok {
		return false
	}
	return globMatch(pa.partition, sa.partition, false) &&
		globMatch(pa.service, sa.service, false) &&
		globMatch(pa.region, sa.region, false) &&
		globMatch(pa.account, sa.account, false) &&
		globMatch(pa.resource, sa.resource, false)
}
