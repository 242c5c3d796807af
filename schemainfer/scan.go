package schemainfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits on what one event may cost.
const (
	// MaxDepth is the deepest nesting inferred, as AWS's discoverer: "will
	// only infer events that are nested up to 255 levels"
	// (https://docs.aws.amazon.com/eventbridge/latest/schema-reference/v1-discover.html).
	MaxDepth = 255
	// MaxFields bounds the distinct field paths (object fields and array
	// items) of one schema, which bounds its memory and its document.
	MaxFields = 4096
	// MaxEventSize is the largest event inferred: twice the 1 MiB an
	// EventBridge entry may carry, so that no real event is refused.
	MaxEventSize = 2 << 20
)

// Errors FromEvent and FromOpenAPI wrap.
var (
	ErrInvalidJSON = errors.New("schemainfer: not valid JSON")
	ErrNotEvent    = errors.New("schemainfer: not an EventBridge event")
	ErrTooDeep     = errors.New("schemainfer: nested deeper than 255 levels")
	ErrTooLarge    = errors.New("schemainfer: too large to infer")
	ErrNotSchema   = errors.New("schemainfer: not a discovered OpenAPI 3 schema")
)

// scanner walks JSON already known to be valid (json.Valid), updating nodes
// in place as it goes: no intermediate tree of values is built.
type scanner struct {
	data   []byte
	pos    int
	fields int
	// The envelope's source and detail-type, when strings: matched exactly
	// (encoding/json would match keys case-insensitively), the last one
	// wins as in encoding/json.
	source, detailType *string
	// slab holds nodes not yet handed out: one allocation for many.
	slab []node
}

func (s *scanner) node() *node {
	if len(s.slab) == 0 {
		s.slab = make([]node, 32)
	}
	n := &s.slab[0]
	s.slab = s.slab[1:]
	return n
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// str reads a string token and returns its decoded value; escaped or
// invalid UTF-8 text goes through encoding/json, the common case is a slice.
func (s *scanner) str() string {
	start := s.pos
	s.pos++ // opening quote
	escaped := false
	for {
		c := s.data[s.pos]
		if c == '\\' {
			escaped = true
			s.pos += 2
			continue
		}
		s.pos++
		if c == '"' {
			break
		}
	}
	raw := s.data[start+1 : s.pos-1]
	if !escaped && utf8.Valid(raw) {
		return string(raw)
	}
	var out string
	_ = json.Unmarshal(s.data[start:s.pos], &out) // valid JSON string: cannot fail
	return out
}

// skipStr moves past a string token and reports whether its content is an
// RFC 3339 date-time, without allocating for the common unescaped case.
func (s *scanner) dateTimeStr() bool {
	start := s.pos
	s.pos++
	escaped := false
	for {
		c := s.data[s.pos]
		if c == '\\' {
			escaped = true
			s.pos += 2
			continue
		}
		s.pos++
		if c == '"' {
			break
		}
	}
	raw := s.data[start+1 : s.pos-1]
	if escaped || len(raw) < len("2006-01-02T15:04:05Z") || len(raw) > 64 {
		return false
	}
	return isDateTime(raw)
}

// isDateTime reports whether b is an RFC 3339 date-time (JSON Schema's
// "date-time" format).
func isDateTime(b []byte) bool {
	if b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, string(b))
	return err == nil
}

func (s *scanner) number() kind {
	start := s.pos
	integer := true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
		} else if !(c == '-' || c == '+' || (c >= '0' && c <= '9')) {
			break
		}
		s.pos++
	}
	if !integer {
		return kNumber
	}
	raw := s.data[start:s.pos]
	if len(raw) <= 9 || (len(raw) == 10 && raw[0] == '-') {
		return kInt32 // at most 9 digits: fits in 32 bits
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	switch {
	case err != nil:
		return kNumber // beyond 64 bits
	case v >= -1<<31 && v < 1<<31:
		return kInt32
	}
	return kInt64
}

func (s *scanner) value(n *node, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	s.ws()
	switch c := s.data[s.pos]; c {
	case '{':
		s.pos++
		n.kinds |= kObject
		n.objects++
		obj := n.objects
		for {
			s.ws()
			if s.data[s.pos] == '}' {
				s.pos++
				return nil
			}
			if s.data[s.pos] == ',' {
				s.pos++
				s.ws()
			}
			key := s.str()
			s.ws()
			s.pos++ // colon
			if depth == 0 && (key == "source" || key == "detail-type") {
				s.ws()
				if s.data[s.pos] == '"' {
					at := s.pos
					v := s.str()
					s.pos = at
					if key == "source" {
						s.source = &v
					} else {
						s.detailType = &v
					}
				} else if key == "source" {
					s.source = nil
				} else {
					s.detailType = nil
				}
			}
			child := n.props[key]
			if child == nil {
				if s.fields >= MaxFields {
					return fmt.Errorf("%w: more than %d fields", ErrTooLarge, MaxFields)
				}
				s.fields++
				if n.props == nil {
					n.props = make(map[string]*node, 8)
				}
				child = s.node()
				n.props[key] = child
			}
			if child.lastObj != obj {
				child.lastObj = obj
				child.present++
			}
			if err := s.value(child, depth+1); err != nil {
				return err
			}
		}
	case '[':
		s.pos++
		n.kinds |= kArray
		for {
			s.ws()
			if s.data[s.pos] == ']' {
				s.pos++
				return nil
			}
			if s.data[s.pos] == ',' {
				s.pos++
			}
			if n.items == nil {
				if s.fields >= MaxFields {
					return fmt.Errorf("%w: more than %d fields", ErrTooLarge, MaxFields)
				}
				s.fields++
				n.items = s.node()
			}
			if err := s.value(n.items, depth+1); err != nil {
				return err
			}
		}
	case '"':
		n.kinds |= kString
		if !s.dateTimeStr() {
			n.notDateTime = true
		}
	case 't':
		n.kinds |= kBool
		s.pos += 4
	case 'f':
		n.kinds |= kBool
		s.pos += 5
	case 'n':
		n.kinds |= kNull
		s.pos += 4
	default:
		n.kinds |= s.number()
	}
	return nil
}
