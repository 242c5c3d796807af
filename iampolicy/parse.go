package iampolicy

import (
	"fmt"
	"strings"
)

// Parse parses a policy document of the given kind, checking it as IAM
// does: the grammar of "IAM JSON policy element reference" (each element's
// type, Effect "Allow" or "Deny", Action of the form "service:action",
// Resource an ARN or "*", known condition operators with well-formed
// values), unique Sids, and for an Identity policy no Principal, for a
// Resource policy a Principal or NotPrincipal in every statement.
//
// Element names are case-sensitive, as IAM's are; an unknown element and a
// duplicate JSON key are errors. An error in the document is of type *Error.
func Parse(data []byte, kind Kind) (*Policy, error) {
	if kind != Identity && kind != Resource {
		return nil, fmt.Errorf("iampolicy: Parse called with unknown policy kind %v", kind)
	}
	root, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	if root.kind != jObject {
		return nil, &Error{Reason: fmt.Sprintf("a policy document must be a JSON object, not %v", root.kind)}
	}
	p := &Policy{}
	for i, key := range root.keys {
		switch key {
		case "Version", "Id", "Statement":
		default:
			return nil, &Error{Path: key, Reason: fmt.Sprintf("unknown policy element %q (expected Version, Id, Statement)", key)}
		}
		if v := root.vals[i]; key != "Statement" && v.kind != jString {
			return nil, &Error{Path: key, Reason: fmt.Sprintf("must be a string, not %v", v.kind)}
		}
	}
	if v := root.member("Version"); v != nil {
		if v.str != Version2012 && v.str != Version2008 {
			return nil, &Error{Path: "Version", Reason: fmt.Sprintf("unsupported policy version %q (expected %q or %q)", v.str, Version2012, Version2008)}
		}
		p.Version = v.str
	}
	if v := root.member("Id"); v != nil {
		p.ID = v.str
	}
	st := root.member("Statement")
	if st == nil {
		return nil, &Error{Reason: "the policy document has no Statement element"}
	}
	var list []*jnode
	switch st.kind {
	case jObject:
		list = []*jnode{st}
	case jArray:
		list = st.elems
	default:
		return nil, &Error{Path: "Statement", Reason: fmt.Sprintf("must be an object or an array of objects, not %v", st.kind)}
	}
	if len(list) == 0 {
		return nil, &Error{Path: "Statement", Reason: "the policy document has no statements"}
	}
	ps := parser{vars: p.Version == Version2012, kind: kind}
	sids := make(map[string]bool, len(list))
	p.Statements = make([]Statement, 0, len(list))
	for i, n := range list {
		path := "Statement"
		if st.kind == jArray {
			path = fmt.Sprintf("Statement[%d]", i)
		}
		s, err := ps.statement(n, path)
		if err != nil {
			return nil, err
		}
		if s.Sid != "" {
			if sids[s.Sid] {
				return nil, &Error{Path: path + ".Sid", Reason: fmt.Sprintf("duplicate Sid %q: statement IDs must be unique within a policy", s.Sid)}
			}
			sids[s.Sid] = true
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

type parser struct {
	vars bool // the document's version recognizes policy variables
	kind Kind
}

func (ps *parser) statement(n *jnode, path string) (Statement, error) {
	var s Statement
	if n.kind != jObject {
		return s, &Error{Path: path, Reason: fmt.Sprintf("a statement must be an object, not %v", n.kind)}
	}
	for i, key := range n.keys {
		v := n.vals[i]
		kp := path + "." + key
		var err error
		switch key {
		case "Sid":
			if v.kind != jString {
				return s, &Error{Path: kp, Reason: fmt.Sprintf("must be a string, not %v", v.kind)}
			}
			s.Sid = v.str
		case "Effect":
			if v.kind != jString || (v.str != "Allow" && v.str != "Deny") {
				return s, &Error{Path: kp, Reason: fmt.Sprintf(`must be "Allow" or "Deny", not %s`, describe(v))}
			}
			s.Effect = v.str
		case "Principal":
			s.Principal, err = ps.principal(v, kp)
		case "NotPrincipal":
			s.NotPrincipal, err = ps.principal(v, kp)
		case "Action":
			s.Action, err = actions(v, kp)
		case "NotAction":
			s.NotAction, err = actions(v, kp)
		case "Resource":
			s.Resource, err = resources(v, kp)
		case "NotResource":
			s.NotResource, err = resources(v, kp)
		case "Condition":
			s.Condition, err = ps.conditions(v, kp)
		default:
			return s, &Error{Path: kp, Reason: fmt.Sprintf("unknown statement element %q", key)}
		}
		if err != nil {
			return s, err
		}
	}
	if s.Effect == "" {
		return s, &Error{Path: path, Reason: "the statement has no Effect"}
	}
	switch {
	case s.Action == nil && s.NotAction == nil:
		return s, &Error{Path: path, Reason: "the statement has neither Action nor NotAction"}
	case s.Action != nil && s.NotAction != nil:
		return s, &Error{Path: path, Reason: "the statement has both Action and NotAction"}
	case s.Resource != nil && s.NotResource != nil:
		return s, &Error{Path: path, Reason: "the statement has both Resource and NotResource"}
	case s.Principal != nil && s.NotPrincipal != nil:
		return s, &Error{Path: path, Reason: "the statement has both Principal and NotPrincipal"}
	}
	switch ps.kind {
	case Identity:
		if s.Principal != nil || s.NotPrincipal != nil {
			return s, &Error{Path: path, Reason: "an identity-based policy must not specify a Principal or NotPrincipal"}
		}
		if s.Resource == nil && s.NotResource == nil {
			return s, &Error{Path: path, Reason: "the statement has neither Resource nor NotResource"}
		}
	case Resource:
		if s.Principal == nil && s.NotPrincipal == nil {
			return s, &Error{Path: path, Reason: "a resource-based policy statement must specify a Principal or NotPrincipal"}
		}
	}
	return s, nil
}

// describe renders a JSON value for an error message.
func describe(n *jnode) string {
	if n.kind == jString {
		return fmt.Sprintf("%q", n.str)
	}
	return n.kind.String()
}

// stringList reads an element that is a string or a non-empty array of
// strings.
func stringList(n *jnode, path string) ([]string, error) {
	switch n.kind {
	case jString:
		return []string{n.str}, nil
	case jArray:
		if len(n.elems) == 0 {
			return nil, &Error{Path: path, Reason: "must not be an empty array"}
		}
		out := make([]string, len(n.elems))
		for i, e := range n.elems {
			if e.kind != jString {
				return nil, &Error{Path: fmt.Sprintf("%s[%d]", path, i), Reason: fmt.Sprintf("must be a string, not %v", e.kind)}
			}
			out[i] = e.str
		}
		return out, nil
	}
	return nil, &Error{Path: path, Reason: fmt.Sprintf("must be a string or an array of strings, not %v", n.kind)}
}

func actions(n *jnode, path string) ([]string, error) {
	list, err := stringList(n, path)
	if err != nil {
		return nil, err
	}
	for i, a := range list {
		if err := checkAction(a); err != "" {
			return nil, &Error{Path: elemPath(n, path, i), Reason: err}
		}
	}
	return list, nil
}

// elemPath names element i of a list element that may have been written as
// a single string.
func elemPath(n *jnode, path string, i int) string {
	if n.kind == jArray {
		return fmt.Sprintf("%s[%d]", path, i)
	}
	return path
}

// checkAction returns why a is not an action pattern, or "".
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	service, name, ok := strings.Cut(a, ":")
	if !ok {
		return fmt.Sprintf(`action %q must be "*" or of the form service:action, such as "events:PutEvents"`, a)
	}
	if service == "" {
		return fmt.Sprintf("action %q has an empty service prefix", a)
	}
	for i := 0; i < len(service); i++ {
		c := service[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Sprintf("action %q has an invalid service prefix %q (wildcards are not allowed in the service prefix)", a, service)
		}
	}
	if name == "" {
		return fmt.Sprintf("action %q has an empty action name", a)
	}
	return ""
}

func resources(n *jnode, path string) ([]string, error) {
	list, err := stringList(n, path)
	if err != nil {
		return nil, err
	}
	for i, r := range list {
		if r == "*" {
			continue
		}
		if !strings.HasPrefix(r, "arn:") || strings.Count(r, ":") < 5 {
			return nil, &Error{Path: elemPath(n, path, i), Reason: fmt.Sprintf(`resource %q must be "*" or an ARN of the form arn:partition:service:region:account:resource`, r)}
		}
	}
	return list, nil
}

func (ps *parser) principal(n *jnode, path string) (*Principal, error) {
	if n.kind == jString {
		if n.str != "*" {
			return nil, &Error{Path: path, Reason: fmt.Sprintf(`must be "*" or an object such as {"AWS": "123456789012"}, not %q`, n.str)}
		}
		return &Principal{AWS: []string{"*"}}, nil
	}
	if n.kind != jObject {
		return nil, &Error{Path: path, Reason: fmt.Sprintf(`must be "*" or an object such as {"AWS": "123456789012"}, not %v`, n.kind)}
	}
	if len(n.keys) == 0 {
		return nil, &Error{Path: path, Reason: "must name at least one principal"}
	}
	p := &Principal{}
	for i, key := range n.keys {
		kp := path + "." + key
		list, err := stringList(n.vals[i], kp)
		if err != nil {
			return nil, err
		}
		for j, v := range list {
			var why string
			switch key {
			case "AWS":
				why = checkAWSPrincipal(v)
			case "Service":
				why = checkServicePrincipal(v)
			case "Federated", "CanonicalUser":
				if v == "" {
					why = "a principal must not be empty"
				}
			default:
				return nil, &Error{Path: kp, Reason: fmt.Sprintf("unknown principal type %q (expected AWS, Service, Federated, CanonicalUser)", key)}
			}
			if why != "" {
				return nil, &Error{Path: elemPath(n.vals[i], kp, j), Reason: why}
			}
		}
		switch key {
		case "AWS":
			p.AWS = list
		case "Service":
			p.Service = list
		case "Federated":
			p.Federated = list
		case "CanonicalUser":
			p.CanonicalUser = list
		}
	}
	return p, nil
}

// checkAWSPrincipal returns why v is not an AWS principal, or "". IAM takes
// "*", an account ID, an ARN of an IAM or STS principal, or the unique ID
// that replaces the ARN of a deleted principal; wildcards are not allowed
// within a principal ("AWS JSON policy elements: Principal").
func checkAWSPrincipal(v string) string {
	switch {
	case v == "*", isAccountID(v):
		return ""
	case strings.ContainsAny(v, "*?"):
		return fmt.Sprintf("invalid principal %q: a wildcard cannot match part of a principal name or ARN", v)
	case strings.HasPrefix(v, "arn:"):
		a, ok := splitARN(v)
		if !ok || (a.service != "iam" && a.service != "sts") || !isAccountID(a.account) || a.resource == "" {
			return fmt.Sprintf("invalid principal %q: expected arn:partition:iam::account-id:root, :user/name, :role/name or arn:partition:sts::account-id:assumed-role/role/session", v)
		}
		return ""
	case isUniqueID(v):
		return ""
	}
	return fmt.Sprintf("invalid principal %q: expected \"*\", a 12-digit account ID or an IAM ARN", v)
}

func checkServicePrincipal(v string) string {
	if v == "" {
		return "a service principal must not be empty"
	}
	if strings.ContainsAny(v, "*?") {
		return fmt.Sprintf("invalid service principal %q: wildcards are not allowed", v)
	}
	return ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isUniqueID recognizes the unique IDs (AIDA..., AROA...) that IAM shows in
// place of a deleted principal's ARN.
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func (ps *parser) conditions(n *jnode, path string) ([]Condition, error) {
	if n.kind != jObject {
		return nil, &Error{Path: path, Reason: fmt.Sprintf("must be an object mapping condition operators to keys, not %v", n.kind)}
	}
	var out []Condition
	for i, opName := range n.keys {
		op := n.vals[i]
		opPath := path + "." + opName
		qual, base, ifExists, ok := splitOperator(opName)
		if !ok {
			return nil, &Error{Path: opPath, Reason: fmt.Sprintf("unknown condition operator %q", opName)}
		}
		if op.kind != jObject {
			return nil, &Error{Path: opPath, Reason: fmt.Sprintf("must be an object mapping condition keys to values, not %v", op.kind)}
		}
		for j, key := range op.keys {
			kp := opPath + "." + key
			if key == "" {
				return nil, &Error{Path: kp, Reason: "a condition key must not be empty"}
			}
			values, err := conditionValues(op.vals[j], kp)
			if err != nil {
				return nil, err
			}
			for k, v := range values {
				if why := ps.checkConditionValue(base, v); why != "" {
					return nil, &Error{Path: elemPath(op.vals[j], kp, k), Reason: why}
				}
			}
			out = append(out, Condition{Qualifier: qual, Operator: base, IfExists: ifExists, Key: key, Values: values})
		}
	}
	return out, nil
}

// conditionValues reads a condition's values: a string, number or boolean,
// or a non-empty array of them.
func conditionValues(n *jnode, path string) ([]string, error) {
	scalar := func(e *jnode, p string) (string, error) {
		switch e.kind {
		case jString, jNumber, jBool:
			return e.str, nil
		}
		return "", &Error{Path: p, Reason: fmt.Sprintf("a condition value must be a string, number or boolean, not %v", e.kind)}
	}
	if n.kind != jArray {
		v, err := scalar(n, path)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	}
	if len(n.elems) == 0 {
		return nil, &Error{Path: path, Reason: "a condition key must have at least one value"}
	}
	out := make([]string, len(n.elems))
	for i, e := range n.elems {
		v, err := scalar(e, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// checkConditionValue returns why v is no value for the operator, or "".
// A value holding a policy variable is checked once the variable is
// expanded, during evaluation.
func (ps *parser) checkConditionValue(op, v string) string {
	if ps.vars && strings.Contains(v, "${") && op != "Null" {
		return ""
	}
	switch operators[op].family {
	case famNumeric:
		if _, ok := parseNumber(v); !ok {
			return fmt.Sprintf("%s needs a number, not %q", op, v)
		}
	case famDate:
		if _, ok := parseDate(v); !ok {
			return fmt.Sprintf("%s needs a date (ISO 8601 such as 2026-01-02T15:04:05Z, or seconds since the epoch), not %q", op, v)
		}
	case famBool, famNull:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Sprintf(`%s needs "true" or "false", not %q`, op, v)
		}
	case famIP:
		if _, ok := parseCIDR(v); !ok {
			return fmt.Sprintf("%s needs an IP address or CIDR block, not %q", op, v)
		}
	}
	return ""
}

// splitOperator splits a condition operator such as
// "ForAnyValue:StringLikeIfExists" into its parts.
func splitOperator(s string) (qual, base string, ifExists, ok bool) {
	if q, rest, found := strings.Cut(s, ":"); found {
		if q != ForAnyValue && q != ForAllValues {
			return "", "", false, false
		}
		qual, s = q, rest
	}
	if _, known := operators[s]; known {
		if s == "Null" && qual != "" {
			return "", "", false, false
		}
		return qual, s, false, true
	}
	if b, found := strings.CutSuffix(s, "IfExists"); found && b != "Null" {
		if _, known := operators[b]; known {
			return qual, b, true, true
		}
	}
	return "", "", false, false
}
