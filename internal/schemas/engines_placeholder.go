package schemas

// PLACEHOLDER until h/schemagen lands: stand-ins, with the signatures of
// packages schemacheck and codebind, for the engines being written there.
// Deleted on merge.

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

var placeholderComponents map[string]map[string]any

func placeholderRoot(doc []byte) (map[string]any, error) {
	var d struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	root, ok := d.Components.Schemas["AWSEvent"]
	placeholderComponents = d.Components.Schemas
	if !ok {
		return nil, errors.New("no AWSEvent schema")
	}
	return root, nil
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
		root, err := placeholderRoot(content)
		if err != nil {
			return nil, err
		}
		return &validator{root: root}, nil
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
	if ref, ok := s["$ref"].(string); ok {
		s = placeholderComponents[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
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
