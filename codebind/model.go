// Package codebind generates the code bindings GetCodeBindingSource
// returns: a zip of source in one of AWS's languages (Java8, Python36,
// TypeScript3, Go1) with a type per schema component and a Marshaller to
// turn an event into those types and back
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-schema-code-bindings.html).
//
// The layout follows AWS's bindings: code lives under a package path of
// "schema", the event source's segments and the schema's name in lower case
// (aws.ssm@ParameterStoreChange: schema/aws/ssm/parameterstorechange), with
// AWSEvent, the detail's type and one type per nested object. What the
// generated code offers is what code written against AWS's bindings uses:
// Python's Marshaller.unmarshall(event, AWSEvent) and Marshaller.marshall,
// with snake_case attributes (aws_event.detail_type); Go's
// UnmarshalEvent([]byte) (AWSEvent, error) and Marshal(AWSEvent); Java's
// Marshaller.unmarshalEvent(InputStream, Class) and Marshaller.marshal;
// TypeScript's Marshaller.unmarshal(json, "AWSEvent") and
// Marshaller.marshal. Unlike AWS's Java binding, which uses Jackson, the
// generated Java carries its own small JSON reader and writer, so that it
// compiles with javac and nothing else; the others use their standard
// libraries only.
//
// Both schema types are accepted: an OpenApi3 document is converted to
// draft 4 first (schemainfer.ToJSONSchemaDraft4), so generation works on one
// form, the root schema and its definitions.
package codebind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/schemainfer"
)

// Languages are AWS's language identifiers, as GetCodeBindingSource takes.
var Languages = []string{"Java8", "Python36", "TypeScript3", "Go1"}

// ErrLanguage is returned (wrapped) for a language not in Languages.
var ErrLanguage = errors.New("codebind: unsupported language")

// ErrSchema is returned (wrapped) for content no binding can be made of.
var ErrSchema = errors.New("codebind: unusable schema")

// MaxTypes bounds the types one binding may have, which bounds its size.
const MaxTypes = 2000

type kind int

const (
	kAny kind = iota
	kString
	kDateTime
	kInt
	kLong
	kDouble
	kBool
	kClass
	kList
	kMap // an object without properties: string keys, any values
)

// typ is a field's type.
type typ struct {
	kind  kind
	class *class // kClass
	elem  *typ   // kList
}

type field struct {
	json     string // the key in the event
	name     string // the language's identifier, set per language
	typ      typ
	required bool
}

type class struct {
	name   string // identifier, unique within the binding
	fields []*field
}

// model is the schema as types.
type model struct {
	pkg     []string // package path: schema, source segments, name
	root    *class
	classes []*class // root first, then in document order
}

// build reads content into a model.
func build(schemaName string, content []byte, typ string) (*model, error) {
	draft4 := content
	if typ == "OpenApi3" {
		var err error
		if draft4, err = schemainfer.ToJSONSchemaDraft4(content); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSchema, err)
		}
	} else if typ != "JSONSchemaDraft4" {
		return nil, fmt.Errorf("%w: schema type %q", ErrSchema, typ)
	}
	dec := json.NewDecoder(bytes.NewReader(draft4))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSchema, err)
	}
	defs, _ := root["definitions"].(map[string]any)
	b := &builder{defs: defs, byDef: map[string]*class{}, used: map[string]bool{}}

	rootName := "AWSEvent"
	if _, ok := root["x-amazon-events-source"]; !ok {
		t, _ := root["title"].(string)
		rootName = identifier(t)
		if t == "" {
			rootName = identifier(lastSegment(schemaName))
		}
	}
	m := &model{pkg: packagePath(schemaName)}
	rc := b.newClass(rootName)
	if err := b.fill(rc, root, 0); err != nil {
		return nil, err
	}
	m.root = rc
	m.classes = b.classes
	return m, nil
}

type builder struct {
	defs    map[string]any
	byDef   map[string]*class
	used    map[string]bool
	classes []*class
}

func (b *builder) newClass(name string) *class {
	base := name
	for i := 1; b.used[name] || reserved[name]; i++ {
		name = fmt.Sprintf("%s%d", base, i)
	}
	b.used[name] = true
	c := &class{name: name}
	b.classes = append(b.classes, c)
	return c
}

// reserved are names a class may not take in any language, because the
// binding itself uses them.
var reserved = map[string]bool{"Class": true, "Math": true, "System": true, "Thread": true, "Runnable": true, "Character": true, "Byte": true, "Short": true, "Float": true, "Void": true, "Enum": true, "Exception": true, "Iterable": true, "Override": true, "Deprecated": true, "SuppressWarnings": true, "Comparable": true, "Cloneable": true, "Process": true, "Runtime": true, "StringBuilder": true, "JsonValue": true, "Parser": true, "Date": true, "JSON": true, "Json": true, "Set": true, "Type": true, "Marshaller": true, "Object": true, "String": true, "Map": true, "List": true, "Integer": true, "Long": true, "Double": true, "Boolean": true, "None": true, "True": true, "False": true, "Number": true, "Array": true, "Error": true, "Any": true, "Unknown": true, "Never": true, "Symbol": true, "Function": true, "Promise": true, "Record": true}

func (b *builder) fill(c *class, s map[string]any, depth int) error {
	props, _ := s["properties"].(map[string]any)
	required := map[string]bool{}
	if list, ok := s["required"].([]any); ok {
		for _, r := range list {
			if k, ok := r.(string); ok {
				required[k] = true
			}
		}
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// AWSEvent's detail comes first, as in AWS's document.
	if i := slices.Index(keys, "detail"); i > 0 && c == b.classes[0] {
		keys = append(append([]string{"detail"}, keys[:i]...), keys[i+1:]...)
	}
	for _, k := range keys {
		ps, _ := props[k].(map[string]any)
		t, err := b.typeOf(ps, c.name+identifier(k), depth+1)
		if err != nil {
			return err
		}
		c.fields = append(c.fields, &field{json: k, typ: t, required: required[k]})
	}
	return nil
}

func (b *builder) typeOf(s map[string]any, inlineName string, depth int) (typ, error) {
	if depth > 2*schemainfer.MaxDepth {
		return typ{}, fmt.Errorf("%w: nested too deeply", ErrSchema)
	}
	if len(b.classes) > MaxTypes {
		return typ{}, fmt.Errorf("%w: more than %d types", ErrSchema, MaxTypes)
	}
	if s == nil {
		return typ{kind: kAny}, nil
	}
	if ref, ok := s["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		def, found := b.defs[name].(map[string]any)
		if !ok || !found {
			return typ{}, fmt.Errorf("%w: unresolved $ref %q", ErrSchema, ref)
		}
		if c := b.byDef[name]; c != nil {
			return typ{kind: kClass, class: c}, nil
		}
		if !isObject(def) {
			return b.typeOf(def, identifier(name), depth+1)
		}
		c := b.newClass(identifier(name))
		b.byDef[name] = c
		if err := b.fill(c, def, depth); err != nil {
			return typ{}, err
		}
		return typ{kind: kClass, class: c}, nil
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		// A nullable $ref exports as anyOf [$ref, null]: the $ref's type.
		if list, ok := s[k].([]any); ok {
			var nonNull []map[string]any
			for _, o := range list {
				if m, ok := o.(map[string]any); ok && m["type"] != "null" {
					nonNull = append(nonNull, m)
				}
			}
			if len(nonNull) == 1 {
				return b.typeOf(nonNull[0], inlineName, depth+1)
			}
			return typ{kind: kAny}, nil
		}
	}
	switch typeName(s) {
	case "string":
		if s["format"] == "date-time" {
			return typ{kind: kDateTime}, nil
		}
		return typ{kind: kString}, nil
	case "integer":
		if s["format"] == "int32" {
			return typ{kind: kInt}, nil
		}
		return typ{kind: kLong}, nil
	case "number":
		return typ{kind: kDouble}, nil
	case "boolean":
		return typ{kind: kBool}, nil
	case "array":
		items, _ := s["items"].(map[string]any)
		elem, err := b.typeOf(items, inlineName+"Item", depth+1)
		if err != nil {
			return typ{}, err
		}
		return typ{kind: kList, elem: &elem}, nil
	case "object":
		if !isObject(s) {
			return typ{kind: kMap}, nil
		}
		c := b.newClass(inlineName)
		if err := b.fill(c, s, depth); err != nil {
			return typ{}, err
		}
		return typ{kind: kClass, class: c}, nil
	}
	return typ{kind: kAny}, nil
}

// typeName is the schema's one non-null type, or "".
func typeName(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		name := ""
		for _, x := range t {
			if x == "null" {
				continue
			}
			if name != "" {
				return ""
			}
			name, _ = x.(string)
		}
		return name
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

// isObject reports whether s is an object with declared properties: the
// schemas that become types of their own.
func isObject(s map[string]any) bool {
	props, ok := s["properties"].(map[string]any)
	return ok && len(props) > 0 && (typeName(s) == "object")
}

// identifier is name in PascalCase made of ASCII letters and digits, not
// starting with a digit.
func identifier(name string) string {
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
		case c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			b.WriteByte(c)
			up = false
		default:
			up = true
		}
	}
	s := b.String()
	if s == "" {
		return "Value"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "T" + s
	}
	return s
}

func lastSegment(schemaName string) string {
	if _, after, ok := strings.Cut(schemaName, "@"); ok {
		return after
	}
	return schemaName
}

// packagePath is AWS's code hierarchy: schema, the source's segments and
// the schema's name, in lower case (aws.ssm@ParameterStoreChange:
// schema.aws.ssm.parameterstorechange; order@NewOrder: schema.order.neworder).
func packagePath(schemaName string) []string {
	path := []string{"schema"}
	source, name, ok := strings.Cut(schemaName, "@")
	if !ok {
		source, name = "", schemaName
	}
	for _, seg := range strings.FieldsFunc(source, func(r rune) bool { return r == '.' || r == '/' }) {
		if s := segment(seg); s != "" {
			path = append(path, s)
		}
	}
	if s := segment(name); s != "" {
		path = append(path, s)
	} else {
		path = append(path, "event")
	}
	return path
}

// segment is a package name: lower-case ASCII letters, digits and
// underscores, not starting with a digit nor being a keyword.
func segment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '-' || c == '_':
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		return ""
	}
	if out[0] >= '0' && out[0] <= '9' || packageKeywords[out] {
		out = "_" + out
	}
	return out
}

// packageKeywords are words no segment may be in one of the languages.
var packageKeywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`abstract assert boolean break byte case catch char class const continue default do double else enum extends final finally float for goto if implements import instanceof int interface long native new package private protected public return short static strictfp super switch synchronized this throw throws transient try void volatile while true false null
and as async await def del elif except from global in is lambda nonlocal not or pass raise with yield None True False
chan defer fallthrough func go map range select struct type var
delete export function let typeof`) {
		packageKeywords[w] = true
	}
}
