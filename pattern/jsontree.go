package pattern

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Patterns are read with a small JSON parser of their own rather than
// encoding/json because AWS's semantics depend on things encoding/json
// hides: the order of keys, repeated keys (the last one wins, per path),
// and the literal text of numbers. Patterns are short (at most 4096
// characters), so building a tree first costs nothing worth saving.

type jsonKind uint8

const (
	jsonObject jsonKind = iota
	jsonArray
	jsonString
	jsonNumber
	jsonTrue
	jsonFalse
	jsonNull
)

type jsonNode struct {
	kind    jsonKind
	text    string // unescaped string, or number literal
	members []jsonMember
	items   []*jsonNode
}

type jsonMember struct {
	key string
	val *jsonNode
}

// tokenText renders a node the way Jackson's getText renders the token that
// starts it; some AWS reasons quote it.
func (n *jsonNode) tokenText() string {
	switch n.kind {
	case jsonObject:
		return "{"
	case jsonArray:
		return "["
	case jsonTrue:
		return "true"
	case jsonFalse:
		return "false"
	case jsonNull:
		return "null"
	}
	return n.text
}

type jsonParser struct {
	src []byte
	pos int
}

// The syntax error reasons imitate the wording of Jackson, the parser
// behind AWS's, closely enough to be recognisable; AWS's exact text also
// carries a source excerpt and position that are not reproduced.
func (p *jsonParser) unexpected(expecting string) *Error {
	if p.pos >= len(p.src) {
		return errorf("Unexpected end-of-input: %s", expecting)
	}
	r, _ := utf8.DecodeRune(p.src[p.pos:])
	return errorf("Unexpected character (%s (code %d)): %s", quoteChar(r), r, expecting)
}

func quoteChar(r rune) string {
	if r < 0x20 || r == utf8.RuneError {
		return fmt.Sprintf("CTRL-CHAR, code %d", r)
	}
	return "'" + string(r) + "'"
}

func (p *jsonParser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func parseJSONTree(src []byte) (*jsonNode, *Error) {
	p := &jsonParser{src: src}
	p.ws()
	// AWS reads only the first token before deciding this; anything that
	// starts a JSON value other than an object gets the same reason.
	if p.pos >= len(src) {
		return nil, errorf("Filter is not an object")
	}
	if src[p.pos] != '{' {
		switch c := src[p.pos]; {
		case c == '[' || c == '"' || c == '-' || isDigit(c) ||
			p.hasLiteral("true") || p.hasLiteral("false") || p.hasLiteral("null"):
			return nil, errorf("Filter is not an object")
		}
		return nil, p.unrecognized()
	}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos < len(src) {
		return nil, p.unexpected("expected end of input after the pattern object")
	}
	return n, nil
}

func (p *jsonParser) hasLiteral(lit string) bool {
	return len(p.src)-p.pos >= len(lit) && string(p.src[p.pos:p.pos+len(lit)]) == lit
}

func (p *jsonParser) unrecognized() *Error {
	end := p.pos
	for end < len(p.src) && end-p.pos < 256 {
		c := p.src[end]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' ||
			c == '[' || c == ']' || c == '{' || c == '}' || c == '"' {
			break
		}
		end++
	}
	if end == p.pos {
		return p.unexpected("expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')")
	}
	return errorf("Unrecognized token '%s': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
		strings.ToValidUTF8(string(p.src[p.pos:end]), "\uFFFD"))
}

func (p *jsonParser) value() (*jsonNode, *Error) {
	p.ws()
	if p.pos >= len(p.src) {
		return nil, p.unexpected("expected a value")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jsonNode{kind: jsonString, text: s}, nil
	case c == '-' || isDigit(c):
		return p.number()
	case p.hasLiteral("true"):
		p.pos += 4
		return &jsonNode{kind: jsonTrue}, p.literalEnd()
	case p.hasLiteral("false"):
		p.pos += 5
		return &jsonNode{kind: jsonFalse}, p.literalEnd()
	case p.hasLiteral("null"):
		p.pos += 4
		return &jsonNode{kind: jsonNull}, p.literalEnd()
	}
	return nil, p.unrecognized()
}

// literalEnd refuses "truex" and the like, which a byte-wise prefix check
// would otherwise accept.
func (p *jsonParser) literalEnd() *Error {
	if p.pos < len(p.src) {
		c := p.src[p.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' {
			start := p.pos
			for start > 0 && p.src[start-1] >= 'a' && p.src[start-1] <= 'z' {
				start--
			}
			p.pos = start
			return p.unrecognized()
		}
	}
	return nil
}

func (p *jsonParser) object() (*jsonNode, *Error) {
	p.pos++ // '{'
	n := &jsonNode{kind: jsonObject}
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return n, nil
	}
	for {
		p.ws()
		if p.pos >= len(p.src) {
			return nil, p.unexpected("expected close marker for Object")
		}
		if p.src[p.pos] != '"' {
			return nil, p.unexpected("was expecting double-quote to start field name")
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.unexpected("was expecting a colon to separate field name and value")
		}
		p.pos++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.members = append(n.members, jsonMember{key: key, val: v})
		p.ws()
		if p.pos >= len(p.src) {
			return nil, p.unexpected("expected close marker for Object")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return n, nil
		default:
			return nil, p.unexpected("was expecting comma to separate Object entries")
		}
	}
}

func (p *jsonParser) array() (*jsonNode, *Error) {
	p.pos++ // '['
	n := &jsonNode{kind: jsonArray}
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return n, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
		p.ws()
		if p.pos >= len(p.src) {
			return nil, p.unexpected("expected close marker for Array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return n, nil
		default:
			return nil, p.unexpected("was expecting comma to separate Array entries")
		}
	}
}

func (p *jsonParser) number() (*jsonNode, *Error) {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if !(isDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			break
		}
		p.pos++
	}
	lit := p.src[start:p.pos]
	if !validNumber(lit) {
		return nil, errorf("Invalid numeric value: %s", lit)
	}
	return &jsonNode{kind: jsonNumber, text: string(lit)}, nil
}

func (p *jsonParser) str() (string, *Error) {
	p.pos++ // opening quote
	var out []byte
	for {
		if p.pos >= len(p.src) {
			return "", p.unexpected("was expecting closing quote for a string value")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(out), nil
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < 0x20:
			return "", errorf("Illegal unquoted character ((CTRL-CHAR, code %d)): has to be escaped using backslash to be included in string value", c)
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", errorf("Invalid UTF-8 start byte 0x%02x", c)
			}
			out = append(out, p.src[p.pos:p.pos+size]...)
			p.pos += size
		}
	}
}

func (p *jsonParser) escape() (rune, *Error) {
	p.pos++ // backslash
	if p.pos >= len(p.src) {
		return 0, p.unexpected("was expecting closing quote for a string value")
	}
	c := p.src[p.pos]
	p.pos++
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, errorf("Unexpected character in character escape sequence: expected a hex-digit")
		}
		if utf16.IsSurrogate(r) {
			// A lone surrogate cannot be carried in a Go string; like
			// encoding/json it becomes U+FFFD.
			if p.hasLiteral(`\u`) {
				save := p.pos
				p.pos += 2
				if r2, ok := p.hex4(); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						return dec, nil
					}
				}
				p.pos = save
			}
			return utf8.RuneError, nil
		}
		return r, nil
	}
	p.pos--
	return 0, errorf("Unrecognized character escape %s", quoteChar(rune(c)))
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.src)-p.pos < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}
