package stack

import (
	"fmt"
	"sort"
	"strings"
)

//go:generate go run gen_schema.go

// shapeOf is one shape of the EventBridge API model.
type shapeOf struct {
	kind    shapeKind
	members map[string]string // of a structure: member → shape
	elem    string            // of a list, or a map's values
}

type shapeKind int

const (
	kindAny shapeKind = iota
	kindStruct
	kindList
	kindMap
	kindString
	kindNumber
	kindBool
)

// checkShape checks v, a decoded value, against the model's shape name:
// unknown fields and values of the wrong kind are refused with their path.
// Required members are left to the API, which says which is missing.
func checkShape(v any, name, path string) error {
	s, ok := targetSchema[name]
	if !ok || v == nil {
		return nil
	}
	switch s.kind {
	case kindStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return errAt("%s: must be a mapping (a %s), got %s", orRoot(path), name, typeName(v))
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			member, ok := s.members[k]
			if !ok {
				known := make([]string, 0, len(s.members))
				for n := range s.members {
					known = append(known, n)
				}
				sort.Strings(known)
				return errAt("%s: unknown field %q (a %s has %s)", join(path, k), k, name, strings.Join(known, ", "))
			}
			if err := checkShape(m[k], member, join(path, k)); err != nil {
				return err
			}
		}
	case kindList:
		l, ok := v.([]any)
		if !ok {
			return errAt("%s: must be a list, got %s", orRoot(path), typeName(v))
		}
		for i, e := range l {
			if err := checkShape(e, s.elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return errAt("%s: must be a mapping, got %s", orRoot(path), typeName(v))
		}
		for k, e := range m {
			if err := checkShape(e, s.elem, join(path, k)); err != nil {
				return err
			}
		}
	case kindString:
		if _, ok := v.(string); !ok {
			return errAt("%s: must be a string, got %s", orRoot(path), typeName(v))
		}
	case kindNumber:
		switch v.(type) {
		case int, float64:
		default:
			return errAt("%s: must be a number, got %s", orRoot(path), typeName(v))
		}
	case kindBool:
		if _, ok := v.(bool); !ok {
			return errAt("%s: must be true or false, got %s", orRoot(path), typeName(v))
		}
	}
	return nil
}
