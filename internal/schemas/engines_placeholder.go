package schemas

// PLACEHOLDER until h/schemagen lands: stand-ins, with the signatures of
// packages schemainfer, schemacheck and codebind, for the engines being
// written there. Deleted on merge.

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

type inferred struct{ root map[string]any }

func inferFromEvent(event []byte) (*inferred, error) {
	var v any
	if err := json.Unmarshal(event, &v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errors.New("event is not a JSON object")
	}
	return &inferred{root: shapeOf(v)}, nil
}

func shapeOf(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		props := map[string]any{}
		for k, e := range x {
			props[k] = shapeOf(e)
		}
		return map[string]any{"type": "object", "properties": props}
	case []any:
		if len(x) > 0 {
			return map[string]any{"type": "array", "items": shapeOf(x[0])}
		}
		return map[string]any{"type": "array"}
	case string:
		return map[string]any{"type": "string"}
	case float64:
		return map[string]any{"type": "number"}
	case bool:
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{}
}

func inferFromOpenAPI(doc []byte) (*inferred, error) {
	var d struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	root, ok := d.Components.Schemas["Event"]
	if !ok {
		return nil, errors.New("no Event schema")
	}
	return &inferred{root: root}, nil
}

func (s *inferred) merge(o *inferred) bool { return mergeShape(s.root, o.root) }

func mergeShape(a, b map[string]any) bool {
	pa, _ := a["properties"].(map[string]any)
	pb, _ := b["properties"].(map[string]any)
	changed := false
	for k, v := range pb {
		if _, ok := pa[k]; !ok {
			if pa == nil {
				pa = map[string]any{}
				a["properties"] = pa
			}
			pa[k] = v
			changed = true
			continue
		}
		ma, _ := pa[k].(map[string]any)
		mb, _ := v.(map[string]any)
		if ma != nil && mb != nil && mergeShape(ma, mb) {
			changed = true
		}
	}
	return changed
}

func (s *inferred) openAPI() []byte {
	doc := map[string]any{"openapi": "3.0.0", "info": map[string]any{"version": "1.0.0", "title": "Event"},
		"paths": map[string]any{}, "components": map[string]any{"schemas": map[string]any{"Event": s.root}}}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}

func toJSONSchemaDraft4(openapi []byte) ([]byte, error) {
	s, err := inferFromOpenAPI(openapi)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"$schema": "http://json-schema.org/draft-04/schema#"}
	for k, v := range s.root {
		out[k] = v
	}
	return json.MarshalIndent(out, "", "  ")
}

func checkContent(content []byte, typ string) error {
	var v map[string]any
	if err := json.Unmarshal(content, &v); err != nil {
		return fmt.Errorf("content is not valid JSON: %w", err)
	}
	if typ == "OpenApi3" {
		if _, ok := v["openapi"]; !ok {
			return errors.New("an OpenAPI 3 document needs an \"openapi\" member")
		}
	}
	return nil
}

type validator struct{ root map[string]any }

func compileSchema(content []byte, typ string) (*validator, error) {
	if typ == "OpenApi3" {
		s, err := inferFromOpenAPI(content)
		if err != nil {
			return nil, err
		}
		return &validator{root: s.root}, nil
	}
	var v map[string]any
	if err := json.Unmarshal(content, &v); err != nil {
		return nil, err
	}
	return &validator{root: v}, nil
}

func (v *validator) validate(event []byte) error {
	var x any
	if err := json.Unmarshal(event, &x); err != nil {
		return err
	}
	return check("", v.root, x)
}

func check(ptr string, s map[string]any, x any) error {
	switch s["type"] {
	case "object":
		m, ok := x.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected an object", ptr)
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := m[fmt.Sprint(r)]; !ok {
				return fmt.Errorf("%s: required property %q missing", ptr, r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if e, ok := m[k]; ok {
				ps, _ := props[k].(map[string]any)
				if err := check(ptr+"/"+k, ps, e); err != nil {
					return err
				}
			}
		}
	case "string":
		if _, ok := x.(string); !ok {
			return fmt.Errorf("%s: expected a string", ptr)
		}
	case "number", "integer":
		if _, ok := x.(float64); !ok {
			return fmt.Errorf("%s: expected a number", ptr)
		}
	}
	return nil
}

var languages = []string{"Java8", "Python36", "TypeScript3", "Go1"}

func generateBinding(lang, schemaName string, content []byte, typ string) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	f, err := z.Create(strings.ReplaceAll(schemaName, "@", "_") + ".txt")
	if err != nil {
		return nil, err
	}
	_, _ = f.Write(content)
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
