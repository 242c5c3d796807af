// Package schemacheck is the registry's view of schema documents: which
// contents CreateSchema and UpdateSchema accept, for the two types the
// EventBridge schema registry knows (OpenApi3 and JSONSchemaDraft4, see
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-schema-create.html),
// and the validation of events against a schema.
//
// Documents are checked and compiled with github.com/santhosh-tekuri/jsonschema
// (draft 4, with its metaschema); an OpenApi3 document is first converted to
// draft 4 with schemainfer.ToJSONSchemaDraft4, as ExportSchema does, so that
// an event is validated against the document's AWSEvent component. Schemas
// cannot make the checker reach out: every $ref must resolve inside the
// document (no file or network loads), and patterns are Go (RE2) regular
// expressions, which run in linear time.
package schemacheck

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/switchyard/switchyard/schemainfer"
)

// Schema types, as the API names them.
const (
	OpenAPI3         = "OpenApi3"
	JSONSchemaDraft4 = "JSONSchemaDraft4"
)

// MaxContentLength is the longest Content CreateSchema accepts (the
// model's __stringMin1Max100000).
const MaxContentLength = 100000

// MaxDepth is the deepest nesting of JSON objects and arrays a schema
// document may have. Compiling costs more than linear time in the depth
// (256 levels take a quarter of a second), so depth is what bounds the
// cost of a hostile document; 64 levels hold any real schema, whose
// nested objects are components of their own.
const MaxDepth = 64

// depth is the deepest nesting of content, read without parsing it.
func depth(content []byte) int {
	d, deepest := 0, 0
	inString := false
	for i := 0; i < len(content); i++ {
		c := content[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			d++
			deepest = max(deepest, d)
		case '}', ']':
			d--
		}
	}
	return deepest
}

// ContentError is a content CreateSchema refuses; its message is the
// BadRequestException's.
type ContentError struct{ Message string }

func (e *ContentError) Error() string { return e.Message }

func refuse(format string, args ...any) error {
	return &ContentError{Message: fmt.Sprintf(format, args...)}
}

// CheckContent reports what CreateSchema refuses in content of type typ:
// a type other than OpenApi3 or JSONSchemaDraft4, content empty or longer
// than 100,000 characters, not JSON, not an OpenAPI 3 document (an object
// with an "openapi" version 3.x.x, an info object and, if present, objects
// for paths and components.schemas), or a schema that is not valid draft 4
// (against its metaschema) or has a $ref that does not resolve inside the
// document. The error is a *ContentError.
func CheckContent(content []byte, typ string) error {
	_, err := compile(content, typ)
	return err
}

// Validator validates events against a compiled schema. It is safe for
// concurrent use.
type Validator struct{ schema *jsonschema.Schema }

// Compile checks content as CheckContent does and compiles it.
func Compile(content []byte, typ string) (*Validator, error) {
	s, err := compile(content, typ)
	if err != nil {
		return nil, err
	}
	return &Validator{schema: s}, nil
}

// ValidationError is an event that does not conform: one Problem per
// failed constraint, each located by a JSON pointer into the event.
type ValidationError struct{ Problems []Problem }

// Problem is one failed constraint.
type Problem struct {
	Pointer string // JSON pointer of the value in the event ("" is the whole event)
	Message string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("event does not match the schema: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		ptr := p.Pointer
		if ptr == "" {
			ptr = "/"
		}
		fmt.Fprintf(&b, "at %s: %s", ptr, p.Message)
	}
	return b.String()
}

// ErrInvalidEvent is returned (wrapped) for an event that is not JSON.
var ErrInvalidEvent = errors.New("schemacheck: event is not valid JSON")

// Validate validates a full event envelope. A non-conforming event gives a
// *ValidationError.
func (v *Validator) Validate(event []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	err = v.schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	verr := &ValidationError{Problems: leaves(ve)}
	if len(verr.Problems) == 0 {
		verr.Problems = []Problem{{Message: ve.Error()}}
	}
	return verr
}

var english = message.NewPrinter(language.English)

// leaves lists the failed constraints that have no causes of their own:
// the others ("validation failed", a $ref, allOf) only say that something
// beneath them failed.
func leaves(ve *jsonschema.ValidationError) []Problem {
	var out []Problem
	seen := map[Problem]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		p := Problem{Pointer: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(english)}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	walk(ve)
	// The library visits properties in map order: sort for stable messages.
	slices.SortFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Pointer, b.Pointer), cmp.Compare(a.Message, b.Message))
	})
	return out
}

// pointer is the JSON pointer (RFC 6901) of a location.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

const docURL = "urn:switchyard:schema"

// noLoader refuses every URL the document itself does not hold.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("references outside the document are not supported: %s", url)
}

func compile(content []byte, typ string) (*jsonschema.Schema, error) {
	switch typ {
	case OpenAPI3, JSONSchemaDraft4:
	default:
		return nil, refuse("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [OpenApi3, JSONSchemaDraft4]", typ)
	}
	if n := len([]rune(string(content))); n < 1 || n > MaxContentLength {
		return nil, refuse("1 validation error detected: Value at 'content' failed to satisfy constraint: Member must have length between 1 and %d", MaxContentLength)
	}
	if depth(content) > MaxDepth {
		return nil, refuse("Invalid %s content: nested deeper than %d levels", typ, MaxDepth)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(content))
	if err != nil {
		return nil, refuse("Invalid %s content: not valid JSON: %v", typ, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, refuse("Invalid %s content: the document must be a JSON object", typ)
	}
	draft4 := content
	if typ == OpenAPI3 {
		if err := checkOpenAPI(obj); err != nil {
			return nil, err
		}
		draft4, err = schemainfer.ToJSONSchemaDraft4(content)
		if err != nil {
			return nil, refuse("Invalid OpenApi3 content: %v", err)
		}
		if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(draft4)); err != nil {
			return nil, refuse("Invalid OpenApi3 content: %v", err)
		}
	} else if sch, ok := obj["$schema"]; ok {
		// Content is compiled as draft 4 whatever its $schema says: a
		// document naming a later draft is not refused (whether AWS
		// refuses it is not documented, and being stricter than AWS would
		// break code that works there), but it gets draft 4's semantics.
		if _, ok := sch.(string); !ok {
			return nil, refuse("Invalid JSONSchemaDraft4 content: $schema must be a string, not %s", jsonText(sch))
		}
		delete(obj, "$schema")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(noLoader{})
	// Formats are asserted: a discovered "time" is a date-time.
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, refuse("Invalid %s content: %v", typ, err)
	}
	s, err := c.Compile(docURL)
	if err != nil {
		return nil, refuse("Invalid %s content: %s", typ, compileMessage(err, typ))
	}
	return s, nil
}

// compileMessage says what is wrong in terms of the user's document.
func compileMessage(err error, typ string) string {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			var parts []string
			for _, p := range leaves(ve) {
				loc := p.Pointer
				if loc == "" {
					loc = "/"
				}
				parts = append(parts, fmt.Sprintf("at %s: %s", locate(loc, typ), p.Message))
			}
			if len(parts) > 0 {
				return "not a valid schema: " + strings.Join(parts, "; ")
			}
		}
	}
	return strings.ReplaceAll(err.Error(), docURL, "the document")
}

// locate maps a location in the converted draft 4 document back to the
// OpenAPI document for the common case of a component.
func locate(ptr, typ string) string {
	if typ == OpenAPI3 {
		if rest, ok := strings.CutPrefix(ptr, "/definitions/"); ok {
			return "/components/schemas/" + rest
		}
	}
	return ptr
}

// checkOpenAPI checks the parts of an OpenAPI 3 document outside its
// schemas, which ToJSONSchemaDraft4 ignores.
func checkOpenAPI(obj map[string]any) error {
	v, _ := obj["openapi"].(string)
	if !strings.HasPrefix(v, "3.") {
		if _, ok := obj["openapi"]; !ok {
			return refuse("Invalid OpenApi3 content: attribute openapi is missing")
		}
		return refuse("Invalid OpenApi3 content: openapi must be a 3.x.x version string, not %s", jsonText(obj["openapi"]))
	}
	info, ok := obj["info"].(map[string]any)
	if !ok {
		if _, present := obj["info"]; !present {
			return refuse("Invalid OpenApi3 content: attribute info is missing")
		}
		return refuse("Invalid OpenApi3 content: attribute info is not of type object")
	}
	for _, k := range []string{"title", "version"} {
		if _, ok := info[k].(string); !ok {
			return refuse("Invalid OpenApi3 content: attribute info.%s is missing or not a string", k)
		}
	}
	if p, ok := obj["paths"]; ok {
		if _, ok := p.(map[string]any); !ok {
			return refuse("Invalid OpenApi3 content: attribute paths is not of type object")
		}
	}
	if c, ok := obj["components"]; ok {
		cm, ok := c.(map[string]any)
		if !ok {
			return refuse("Invalid OpenApi3 content: attribute components is not of type object")
		}
		if s, ok := cm["schemas"]; ok {
			sm, ok := s.(map[string]any)
			if !ok {
				return refuse("Invalid OpenApi3 content: attribute components.schemas is not of type object")
			}
			for name, sch := range sm {
				if _, ok := sch.(map[string]any); !ok {
					return refuse("Invalid OpenApi3 content: components.schemas.%s is not a schema object", name)
				}
			}
		}
	}
	return nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
