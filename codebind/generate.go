package codebind

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Generate returns the zip of lang's binding for the schema schemaName
// (its name in the registry, "source@DetailType" for a discovered one)
// whose content is of type typ ("OpenApi3" or "JSONSchemaDraft4"). The zip
// is deterministic: the same input gives the same bytes.
func Generate(lang, schemaName string, content []byte, typ string) (zipFile []byte, err error) {
	var gen func(*model) []file
	switch lang {
	case "Java8":
		gen = genJava
	case "Python36":
		gen = genPython
	case "TypeScript3":
		gen = genTypeScript
	case "Go1":
		gen = genGo
	default:
		return nil, fmt.Errorf("%w: %q (want one of %s)", ErrLanguage, lang, strings.Join(Languages, ", "))
	}
	m, err := build(schemaName, content, typ)
	if err != nil {
		return nil, err
	}
	return zipFiles(gen(m))
}

type file struct {
	path string
	body string
}

// modified is every entry's time, so that zips are reproducible.
var modified = time.Date(2019, 12, 2, 0, 0, 0, 0, time.UTC)

func zipFiles(files []file) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.path, Method: zip.Deflate, Modified: modified}
		fw, err := w.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// uniqueNames gives each field of c a name made by conv, unique within c
// and not in taken.
func uniqueNames(c *class, conv func(string) string, taken map[string]bool) {
	used := map[string]bool{}
	for _, f := range c.fields {
		name := conv(f.json)
		base := name
		for i := 1; used[name] || taken[name]; i++ {
			name = fmt.Sprintf("%s%d", base, i)
		}
		used[name] = true
		f.name = name
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	// An initialism stays together: AWSRegion becomes awsRegion.
	r := []rune(s)
	i := 0
	for i < len(r) && unicode.IsUpper(r[i]) && (i == 0 || i+1 == len(r) || unicode.IsUpper(r[i+1])) {
		r[i] = unicode.ToLower(r[i])
		i++
	}
	return string(r)
}

func camel(json string) string { return lowerFirst(identifier(json)) }

// snake is json in snake_case: detail-type is detail_type, firstName
// first_name, as AWS's Python binding names attributes.
func snake(json string) string {
	var b strings.Builder
	prevLower := false
	for i := 0; i < len(json); i++ {
		c := json[i]
		switch {
		case c >= 'A' && c <= 'Z':
			nextLower := i+1 < len(json) && json[i+1] >= 'a' && json[i+1] <= 'z'
			if b.Len() > 0 && (prevLower || nextLower) && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteByte(c + 'a' - 'A')
			prevLower = false
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteByte(c)
			prevLower = c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			prevLower = false
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" {
		s = "value"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}

// quote is s as a double-quoted string literal valid in Go and Python:
// printable ASCII as is, the rest escaped (\U for runes past the BMP).
func quote(s string) string { return quoteLiteral(s, false) }

// jquote is s as a string literal valid in Java and TypeScript, whose
// strings are UTF-16: runes past the BMP are surrogate pairs.
func jquote(s string) string { return quoteLiteral(s, true) }

func quoteLiteral(s string, utf16 bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			// Java reads \u000d as a line end even inside a literal.
			b.WriteString(`\r`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		case utf16:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// comment makes s safe inside a line comment of any of the languages.
func comment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x2028 || r == 0x2029 || r == 0x85 {
			return ' '
		}
		return r
	}, s)
	return strings.NewReplacer("*/", "* /", `\u`, `\ u`).Replace(s)
}
