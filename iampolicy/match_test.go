package iampolicy

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		p, s string
		fold bool
		want bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"**", "a", false, true},
		{"a*", "a", false, true},
		{"a*b", "axxb", false, true},
		{"a*b", "axxbc", false, false},
		{"a*b*c", "abxbc", false, true},
		{"*a*a*a*a*b", strings.Repeat("a", 60), false, false},
		{"?", "", false, false},
		{"?", "é", false, true},
		{"??", "é", false, false},
		{"a?c", "abc", false, true},
		{`a\*`, "a*", false, true},
		{`a\*`, "ab", false, false},
		{`a\?`, "a?", false, true},
		{`a\\`, `a\`, false, true},
		{`a\`, `a\`, false, true}, // a trailing backslash is literal
		{"ABC", "abc", true, true},
		{"ABC", "abc", false, false},
		{"É*", "éa", true, true},
		{"K", "\u212a", true, true}, // Kelvin sign folds to K
	}
	for _, tt := range tests {
		if got := globMatch(tt.p, tt.s, tt.fold); got != tt.want {
			t.Errorf("globMatch(%q, %q, %v) = %v, want %v", tt.p, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestARNMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"*", "not an arn", true},
		{"arn:aws:events:*:*:*", "arn:aws:events:us-east-1:1:event-bus/x", true},
		{"arn:aws:events:*:*:*", "arn:aws:events:us-east-1:1", false},
		{"arn:aws:events:*:*", "arn:aws:events:us-east-1:1:event-bus/x", false},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c", true},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:us-east-1::bucket/a", false},
		{"arn:*:events:*:*:*", "arn:aws-cn:events:cn-north-1:1:rule/r", true},
		{"a*:aws:events:*:*:*", "arn:aws:events:us-east-1:1:rule/r", true},
		{"arn:aws:events:us-east-1:1:rule/r", "xrn:aws:events:us-east-1:1:rule/r", false},
		{`arn:aws:iam::1:user/a\:b`, "arn:aws:iam::1:user/a:b", true},
		{`arn:aws:iam:\::1:user/x`, "arn:aws:iam:::1:user/x", false},
	}
	for _, tt := range tests {
		if got := arnMatch(tt.p, tt.s); got != tt.want {
			t.Errorf("arnMatch(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

// globRegexp is a reference implementation of globMatch without folding.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for i := 0; i < len(p); {
		switch p[i] {
		case '*':
			b.WriteString(".*")
			i++
		case '?':
			b.WriteString(".")
			i++
		default:
			r, w := literalAt(p, i)
			b.WriteString(regexp.QuoteMeta(string(r)))
			i += w
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add(`\**`, "*x")
	f.Add("*?*", "é")
	f.Fuzz(func(t *testing.T, p, s string) {
		if !utf8.ValidString(p) || !utf8.ValidString(s) || len(p) > 64 || len(s) > 256 {
			return
		}
		if got, want := globMatch(p, s, false), globRegexp(p).MatchString(s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, regexp says %v", p, s, got, want)
		}
		if globMatch(p, s, false) && !globMatch(p, s, true) {
			t.Fatalf("globMatch(%q, %q) holds without folding but not with it", p, s)
		}
	})
}
