// Package transform shapes what an EventBridge target receives from an
// event: the event itself, a constant Input, the part of the event an
// InputPath selects, or an InputTransformer's template filled with values
// from the event — with AWS's quoting and escaping, and with the
// ValidationException messages PutTargets answers for a target whose
// shaping is wrong.
//
// Compile a target's Spec once, then Apply it to each event. The package
// has no dependency beyond the standard library.
//
// # Templates
//
// An InputTemplate holds placeholders, <name>, each naming a key of
// InputPathsMap or one of the predefined variables (aws.events.rule-arn,
// aws.events.rule-name, aws.events.event.ingestion-time, aws.events.event,
// aws.events.event.json). "<" and ">" cannot be escaped, so any <name>
// (no spaces, quotes or backslashes inside) is a placeholder.
//
// A template that is JSON once its placeholders are filled in — a JSON
// object, array or string, such as {"state": <state>} or
// "instance <instance> is in <state>" — is a JSON template; its result is
// always valid JSON, minified. In it:
//
//   - a placeholder outside a JSON string takes the value as JSON: a string
//     gets its quotes ("EventBridge automatically adds quotes to string
//     variable values"), numbers, booleans, null, objects and arrays are
//     inserted as they are; a path the event lacks gives "".
//   - a placeholder inside a JSON string takes the value as string content:
//     a string without its quotes, a number, boolean or null as written,
//     an object or array with the quotes around its strings removed
//     ("EventBridge removes any internal quotes to ensure a valid
//     string"); a missing path gives nothing.
//
// Any other template, such as <instance> is in state <state>, is text: it
// is sent as written with each placeholder replaced by the value as text —
// a string's characters, anything else as its JSON.
//
// # Where AWS is silent
//
// These are choices, not observed AWS behaviour: a string inserted inside
// a JSON string keeps its escapes (AWS says it "doesn't escape values",
// which can break the JSON; here a JSON template always gives JSON); an
// InputPath the event lacks sends null; a wildcard path gives an array of
// its matches; aws.events.event.ingestion-time is to the second, like the
// envelope's time; aws.events.event takes its time from the envelope.
package transform

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf16"
)

// Limits of the EventBridge API model.
const (
	MaxPaths          = 100  // entries of InputPathsMap
	MaxTemplateLength = 8192 // InputTemplate, in UTF-16 code units
	MaxPathLength     = 256  // InputPath and each InputPathsMap value
)

// The predefined variables a template may use without defining them.
const (
	VarRuleArn       = "aws.events.rule-arn"
	VarRuleName      = "aws.events.rule-name"
	VarIngestionTime = "aws.events.event.ingestion-time"
	VarEvent         = "aws.events.event"
	VarEventJSON     = "aws.events.event.json"
)

// Spec is a target's input shaping, as PutTargets takes it. At most one of
// Input, InputPath and Transformer may be set; with none the target
// receives the event.
type Spec struct {
	// ID is the target's Id, which AWS names in its validation messages.
	ID          string
	Input       *string
	InputPath   *string
	Transformer *Transformer
}

// Transformer is an InputTransformer.
type Transformer struct {
	PathsMap map[string]string // InputPathsMap: variable name → JSONPath
	Template string            // InputTemplate
}

// Meta is what the predefined variables need besides the event.
type Meta struct {
	RuleArn       string
	RuleName      string
	IngestionTime time.Time
}

// ValidationError is a Spec that PutTargets refuses. Its message is the
// one AWS's ValidationException carries.
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &ValidationError{Message: fmt.Sprintf(format, args...)}
}

type mode uint8

const (
	modeEvent mode = iota
	modeInput
	modePath
	modeTemplate
)

// Shaper applies a compiled Spec to events. It is safe for concurrent use.
type Shaper struct {
	mode  mode
	input []byte
	path  *path
	tmpl  *template
}

// keyPattern is the model's pattern for InputPathsMap keys,
// [A-Za-z0-9\_\-]+. It leaves no room for a key starting with "aws." or
// shadowing a predefined variable, both of which AWS forbids.
func validKey(k string) bool {
	if k == "" || len(k) > MaxPathLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Compile validates spec as PutTargets does and prepares it for Apply.
// Its errors are *ValidationError.
func Compile(spec Spec) (*Shaper, error) {
	n := 0
	for _, set := range []bool{spec.Input != nil, spec.InputPath != nil, spec.Transformer != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, invalid("Only one of Input, InputPath, or InputTransformer must be provided for target %s.", spec.ID)
	}
	switch {
	case spec.Input != nil:
		if !json.Valid([]byte(*spec.Input)) {
			return nil, invalid("Input for target %s is not a valid JSON text.", spec.ID)
		}
		return &Shaper{mode: modeInput, input: []byte(*spec.Input)}, nil
	case spec.InputPath != nil:
		p, ok := parsePath(*spec.InputPath)
		if !ok || len(*spec.InputPath) > MaxPathLength {
			return nil, invalid("InputPath for target %s is invalid.", spec.ID)
		}
		return &Shaper{mode: modePath, path: p}, nil
	case spec.Transformer != nil:
		t, err := compileTemplate(spec.ID, spec.Transformer)
		if err != nil {
			return nil, err
		}
		return &Shaper{mode: modeTemplate, tmpl: t}, nil
	}
	return &Shaper{mode: modeEvent}, nil
}

func compileTemplate(id string, tr *Transformer) (*template, error) {
	if len(tr.PathsMap) > MaxPaths {
		return nil, invalid("InputPathsMap for target %s has more than %d entries.", id, MaxPaths)
	}
	if len(tr.Template) == 0 {
		return nil, invalid("InputTemplate for target %s must not be empty.", id)
	}
	if utf16Len(tr.Template) > MaxTemplateLength {
		return nil, invalid("InputTemplate for target %s is longer than %d characters.", id, MaxTemplateLength)
	}
	// Sorted, so that of several faults the same one is reported each time.
	keys := make([]string, 0, len(tr.PathsMap))
	for k := range tr.PathsMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	paths := make(map[string]*path, len(keys))
	for _, k := range keys {
		if !validKey(k) {
			return nil, invalid("InputPathsMap for target %s contains invalid key %s.", id, k)
		}
		v := tr.PathsMap[k]
		p, ok := parsePath(v)
		if !ok || len(v) > MaxPathLength {
			// AWS checks every InputPathsMap value as it checks InputPath,
			// with the same message.
			return nil, invalid("InputPath for target %s is invalid.", id)
		}
		paths[k] = p
	}
	return parseTemplate(id, tr.Template, paths)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Apply returns what the target receives for event, the event envelope as
// JSON. The result may share memory with event or with the Shaper; do not
// modify it.
func (s *Shaper) Apply(event []byte, meta Meta) ([]byte, error) {
	switch s.mode {
	case modeInput:
		return s.input, nil
	case modeEvent:
		return event, nil
	}
	start := skipWS(event, 0)
	end, err := scanValue(event, start)
	if err != nil {
		return nil, err
	}
	if skipWS(event, end) != len(event) {
		return nil, errSyntax
	}
	root := event[start:end]
	if s.mode == modePath {
		v, err := s.path.eval(root)
		if err != nil {
			return nil, err
		}
		if v == nil {
			// Not documented by AWS. A target needs a body, and JSON null
			// says "nothing there" without inventing content.
			return []byte("null"), nil
		}
		if k := kindOf(v); k == kindObject || k == kindArray {
			return appendCompact(nil, v), nil
		}
		return v, nil
	}
	return s.tmpl.apply(root, &meta)
}

// String describes the shaping, for logs.
func (s *Shaper) String() string {
	switch s.mode {
	case modeInput:
		return "Input"
	case modePath:
		return "InputPath"
	case modeTemplate:
		if s.tmpl.json {
			return "InputTransformer (JSON template)"
		}
		return "InputTransformer (text template)"
	}
	return "event"
}

// formatIngestionTime is ISO 8601 in UTC to the second, the form of the
// envelope's own "time".
func formatIngestionTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
