package schemainfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Schema is the inferred shape of the events of one source and detail-type.
// The zero Schema is empty; Merge into it to start one. A Schema is not safe
// for concurrent use: whoever keeps one (a discoverer) serialises its merges.
type Schema struct {
	source     string
	detailType string
	root       *node // the envelope
	// generic is a schema of JSON that is not an EventBridge envelope
	// (FromJSON): its root component is Event.
	generic bool
}

// Source is the events' source (x-amazon-events-source).
func (s *Schema) Source() string { return s.source }

// DetailType is the events' detail-type (x-amazon-events-detail-type).
func (s *Schema) DetailType() string { return s.detailType }

// Name is the schema's name in the discovered-schemas registry: the source,
// "@" and the detail-type in PascalCase, as the component of the detail is
// named. AWS names the schema of source "users" and detail-type
// "userCreated" users@UserCreated, that of "Parameter Store Change" from
// aws.ssm aws.ssm@ParameterStoreChange.
func (s *Schema) Name() string { return s.source + "@" + componentName(s.detailType) }

// FromEvent infers the shape of one event, a full EventBridge event envelope
// in JSON with a source, a detail-type and an object detail.
func FromEvent(event []byte) (*Schema, error) {
	if len(event) > MaxEventSize {
		return nil, fmt.Errorf("%w: event of %d bytes, more than %d", ErrTooLarge, len(event), MaxEventSize)
	}
	if !json.Valid(event) {
		return nil, ErrInvalidJSON
	}
	root := &node{}
	sc := scanner{data: event}
	if err := sc.value(root, 0); err != nil {
		return nil, err
	}
	if root.kinds != kObject {
		return nil, fmt.Errorf("%w: not a JSON object", ErrNotEvent)
	}
	if d := root.props["detail"]; d == nil || d.kinds != kObject {
		return nil, fmt.Errorf("%w: detail is not a JSON object", ErrNotEvent)
	}
	if sc.source == nil || sc.detailType == nil {
		return nil, fmt.Errorf("%w: source and detail-type must be strings", ErrNotEvent)
	}
	return &Schema{source: *sc.source, detailType: *sc.detailType, root: root}, nil
}

// FromJSON infers the shape of any JSON object, as GetDiscoveredSchema does
// for an event that is not an EventBridge envelope: the document's title
// and root component are Event, as in the AWS CLI's example of
// get-discovered-schema, whose events are PutEvents entries
// (https://docs.aws.amazon.com/cli/latest/reference/schemas/get-discovered-schema.html).
func FromJSON(doc []byte) (*Schema, error) {
	if len(doc) > MaxEventSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(doc), MaxEventSize)
	}
	if !json.Valid(doc) {
		return nil, ErrInvalidJSON
	}
	root := &node{}
	sc := scanner{data: doc}
	if err := sc.value(root, 0); err != nil {
		return nil, err
	}
	if root.kinds != kObject {
		return nil, fmt.Errorf("%w: not a JSON object", ErrNotEvent)
	}
	return &Schema{root: root, generic: true}, nil
}

// ErrMixedEvents is returned by Discover for events of different types.
var ErrMixedEvents = errors.New("schemainfer: events of more than one type")

// Discover is GetDiscoveredSchema's OpenApi3 Content for events of one
// type (the API takes 1 to 10): EventBridge envelopes give the document
// discovery stores, other JSON objects one whose root is Event (FromJSON).
// Events of different sources, detail-types or kinds are ErrMixedEvents.
func Discover(events [][]byte) ([]byte, error) {
	var all Schema
	for i, ev := range events {
		s, err := FromEvent(ev)
		if errors.Is(err, ErrNotEvent) {
			s, err = FromJSON(ev)
		}
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if i > 0 && (s.generic != all.generic || s.source != all.source || s.detailType != all.detailType) {
			return nil, fmt.Errorf("%w: event %d", ErrMixedEvents, i)
		}
		all.Merge(s)
	}
	if all.root == nil {
		return nil, fmt.Errorf("%w: no events", ErrNotEvent)
	}
	return all.OpenAPI(), nil
}

// Merge adds o's fields and types to s and reports whether s's document
// changed, that is whether a discoverer stores a new version. Fields o has
// and s lacks are added (they are not required, unless s is empty); a field
// s requires and o lacks stops being required. Past MaxFields, new fields
// are not added. o is not modified and s shares nothing with it. Merge
// does not compare the schemas' sources and detail-types: the caller keeps
// one Schema per pair (Discover refuses a mix).
func (s *Schema) Merge(o *Schema) (changed bool) {
	if o == nil || o.root == nil {
		return false
	}
	if s.root == nil {
		s.source, s.detailType, s.generic = o.source, o.detailType, o.generic
		s.root = o.root.clone()
		return true
	}
	budget := MaxFields - s.root.count()
	return merge(s.root, o.root, &budget)
}

// OpenAPI returns the OpenAPI 3 document AWS discovery stores for s. The
// same Schema always gives the same bytes.
func (s *Schema) OpenAPI() []byte {
	if s.root == nil {
		return nil
	}
	return render(s)
}

// componentName is a name in PascalCase: the words of name (runs of ASCII
// letters and digits) with their first letters upper-cased, which is how
// AWS names the detail ("AWS API Call via CloudTrail": AWSAPICallViaCloudTrail)
// and nested objects (customer: Customer). OpenAPI restricts component names
// to [A-Za-z0-9._-]; the rest is dropped.
func componentName(name string) string {
	var b strings.Builder
	up := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
			if up {
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
			up = false
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
			up = false
		default:
			up = true
		}
	}
	if b.Len() == 0 {
		return "Object"
	}
	return b.String()
}

// javaHashOrder orders keys the way a java.util.HashSet of them, filled in
// sorted order, iterates: by bucket of the spread String.hashCode, the table
// doubling from 16 past a load of 0.75. Every required list in AWS's
// discovered schemas is in this order.
func javaHashOrder(keys []string) []string {
	size := 16
	for float64(len(keys)) > 0.75*float64(size) {
		size *= 2
	}
	type entry struct {
		bucket int
		key    string
	}
	entries := make([]entry, len(keys))
	for i, k := range keys {
		h := javaStringHash(k)
		h ^= h >> 16
		entries[i] = entry{int(h & uint32(size-1)), k}
	}
	// Stable: within a bucket, insertion (sorted) order.
	sorted := make([]string, 0, len(keys))
	for b := 0; b < size && len(sorted) < len(keys); b++ {
		for _, e := range entries {
			if e.bucket == b {
				sorted = append(sorted, e.key)
			}
		}
	}
	return sorted
}

// javaStringHash is java.lang.String.hashCode: over UTF-16 code units.
func javaStringHash(s string) uint32 {
	var h uint32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + uint32(0xD800+(r>>10))
			h = 31*h + uint32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + uint32(r)
	}
	return h
}

// render writes the document. Keys are written in AWS's order (type,
// required, extensions, properties) rather than sorted.
func render(s *Schema) []byte {
	if s.generic {
		return renderGeneric(s)
	}
	r := renderer{names: map[*node]string{}, used: map[string]bool{"AWSEvent": true}}
	detail := s.root.props["detail"]
	title := componentName(s.detailType)
	r.used[title] = true
	r.names[detail] = title
	r.order = append(r.order, detail)
	r.assign(s.root, true)

	b := &r.b
	b.WriteString(`{"openapi":"3.0.0","info":{"version":"1.0.0","title":`)
	writeString(b, title)
	b.WriteString(`},"paths":{},"components":{"schemas":{"AWSEvent":`)
	r.object(s.root, s)
	for _, n := range r.order {
		b.WriteByte(',')
		writeString(b, r.names[n])
		b.WriteByte(':')
		r.object(n, nil)
	}
	b.WriteString(`}}}`)
	return bytes.Clone(b.Bytes())
}

// genericRoot is the root component of a FromJSON schema.
const genericRoot = "Event"

func renderGeneric(s *Schema) []byte {
	r := renderer{names: map[*node]string{}, used: map[string]bool{genericRoot: true}}
	r.assign(s.root, false)
	b := &r.b
	b.WriteString(`{"openapi":"3.0.0","info":{"version":"1.0.0","title":"` + genericRoot + `"},"paths":{},"components":{"schemas":{"` + genericRoot + `":`)
	r.object(s.root, nil)
	for _, n := range r.order {
		b.WriteByte(',')
		writeString(b, r.names[n])
		b.WriteByte(':')
		r.object(n, nil)
	}
	b.WriteString(`}}}`)
	return bytes.Clone(b.Bytes())
}

type renderer struct {
	b     bytes.Buffer
	names map[*node]string
	used  map[string]bool
	order []*node // components after AWSEvent, in document order
}

// assign names the components below n, depth first in property order, so
// that names depend only on the shape.
func (r *renderer) assign(n *node, envelope bool) {
	for _, k := range n.sortedKeys() {
		c := n.props[k]
		if envelope && k == "detail" {
			r.assign(c, false)
			continue
		}
		r.assignValue(k, c)
	}
}

func (r *renderer) assignValue(key string, n *node) {
	switch sh, _ := n.shape(); sh {
	case shObject:
		if len(n.props) == 0 {
			return
		}
		name := componentName(key)
		for i := 1; r.used[name]; i++ {
			name = fmt.Sprintf("%s_%d", componentName(key), i)
		}
		r.used[name] = true
		r.names[n] = name
		r.order = append(r.order, n)
		r.assign(n, false)
	case shArray:
		if n.items != nil {
			r.assignValue(key, n.items)
		}
	}
}

// object writes an object's component; env is set for the envelope.
func (r *renderer) object(n *node, env *Schema) {
	b := &r.b
	b.WriteString(`{"type":"object"`)
	keys := n.sortedKeys()
	var req []string
	for _, k := range keys {
		if n.required(n.props[k]) {
			req = append(req, k)
		}
	}
	if len(req) > 0 {
		b.WriteString(`,"required":[`)
		for i, k := range javaHashOrder(req) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
		}
		b.WriteByte(']')
	}
	if env != nil {
		b.WriteString(`,"x-amazon-events-detail-type":`)
		writeString(b, env.detailType)
		b.WriteString(`,"x-amazon-events-source":`)
		writeString(b, env.source)
		// detail first, as AWS writes it.
		if i := indexOf(keys, "detail"); i > 0 {
			keys = append(append([]string{"detail"}, keys[:i]...), keys[i+1:]...)
		}
	}
	if len(keys) > 0 {
		b.WriteString(`,"properties":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			r.value(n.props[k])
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return -1
}

func (r *renderer) value(n *node) {
	b := &r.b
	sh, nullable := n.shape()
	switch sh {
	case shAny:
		b.WriteString(`{}`)
		return
	case shNull:
		b.WriteString(`{"nullable":true}`)
		return
	case shNone:
		b.WriteString(`{"type":"object"}`)
		return
	case shBool:
		b.WriteString(`{"type":"boolean"`)
	case shInt32:
		b.WriteString(`{"type":"integer","format":"int32"`)
	case shInt64:
		b.WriteString(`{"type":"integer","format":"int64"`)
	case shNumber:
		b.WriteString(`{"type":"number","format":"double"`)
	case shString:
		b.WriteString(`{"type":"string"`)
	case shDateTime:
		b.WriteString(`{"type":"string","format":"date-time"`)
	case shObject:
		if name, ok := r.names[n]; ok {
			b.WriteString(`{"$ref":"#/components/schemas/`)
			b.WriteString(name) // [A-Za-z0-9_]: no escaping
			b.WriteByte('"')
		} else {
			b.WriteString(`{"type":"object"`)
		}
	case shArray:
		b.WriteString(`{"type":"array","items":`)
		if n.items == nil {
			b.WriteString(`{"type":"object"}`)
		} else {
			r.value(n.items)
		}
	}
	if nullable {
		b.WriteString(`,"nullable":true`)
	}
	b.WriteByte('}')
}

// writeString writes s as a JSON string, escaping only what JSON requires
// (as Jackson does: no HTML escapes).
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
