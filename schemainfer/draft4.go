package schemainfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// draft4Schema is the $schema of every exported document.
const draft4Schema = "http://json-schema.org/draft-04/schema#"

// ToJSONSchemaDraft4 converts an OpenAPI 3 registry schema to the JSON
// Schema draft 4 document ExportSchema returns: the root component's fields
// at the top level, with $schema and title (info.title), every other
// component under definitions, and references #/components/schemas/X
// rewritten to #/definitions/X. This is the shape of AWS's export of a
// discovered schema (DescribeSchema and ExportSchema of users@UserCreated:
// the AWSEvent component at the root, Data and UserCreated in definitions).
//
// The root component is AWSEvent when there is one, else the component
// named as info.title, else the only component; a document with several
// components and none of these exports them all under definitions with an
// empty (accept-all) root. OpenAPI's nullable becomes a "null" type, and the
// keywords draft 4 lacks (discriminator, readOnly, writeOnly, xml,
// externalDocs, example, deprecated) are dropped.
func ToJSONSchemaDraft4(openapi []byte) ([]byte, error) {
	var doc struct {
		Info struct {
			Title string `json:"title"`
		} `json:"info"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	dec := json.NewDecoder(bytes.NewReader(openapi))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSchema, err)
	}
	schemas := doc.Components.Schemas
	rootName := ""
	switch {
	case schemas["AWSEvent"] != nil:
		rootName = "AWSEvent"
	case schemas[doc.Info.Title] != nil:
		rootName = doc.Info.Title
	case len(schemas) == 1:
		for k := range schemas {
			rootName = k
		}
	}
	defs := make(map[string]any, len(schemas))
	for name, s := range schemas {
		if name == rootName {
			continue
		}
		c, err := toDraft4(s, 0)
		if err != nil {
			return nil, fmt.Errorf("components.schemas.%s: %w", name, err)
		}
		defs[name] = c
	}
	root := map[string]any{}
	if rootName != "" {
		c, err := toDraft4(schemas[rootName], 0)
		if err != nil {
			return nil, fmt.Errorf("components.schemas.%s: %w", rootName, err)
		}
		if m, ok := c.(map[string]any); ok {
			root = m
		}
	}
	delete(root, "$schema")
	delete(root, "definitions")
	title := doc.Info.Title
	if t, ok := root["title"].(string); ok && title == "" {
		title = t
	}
	delete(root, "title")

	var b bytes.Buffer
	b.WriteString(`{"$schema":`)
	writeString(&b, draft4Schema)
	if title != "" {
		b.WriteString(`,"title":`)
		writeString(&b, title)
	}
	if len(defs) > 0 {
		b.WriteString(`,"definitions":`)
		if err := encode(&b, defs); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(root))
	for k := range root {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte(',')
		writeString(&b, k)
		b.WriteByte(':')
		if err := encode(&b, root[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encode(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// openAPIOnly are schema keywords of OpenAPI 3.0 that draft 4 lacks.
var openAPIOnly = []string{"nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated"}

// toDraft4 converts one schema object; keywords holding schemas are
// converted recursively, so $refs are rewritten wherever they are.
func toDraft4(v any, depth int) (any, error) {
	if depth > 2*MaxDepth {
		return nil, ErrTooDeep
	}
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		out[k] = val
	}
	if ref, ok := out["$ref"].(string); ok {
		if name, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok {
			out["$ref"] = "#/definitions/" + name
		}
	}
	for _, k := range []string{"items", "additionalProperties", "not"} {
		if s, ok := out[k].(map[string]any); ok {
			c, err := toDraft4(s, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
	}
	for _, k := range []string{"properties", "patternProperties", "definitions"} {
		if ps, ok := out[k].(map[string]any); ok {
			conv := make(map[string]any, len(ps))
			for name, s := range ps {
				c, err := toDraft4(s, depth+1)
				if err != nil {
					return nil, err
				}
				conv[name] = c
			}
			out[k] = conv
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := out[k].([]any); ok {
			conv := make([]any, len(list))
			for i, s := range list {
				c, err := toDraft4(s, depth+1)
				if err != nil {
					return nil, err
				}
				conv[i] = c
			}
			out[k] = conv
		}
	}
	nullable, _ := out["nullable"].(bool)
	for _, k := range openAPIOnly {
		delete(out, k)
	}
	if nullable {
		switch t := out["type"].(type) {
		case string:
			out["type"] = []any{t, "null"}
			if enum, ok := out["enum"].([]any); ok {
				out["enum"] = append(slices.Clip(enum), nil)
			}
		case nil:
			if _, ok := out["$ref"]; ok {
				// Beside $ref, draft 4 ignores other keywords: say it with anyOf.
				out = map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
			} else if len(out) == 0 {
				out["type"] = "null"
			}
		}
	}
	return out, nil
}
