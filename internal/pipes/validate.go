package pipes

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/restapi"
)

// shapes.json holds the constraints of the Pipes API model (botocore's
// pipes/2015-10-07), written by genshapes:
//
//go:generate sh -c "go run ./genshapes $(python3 -c 'import botocore,os;print(os.path.dirname(botocore.__file__))')/data/pipes/2015-10-07/service-2.json.gz > shapes.json"
//go:embed shapes.json
var shapesJSON []byte

type member struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

type shape struct {
	Type     string            `json:"type"`
	Min      *float64          `json:"min"`
	Max      *float64          `json:"max"`
	Pattern  string            `json:"pattern"`
	Enum     []string          `json:"enum"`
	Required []string          `json:"required"`
	Members  map[string]member `json:"members"`
	Member   *member           `json:"member"`
	Key      *member           `json:"key"`
	Value    *member           `json:"value"`

	re *regexp.Regexp // Pattern, anchored; nil if Go cannot compile it
}

type apiModel struct {
	Operations map[string]string `json:"operations"`
	Shapes     map[string]*shape `json:"shapes"`
}

var theModel = sync.OnceValue(func() *apiModel {
	var m apiModel
	if err := json.Unmarshal(shapesJSON, &m); err != nil {
		panic("pipes: shapes.json: " + err.Error())
	}
	for _, s := range m.Shapes {
		if s.Pattern != "" {
			// The model's patterns match the whole value. A few use
			// look-ahead, which Go's RE2 lacks; those are left to the
			// checks of the operations themselves.
			s.re, _ = regexp.Compile(`^(?:` + s.Pattern + `)$`)
		}
	}
	return &m
})

// violation is one constraint a request breaks, in the words of AWS's
// validation messages ("1 validation error detected: Value 'x' at 'name'
// failed to satisfy constraint: Member must satisfy regular expression
// pattern: ...", the form of every Smithy service's ValidationException).
type violation struct {
	path  string // 'sourceParameters.sqsQueueParameters.batchSize'
	value string // as the message quotes it; "" for none
	msg   string // "Member must ..."
}

// input is what the validator sees of a request: its URI labels, query
// parameters and JSON body.
type input struct {
	path  func(string) string
	query func(string) []string
	body  map[string]any
}

// validateRequest checks r against the input shape of its operation, and
// returns the ValidationException AWS answers for what it breaks, or nil.
func validateRequest(r *restapi.Request) error {
	var body map[string]any
	if len(strings.TrimSpace(string(r.Body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(r.Body)))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return awserr.New(awserr.CodeSerialization, "Request body is not a valid JSON object: %s", err.Error())
		}
	}
	in := input{path: r.Path, query: r.QueryList, body: body}
	return validateInput(r.Operation, in)
}

func validateInput(op string, in input) error {
	m := theModel()
	s := m.Shapes[m.Operations[op]]
	if s == nil {
		return nil
	}
	var vs []violation
	names := sortedMembers(s)
	for _, name := range names {
		mem := s.Members[name]
		var v any
		present := false
		switch mem.Location {
		case "uri":
			if p := in.path(mem.LocationName); p != "" {
				v, present = p, true
			}
		case "querystring":
			if q := in.query(mem.LocationName); len(q) > 0 {
				present = true
				if m.Shapes[mem.Shape].Type == "list" {
					l := make([]any, len(q))
					for i, x := range q {
						l[i] = x
					}
					v = l
				} else {
					v = q[0]
				}
			}
		case "header":
			continue
		default:
			v, present = in.body[name]
			if present && v == nil {
				present = false
			}
		}
		p := lowerFirst(name)
		if mem.LocationName != "" {
			p = mem.LocationName
			if mem.Location == "uri" || mem.Location == "querystring" {
				p = lowerFirst(mem.LocationName)
			}
		}
		if !present {
			if contains(s.Required, name) {
				vs = append(vs, violation{path: p, value: "null", msg: "Member must not be null"})
			}
			continue
		}
		vs = m.check(vs, p, mem.Shape, v)
	}
	return validationError(vs)
}

func (m *apiModel) check(vs []violation, path, shapeName string, v any) []violation {
	s := m.Shapes[shapeName]
	if s == nil {
		return vs
	}
	switch s.Type {
	case "string":
		str, ok := v.(string)
		if !ok {
			return append(vs, violation{path: path, msg: "Member must be a string"})
		}
		n := float64(utf8.RuneCountInString(str))
		if s.Min != nil && n < *s.Min {
			vs = append(vs, violation{path, quote(str), fmt.Sprintf("Member must have length greater than or equal to %v", *s.Min)})
		}
		if s.Max != nil && n > *s.Max {
			vs = append(vs, violation{path, quote(str), fmt.Sprintf("Member must have length less than or equal to %v", *s.Max)})
		}
		if s.re != nil && !s.re.MatchString(str) {
			vs = append(vs, violation{path, quote(str), "Member must satisfy regular expression pattern: " + s.Pattern})
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			vs = append(vs, violation{path, quote(str), "Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]"})
		}
	case "integer", "long":
		num, ok := v.(json.Number)
		if !ok {
			// A query parameter arrives as text.
			if str, isStr := v.(string); isStr {
				num, ok = json.Number(str), true
			}
		}
		f, err := num.Float64()
		if !ok || err != nil || f != math.Trunc(f) {
			return append(vs, violation{path: path, msg: "Member must be an integer"})
		}
		if s.Min != nil && f < *s.Min {
			vs = append(vs, violation{path, string(num), fmt.Sprintf("Member must have value greater than or equal to %v", *s.Min)})
		}
		if s.Max != nil && f > *s.Max {
			vs = append(vs, violation{path, string(num), fmt.Sprintf("Member must have value less than or equal to %v", *s.Max)})
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return append(vs, violation{path: path, msg: "Member must be a boolean"})
		}
	case "timestamp":
		switch v.(type) {
		case json.Number, string:
		default:
			return append(vs, violation{path: path, msg: "Member must be a timestamp"})
		}
	case "list":
		l, ok := v.([]any)
		if !ok {
			return append(vs, violation{path: path, msg: "Member must be a list"})
		}
		n := float64(len(l))
		if s.Min != nil && n < *s.Min {
			vs = append(vs, violation{path, "", fmt.Sprintf("Member must have length greater than or equal to %v", *s.Min)})
		}
		if s.Max != nil && n > *s.Max {
			vs = append(vs, violation{path, "", fmt.Sprintf("Member must have length less than or equal to %v", *s.Max)})
		}
		for i, e := range l {
			if e == nil {
				vs = append(vs, violation{fmt.Sprintf("%s.%d.member", path, i+1), "null", "Member must not be null"})
				continue
			}
			vs = m.check(vs, fmt.Sprintf("%s.%d.member", path, i+1), s.Member.Shape, e)
		}
	case "map":
		mp, ok := v.(map[string]any)
		if !ok {
			return append(vs, violation{path: path, msg: "Member must be a map"})
		}
		n := float64(len(mp))
		if s.Min != nil && n < *s.Min {
			vs = append(vs, violation{path, "", fmt.Sprintf("Member must have length greater than or equal to %v", *s.Min)})
		}
		if s.Max != nil && n > *s.Max {
			vs = append(vs, violation{path, "", fmt.Sprintf("Member must have length less than or equal to %v", *s.Max)})
		}
		keys := make([]string, 0, len(mp))
		for k := range mp {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vs = m.check(vs, path+".key", s.Key.Shape, k)
			if mp[k] == nil {
				vs = append(vs, violation{path + ".value", "null", "Member must not be null"})
				continue
			}
			vs = m.check(vs, path+".value", s.Value.Shape, mp[k])
		}
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			return append(vs, violation{path: path, msg: "Member must be a structure"})
		}
		for _, name := range sortedMembers(s) {
			sub := path + "." + lowerFirst(name)
			val, present := obj[name]
			if !present || val == nil {
				if contains(s.Required, name) {
					vs = append(vs, violation{sub, "null", "Member must not be null"})
				}
				continue
			}
			vs = m.check(vs, sub, s.Members[name].Shape, val)
		}
	}
	return vs
}

// validationError is the ValidationException of vs, with its fieldList.
func validationError(vs []violation) error {
	if len(vs) == 0 {
		return nil
	}
	parts := make([]string, len(vs))
	fields := make([]map[string]string, len(vs))
	for i, v := range vs {
		val := "Value"
		if v.value != "" {
			val = "Value " + v.value
		}
		parts[i] = fmt.Sprintf("%s at '%s' failed to satisfy constraint: %s", val, v.path, v.msg)
		fields[i] = map[string]string{"name": v.path, "message": v.msg}
	}
	noun := "error"
	if len(vs) > 1 {
		noun = "errors"
	}
	msg := fmt.Sprintf("%d validation %s detected: %s", len(vs), noun, strings.Join(parts, "; "))
	return &restapi.FieldError{Err: awserr.Validation("%s", msg), Fields: map[string]any{"fieldList": fields}}
}

// fieldInvalid is a ValidationException about one field, in the form AWS
// answers for a pipe whose parts do not fit together (a Kinesis source
// without KinesisStreamParameters: "Missing required parameter.", see
// hashicorp/terraform-provider-aws#32018 for one AWS answered).
func fieldInvalid(field, msg string) error {
	return &restapi.FieldError{Err: awserr.Validation("%s", msg),
		Fields: map[string]any{"fieldList": []map[string]string{{"name": field, "message": msg}}}}
}

func sortedMembers(s *shape) []string {
	names := make([]string, 0, len(s.Members))
	for n := range s.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func quote(s string) string { return "'" + s + "'" }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
