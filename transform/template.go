package transform

import (
	"encoding/json"

	"github.com/switchyard/switchyard/internal/jsontext"
)

type varKind uint8

const (
	varPath varKind = iota
	varRuleArn
	varRuleName
	varIngestionTime
	varEvent
	varEventJSON
)

var predefined = map[string]varKind{
	VarRuleArn:       varRuleArn,
	VarRuleName:      varRuleName,
	VarIngestionTime: varIngestionTime,
	VarEvent:         varEvent,
	VarEventJSON:     varEventJSON,
}

type variable struct {
	kind varKind
	path *path
}

// part is literal text followed by a placeholder.
type part struct {
	lit      string
	v        int // index in template.vars
	inString bool
}

type template struct {
	parts []part
	tail  string
	vars  []variable
	json  bool
}

// isNameChar reports whether c may appear between < and > of a
// placeholder. Whitespace, quotes and backslashes may not, so that a
// comparison such as "a < b" or markup with attributes stays text.
func isNameChar(c byte) bool {
	switch c {
	case '<', '>', '"', '\\', ' ', '\t', '\n', '\r':
		return false
	}
	return c >= ' '
}

func parseTemplate(id, text string, paths map[string]*path) (*template, error) {
	t := &template{}
	index := map[string]int{}
	var dummy []byte
	inString, esc, ambiguous := false, false, false
	lit := 0 // start of the current literal
	// lex follows JSON string state through literal text, so that each
	// placeholder knows whether it sits inside a string.
	lex := func(s string) {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case esc:
				esc = false
			case inString && c == '\\':
				esc = true
			case c == '"':
				inString = !inString
			}
		}
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '<' {
			continue
		}
		j := i + 1
		for j < len(text) && isNameChar(text[j]) {
			j++
		}
		if j == i+1 || j == len(text) || text[j] != '>' {
			continue
		}
		name := text[i+1 : j]
		v, ok := index[name]
		if !ok {
			var vr variable
			if k, pre := predefined[name]; pre {
				vr.kind = k
			} else if p := paths[name]; p != nil {
				vr = variable{kind: varPath, path: p}
			} else {
				return nil, invalid("InputTemplate for target %s contains invalid placeholder %s.", id, name)
			}
			v = len(t.vars)
			index[name] = v
			t.vars = append(t.vars, vr)
		}
		l := text[lit:i]
		lex(l)
		if esc {
			// A backslash right before a placeholder would escape whatever
			// the value starts with; no JSON reading of that is safe.
			ambiguous = true
		}
		t.parts = append(t.parts, part{lit: l, v: v, inString: inString})
		dummy = append(dummy, l...)
		if !inString {
			dummy = append(dummy, "null"...)
		}
		lit = j + 1
		i = j
	}
	t.tail = text[lit:]
	dummy = append(dummy, t.tail...)
	t.json = !ambiguous && json.Valid(dummy)
	if t.json {
		// AWS sends JSON minified; the values are inserted compact, so only
		// the template's own whitespace between tokens needs to go, once.
		inString, esc = false, false
		for i := range t.parts {
			t.parts[i].lit = compactLiteral(t.parts[i].lit, &inString, &esc)
		}
		t.tail = compactLiteral(t.tail, &inString, &esc)
	}
	return t, nil
}

// compactLiteral drops whitespace outside JSON strings from s, carrying
// the string state across calls.
func compactLiteral(s string, inString, esc *bool) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case *esc:
			*esc = false
		case *inString && c == '\\':
			*esc = true
		case c == '"':
			*inString = !*inString
		case !*inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func (t *template) apply(root []byte, meta *Meta) ([]byte, error) {
	vals := make([][]byte, len(t.vars))
	for i, v := range t.vars {
		var err error
		switch v.kind {
		case varPath:
			vals[i], err = v.path.eval(root)
		case varRuleArn:
			vals[i] = appendQuoted(nil, meta.RuleArn)
		case varRuleName:
			vals[i] = appendQuoted(nil, meta.RuleName)
		case varIngestionTime:
			vals[i] = appendQuoted(nil, formatIngestionTime(meta.IngestionTime))
		case varEvent:
			vals[i], err = eventWithoutDetail(root)
		case varEventJSON:
			vals[i] = appendCompact(nil, root)
		}
		if err != nil {
			return nil, err
		}
	}
	n := len(t.tail)
	for _, p := range t.parts {
		n += len(p.lit) + len(vals[p.v]) + 2
	}
	out := make([]byte, 0, n)
	for _, p := range t.parts {
		out = append(out, p.lit...)
		out = t.render(out, vals[p.v], p.inString)
	}
	return append(out, t.tail...), nil
}

func (t *template) render(out, v []byte, inString bool) []byte {
	k := kindOf(v)
	switch {
	case t.json && !inString:
		switch k {
		case kindMissing:
			// What AWS sends for a path the event lacks (seen on AWS: a
			// "command": <command> field whose path was missing came as "").
			return append(out, '"', '"')
		case kindObject, kindArray:
			return appendCompact(out, v)
		}
		return append(out, v...)
	case t.json:
		switch k {
		case kindMissing:
			return out
		case kindString:
			return append(out, v[1:len(v)-1]...)
		case kindObject, kindArray:
			return appendUnquoted(out, v)
		}
		return append(out, v...)
	}
	switch k {
	case kindMissing:
		return out
	case kindString:
		return jsontext.AppendUnescaped(out, v[1:len(v)-1])
	case kindObject, kindArray:
		return appendCompact(out, v)
	}
	return append(out, v...)
}

// eventFields are the envelope fields aws.events.event holds, in the order
// and under the names AWS gives them (detail-type becomes detailType; the
// detail is left out). Recorded from AWS in LocalStack's
// test_input_transformer_predefined_variables snapshot.
var eventFields = [...]struct{ from, to string }{
	{"id", "id"},
	{"account", "account"},
	{"detail-type", "detailType"},
	{"time", "time"},
	{"source", "source"},
	{"region", "region"},
	{"resources", "resources"},
	{"version", "version"},
}

func eventWithoutDetail(root []byte) ([]byte, error) {
	var vals [len(eventFields)][]byte
	if kindOf(root) == kindObject {
		_, err := scanObject(root, 0, func(key, val []byte) error {
			for i, f := range eventFields {
				if keyIs(key, f.from) {
					vals[i] = val
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := []byte{'{'}
	for i, f := range eventFields {
		if vals[i] == nil {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, f.to...)
		out = append(out, '"', ':')
		out = appendCompact(out, vals[i])
	}
	return append(out, '}'), nil
}
