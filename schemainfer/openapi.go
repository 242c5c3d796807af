package schemainfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// FromOpenAPI resumes from a document OpenAPI produced (a stored version),
// so that Merge continues from it as if from the events behind it: what the
// document calls required is treated as seen in every event, the rest as
// seen in some.
func FromOpenAPI(doc []byte) (*Schema, error) {
	if len(doc) > MaxEventSize {
		return nil, fmt.Errorf("%w: document of %d bytes", ErrTooLarge, len(doc))
	}
	var d struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSchema, err)
	}
	raw, ok := d.Components.Schemas["AWSEvent"]
	if !ok {
		raw, ok = d.Components.Schemas[genericRoot]
		if !ok {
			return nil, fmt.Errorf("%w: no components.schemas.AWSEvent", ErrNotSchema)
		}
		rd := reader{components: d.Components.Schemas}
		root, err := rd.node(raw, 0)
		if err != nil {
			return nil, err
		}
		if root.kinds != kObject {
			return nil, fmt.Errorf("%w: %s is not an object", ErrNotSchema, genericRoot)
		}
		return &Schema{root: root, generic: true}, nil
	}
	var env struct {
		Source     *string `json:"x-amazon-events-source"`
		DetailType *string `json:"x-amazon-events-detail-type"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Source == nil || env.DetailType == nil {
		return nil, fmt.Errorf("%w: AWSEvent lacks x-amazon-events-source or x-amazon-events-detail-type", ErrNotSchema)
	}
	rd := reader{components: d.Components.Schemas}
	root, err := rd.node(raw, 0)
	if err != nil {
		return nil, err
	}
	if det := root.props["detail"]; root.kinds != kObject || det == nil || det.kinds != kObject {
		return nil, fmt.Errorf("%w: AWSEvent.detail is not an object", ErrNotSchema)
	}
	return &Schema{source: *env.Source, detailType: *env.DetailType, root: root}, nil
}

type reader struct {
	components map[string]json.RawMessage
	fields     int
}

type schemaObject struct {
	Ref        string                     `json:"$ref"`
	Type       string                     `json:"type"`
	Format     string                     `json:"format"`
	Nullable   bool                       `json:"nullable"`
	Required   []string                   `json:"required"`
	Properties map[string]json.RawMessage `json:"properties"`
	Items      json.RawMessage            `json:"items"`
}

func (rd *reader) node(raw json.RawMessage, depth int) (*node, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w (or $ref cycle)", ErrTooDeep)
	}
	var so schemaObject
	if err := json.Unmarshal(raw, &so); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSchema, err)
	}
	if so.Ref != "" {
		name, ok := strings.CutPrefix(so.Ref, "#/components/schemas/")
		target, found := rd.components[name]
		if !ok || !found {
			return nil, fmt.Errorf("%w: unresolved $ref %q", ErrNotSchema, so.Ref)
		}
		n, err := rd.node(target, depth+1)
		if err != nil {
			return nil, err
		}
		if so.Nullable {
			n.kinds |= kNull
		}
		return n, nil
	}
	n := &node{}
	if so.Nullable {
		n.kinds |= kNull
	}
	switch so.Type {
	case "":
		if !so.Nullable {
			n.kinds = kAny
		}
	case "boolean":
		n.kinds |= kBool
	case "integer":
		if so.Format == "int32" {
			n.kinds |= kInt32
		} else {
			n.kinds |= kInt64
		}
	case "number":
		n.kinds |= kNumber
	case "string":
		n.kinds |= kString
		n.notDateTime = so.Format != "date-time"
	case "object":
		n.kinds |= kObject
		n.objects = 1
		required := make(map[string]bool, len(so.Required))
		for _, k := range so.Required {
			required[k] = true
		}
		for k, p := range so.Properties {
			rd.fields++
			if rd.fields > MaxFields {
				return nil, fmt.Errorf("%w: more than %d fields", ErrTooLarge, MaxFields)
			}
			c, err := rd.node(p, depth+1)
			if err != nil {
				return nil, err
			}
			if required[k] {
				c.present = 1
			}
			n.child(k)
			n.props[k] = c
		}
	case "array":
		n.kinds |= kArray
		items := bytes.TrimSpace(so.Items)
		// {"type":"object"} items are what an array only ever empty renders as.
		if len(items) > 0 && !bytes.Equal(items, []byte(`{"type":"object"}`)) {
			rd.fields++
			it, err := rd.node(so.Items, depth+1)
			if err != nil {
				return nil, err
			}
			n.items = it
		}
	default:
		return nil, fmt.Errorf("%w: type %q", ErrNotSchema, so.Type)
	}
	return n, nil
}
