package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxDepth bounds the nesting of a policy document. The deepest element of
// a valid policy (a condition value list) sits at depth 6; the bound only
// keeps hostile input from costing more than its length.
const maxDepth = 32

type jkind uint8

const (
	jString jkind = iota
	jNumber
	jBool
	jNull
	jArray
	jObject
)

func (k jkind) String() string {
	switch k {
	case jString:
		return "a string"
	case jNumber:
		return "a number"
	case jBool:
		return "a boolean"
	case jNull:
		return "null"
	case jArray:
		return "an array"
	}
	return "an object"
}

// A jnode is a decoded JSON value. Objects keep their members in document
// order; duplicate member names are refused while decoding, since
// encoding/json would silently keep the last and a policy's meaning must not
// depend on which copy a reader keeps.
type jnode struct {
	kind  jkind
	str   string   // string value, number literal, or "true"/"false"
	elems []*jnode // array elements
	keys  []string // object member names
	vals  []*jnode // object member values
}

// member returns the value of the object member named key, or nil.
func (n *jnode) member(key string) *jnode {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

type decoder struct {
	dec *json.Decoder
}

// decodeJSON decodes exactly one JSON value from data.
func decodeJSON(data []byte) (*jnode, error) {
	d := decoder{dec: json.NewDecoder(bytes.NewReader(data))}
	d.dec.UseNumber()
	n, err := d.value(0, "")
	if err != nil {
		return nil, err
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, &Error{Reason: "unexpected data after the policy document"}
	}
	return n, nil
}

func (d *decoder) token(path string) (json.Token, error) {
	tok, err := d.dec.Token()
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, &Error{Path: path, Reason: "unexpected end of JSON input", Err: err}
	}
	return nil, &Error{Path: path, Reason: fmt.Sprintf("invalid JSON: %v", err), Err: err}
}

func (d *decoder) value(depth int, path string) (*jnode, error) {
	tok, err := d.token(path)
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case string:
		return &jnode{kind: jString, str: t}, nil
	case json.Number:
		return &jnode{kind: jNumber, str: t.String()}, nil
	case bool:
		if t {
			return &jnode{kind: jBool, str: "true"}, nil
		}
		return &jnode{kind: jBool, str: "false"}, nil
	case nil:
		return &jnode{kind: jNull}, nil
	case json.Delim:
		if depth >= maxDepth {
			return nil, &Error{Path: path, Reason: fmt.Sprintf("the document nests deeper than %d levels", maxDepth)}
		}
		switch t {
		case '[':
			n := &jnode{kind: jArray}
			for d.dec.More() {
				e, err := d.value(depth+1, fmt.Sprintf("%s[%d]", path, len(n.elems)))
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, e)
			}
			if _, err := d.token(path); err != nil { // ']'
				return nil, err
			}
			return n, nil
		case '{':
			n := &jnode{kind: jObject}
			var seen map[string]bool
			for d.dec.More() {
				tok, err := d.token(path)
				if err != nil {
					return nil, err
				}
				key, _ := tok.(string) // the decoder only yields strings here
				if seen == nil && len(n.keys) >= 8 {
					seen = make(map[string]bool, 2*len(n.keys))
					for _, k := range n.keys {
						seen[k] = true
					}
				}
				dup := false
				if seen != nil {
					dup = seen[key]
					seen[key] = true
				} else {
					for _, k := range n.keys {
						if k == key {
							dup = true
							break
						}
					}
				}
				if dup {
					return nil, &Error{Path: path, Reason: fmt.Sprintf("duplicate key %q", key)}
				}
				v, err := d.value(depth+1, joinPath(path, key))
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
			if _, err := d.token(path); err != nil { // '}'
				return nil, err
			}
			return n, nil
		}
	}
	return nil, &Error{Path: path, Reason: fmt.Sprintf("invalid JSON token %v", tok)}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
