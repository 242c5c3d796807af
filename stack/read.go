package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits bound what Read accepts, so that a huge or hostile document
// fails fast instead of exhausting memory.
const (
	// MaxDocumentSize is the largest document, in bytes: CloudFormation's
	// own limit for a template in S3 is 1 MB.
	MaxDocumentSize = 1 << 20
	// MaxNodes bounds the values of a document after YAML aliases are
	// expanded.
	MaxNodes = 200_000
	// MaxResources is the most resources one document may declare:
	// CloudFormation's quota of resources per template.
	MaxResources = 500
)

// Options are the inputs of a read other than the document itself.
type Options struct {
	// Stack names the stack; it overrides a document's own Stack and is
	// AWS::StackName for a template.
	Stack string
	// Region, Account and Partition are the pseudo parameters of a
	// template (AWS::Region, AWS::AccountId, AWS::Partition) and scope the
	// ARNs it computes.
	Region, Account, Partition string
	// Parameters are a template's parameter values (--parameter Key=Value).
	Parameters map[string]string
}

// PathError is a fault of a document at a place in it: Path is where
// ("Rules[0].Targets[1].InputPath", "Resources.Bus.Properties.Name").
type PathError struct {
	Path, Msg string
}

func (e *PathError) Error() string { return e.Path + ": " + e.Msg }

// errAt formats a message that begins with its path ("Path: message").
func errAt(format string, args ...any) error {
	s := fmt.Sprintf(format, args...)
	path, msg, _ := strings.Cut(s, ": ")
	return &PathError{Path: path, Msg: msg}
}

// ErrTooLarge is returned for a document over the limits.
var ErrTooLarge = errors.New("document too large")

// Read parses a document: Switchyard's YAML or JSON form, or a
// CloudFormation template (recognised by its Resources or
// AWSTemplateFormatVersion). Unknown fields are refused with their path.
// Secret references are left for Document.Resolve.
func Read(data []byte, opts Options) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), MaxDocumentSize)
	}
	tree, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the document is not a mapping (got %s)", typeName(tree))
	}
	if opts.Partition == "" {
		opts.Partition = "aws"
	}
	var doc *Document
	if _, ok := top["Resources"]; ok {
		doc, err = readTemplate(top, opts)
	} else if _, ok := top["AWSTemplateFormatVersion"]; ok {
		doc, err = readTemplate(top, opts)
	} else if len(opts.Parameters) > 0 {
		return nil, errors.New("parameters are for CloudFormation templates: this document has no Resources")
	} else {
		doc, err = readNative(top, opts)
	}
	if err != nil {
		return nil, err
	}
	for i := range doc.Rules {
		r := &doc.Rules[i]
		if r.EventBusName = localBus(r.EventBusName, opts); strings.HasPrefix(r.EventBusName, "arn:") {
			// Its rules are listed in the bus owner's scope, where a plan
			// cannot see them.
			return nil, errAt("Rules[%d].EventBusName: %s is a bus of another account or region: apply manages rules on the buses of its own scope only", i, r.EventBusName)
		}
	}
	if err := doc.validate(); err != nil {
		return nil, err
	}
	return doc, nil
}

// localBus is the name of a bus given by the ARN of a bus of the scope
// read in, and s itself otherwise ("" and "default" are "").
func localBus(s string, opts Options) string {
	if s == "default" {
		return ""
	}
	if !strings.HasPrefix(s, "arn:") {
		return s
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) == 6 && parts[2] == "events" && (parts[3] == opts.Region || opts.Region == "") &&
		(parts[4] == opts.Account || opts.Account == "") && strings.HasPrefix(parts[5], "event-bus/") {
		return localBus(strings.TrimPrefix(parts[5], "event-bus/"), opts)
	}
	return s
}

// parseTree decodes YAML (JSON is YAML) into plain values: map[string]any,
// []any, string, int, float64, bool and nil. CloudFormation's short-form
// tags become their long form (!Ref x is {"Ref": "x"}).
func parseTree(data []byte) (any, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("malformed document: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("malformed document: more than one YAML document")
	}
	budget := MaxNodes
	return convert(&root, &budget, "")
}

// shortTags are CloudFormation's short-form intrinsic function tags.
var shortTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!If": "Fn::If",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap",
	"!Base64": "Fn::Base64", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And",
	"!Or": "Fn::Or", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue",
	"!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform", "!ToJsonString": "Fn::ToJsonString",
	"!Length": "Fn::Length",
}

func convert(n *yaml.Node, budget *int, path string) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("%w: over %d values", ErrTooLarge, MaxNodes)
	}
	if fn, ok := shortTags[n.Tag]; ok {
		c := *n
		c.Tag = ""
		switch c.Kind {
		case yaml.ScalarNode:
			c.Tag = "!!str"
		case yaml.MappingNode:
			c.Tag = "!!map"
		case yaml.SequenceNode:
			c.Tag = "!!seq"
		}
		v, err := convert(&c, budget, path)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok && fn == "Fn::GetAtt" {
			// !GetAtt Resource.Attribute
			id, attr, _ := strings.Cut(s, ".")
			v = []any{id, attr}
		}
		return map[string]any{fn: v}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("%s: unknown tag %s (line %d)", orRoot(path), n.Tag, n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, errors.New("the document is empty")
		}
		return convert(n.Content[0], budget, path)
	case yaml.AliasNode:
		return convert(n.Alias, budget, path)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: a key is not a string (line %d)", orRoot(path), k.Line)
			}
			if k.Tag == "!!merge" {
				return nil, fmt.Errorf("%s: YAML merge keys are not supported (line %d)", orRoot(path), k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("%s: duplicate key %q (line %d)", orRoot(path), k.Value, k.Line)
			}
			v, err := convert(n.Content[i+1], budget, join(path, k.Value))
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := convert(c, budget, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", orRoot(path), err)
		}
		switch x := v.(type) {
		case string, bool, nil, int, float64:
			return x, nil
		case int64:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		default:
			// timestamps and binary: keep the text
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("%s: unsupported YAML node (line %d)", orRoot(path), n.Line)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// readNative reads Switchyard's own form.
func readNative(top map[string]any, opts Options) (*Document, error) {
	if err := checkFields(top, reflect.TypeFor[Document](), ""); err != nil {
		return nil, err
	}
	b, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	var doc Document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("invalid document: %w", err)
	}
	if opts.Stack != "" {
		doc.Stack = opts.Stack
	}
	for i := range doc.Rules {
		doc.Rules[i].EventPattern = unquote(doc.Rules[i].EventPattern)
		for _, t := range doc.Rules[i].Targets {
			inputAsText(t)
		}
	}
	for i := range doc.Archives {
		doc.Archives[i].EventPattern = unquote(doc.Archives[i].EventPattern)
	}
	for i := range doc.EventBuses {
		doc.EventBuses[i].Policy = unquote(doc.EventBuses[i].Policy)
	}
	return &doc, nil
}

// inputAsText makes a target's Input, which the API takes as a string of
// JSON, from an object or list given in the document.
func inputAsText(t Target) {
	switch in := t["Input"].(type) {
	case map[string]any, []any:
		b, _ := json.Marshal(in)
		t["Input"] = string(b)
	}
}

// unquote turns JSON given as a string of JSON into the JSON itself, so
// that a pattern may be written either way.
func unquote(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || raw[0] != '"' {
		return raw
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw
	}
	return json.RawMessage(s)
}

// checkFields walks v, a decoded document, beside t, the Go type it is to
// fill, and refuses an unknown field or a value of the wrong kind with the
// path to it.
func checkFields(v any, t reflect.Type, path string) error {
	if t == reflect.TypeFor[Target]() {
		// A Target is checked against the API model at every depth; its
		// Input may also be an object (sent as JSON text).
		if m, ok := v.(map[string]any); ok {
			switch m["Input"].(type) {
			case map[string]any, []any:
				c := make(map[string]any, len(m))
				for k, e := range m {
					c[k] = e
				}
				c["Input"] = ""
				v = c
			}
		}
		return checkShape(v, "Target", path)
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	if v == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkFields(v, t.Elem(), path)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: must be a mapping, got %s", orRoot(path), typeName(v))
		}
		known := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			known[name] = f.Type
			names = append(names, name)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := known[k]
			if !ok {
				return fmt.Errorf("%s: unknown field %q (known: %s)", join(path, k), k, strings.Join(names, ", "))
			}
			if err := checkFields(m[k], ft, join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: must be a list, got %s", orRoot(path), typeName(v))
		}
		for i, e := range s {
			if err := checkFields(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: must be a mapping, got %s", orRoot(path), typeName(v))
		}
		for k, e := range m {
			if err := checkFields(e, t.Elem(), join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: must be a string, got %s", orRoot(path), typeName(v))
		}
	case reflect.Int:
		switch n := v.(type) {
		case int:
		case float64:
			if n != float64(int(n)) {
				return fmt.Errorf("%s: must be a whole number", orRoot(path))
			}
		default:
			return fmt.Errorf("%s: must be a number, got %s", orRoot(path), typeName(v))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// validate checks what the planner relies on: names, no duplicates, a
// rule with a pattern or a schedule, targets with Id and Arn.
func (d *Document) validate() error {
	if d.Stack == "" {
		return errAt("Stack: the document names no stack (set Stack, or --stack-name)")
	}
	if !stackNameRE.MatchString(d.Stack) {
		return errAt("Stack: %q is not a stack name: 1 to 128 letters, digits, '.', '_' and '-', beginning with a letter or digit", d.Stack)
	}
	if n := len(d.EventBuses) + len(d.Rules) + len(d.Archives) + len(d.Connections) + len(d.ApiDestinations); n > MaxResources {
		return fmt.Errorf("%w: %d resources, the limit is %d", ErrTooLarge, n, MaxResources)
	}
	seen := map[string]bool{}
	dup := func(kind, name string) error {
		k := kind + "\x00" + name
		if seen[k] {
			return fmt.Errorf("%s %s is declared twice", kind, name)
		}
		seen[k] = true
		return nil
	}
	for i, b := range d.EventBuses {
		if b.Name == "" {
			return fmt.Errorf("EventBuses[%d].Name: required", i)
		}
		if err := dup("EventBus", b.Name); err != nil {
			return err
		}
		if len(b.Policy) > 0 && !json.Valid(b.Policy) {
			return fmt.Errorf("EventBuses[%d].Policy: not JSON", i)
		}
	}
	for i, r := range d.Rules {
		if r.Name == "" {
			return fmt.Errorf("Rules[%d].Name: required", i)
		}
		if err := dup("Rule", busName(r.EventBusName)+"/"+r.Name); err != nil {
			return err
		}
		if len(r.EventPattern) == 0 && r.ScheduleExpression == "" {
			return errAt("Rules[%d] (%s): needs an EventPattern or a ScheduleExpression", i, r.Name)
		}
		if len(r.EventPattern) > 0 && !json.Valid(r.EventPattern) {
			return fmt.Errorf("Rules[%d].EventPattern: not JSON", i)
		}
		ids := map[string]bool{}
		for j, t := range r.Targets {
			if t.ID() == "" {
				return fmt.Errorf("Rules[%d].Targets[%d].Id: required", i, j)
			}
			if s, _ := t["Arn"].(string); s == "" {
				return fmt.Errorf("Rules[%d].Targets[%d].Arn: required", i, j)
			}
			if ids[t.ID()] {
				return fmt.Errorf("Rules[%d].Targets[%d]: target Id %s is used twice", i, j, t.ID())
			}
			ids[t.ID()] = true
		}
	}
	for i, a := range d.Archives {
		if a.ArchiveName == "" {
			return fmt.Errorf("Archives[%d].ArchiveName: required", i)
		}
		if err := dup("Archive", a.ArchiveName); err != nil {
			return err
		}
		if (a.EventBusName == "") == (a.EventSourceArn == "") {
			return errAt("Archives[%d] (%s): give one of EventBusName and EventSourceArn", i, a.ArchiveName)
		}
	}
	for i, c := range d.Connections {
		if c.Name == "" {
			return fmt.Errorf("Connections[%d].Name: required", i)
		}
		if err := dup("Connection", c.Name); err != nil {
			return err
		}
	}
	for i, a := range d.ApiDestinations {
		if a.Name == "" {
			return fmt.Errorf("ApiDestinations[%d].Name: required", i)
		}
		if err := dup("ApiDestination", a.Name); err != nil {
			return err
		}
		if (a.ConnectionName == "") == (a.ConnectionArn == "") {
			return fmt.Errorf("ApiDestinations[%d] (%s): give one of ConnectionName and ConnectionArn", i, a.Name)
		}
	}
	return nil
}

// stackNameRE is what a stack may be called: CloudFormation's stack names
// ([a-zA-Z][-a-zA-Z0-9]*, up to 128) and a little more, nothing that could
// end the description marker early.
var stackNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// busName is the name of a bus given by name or ARN ("" is default).
func busName(s string) string {
	if s == "" {
		return "default"
	}
	if strings.HasPrefix(s, "arn:") {
		if _, after, ok := strings.Cut(s, ":event-bus/"); ok {
			return after
		}
	}
	return s
}
