package stack

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The CloudFormation resource types Read applies, with the properties of
// each it supports, from the CloudFormation template reference
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/AWS_Events.html).
// A property outside these lists is refused with its path, not ignored.
var templateProperties = map[string][]string{
	"AWS::Events::EventBus":       {"Name", "Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig", "EventSourceName", "Policy", "Tags"},
	"AWS::Events::Rule":           {"Name", "Description", "EventBusName", "EventPattern", "ScheduleExpression", "State", "RoleArn", "Targets", "Tags"},
	"AWS::Events::Archive":        {"ArchiveName", "SourceArn", "Description", "EventPattern", "RetentionDays", "KmsKeyIdentifier"},
	"AWS::Events::Connection":     {"Name", "Description", "AuthorizationType", "AuthParameters", "InvocationConnectivityParameters", "KmsKeyIdentifier"},
	"AWS::Events::ApiDestination": {"Name", "Description", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond"},
	"AWS::Events::EventBusPolicy": {"EventBusName", "StatementId", "Statement", "Action", "Principal", "Condition"},
}

// SupportedTypes lists the resource types and properties Read applies.
func SupportedTypes() map[string][]string { return templateProperties }

var templateSections = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters",
	"Mappings", "Conditions", "Transform", "Resources", "Outputs", "Rules"}

var resourceFields = []string{"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy",
	"UpdateReplacePolicy", "Metadata", "UpdatePolicy", "CreationPolicy"}

// template is a template being evaluated.
type template struct {
	opts       Options
	params     map[string]any
	mappings   map[string]any
	conditions map[string]any
	condValues map[string]bool
	resources  map[string]map[string]any
	// names caches the physical names of resources; resolving lists the
	// resources whose name is being computed, to catch a cycle of Refs.
	names     map[string]string
	resolving []string
}

func readTemplate(top map[string]any, opts Options) (*Document, error) {
	for k := range top {
		if !contains(templateSections, k) {
			return nil, fmt.Errorf("%s: unknown template section (known: %s)", k, strings.Join(templateSections, ", "))
		}
	}
	if _, ok := top["Transform"]; ok {
		return nil, errAt("Transform: template macros (AWS::Serverless and others) are not supported")
	}
	if opts.Stack == "" {
		return nil, fmt.Errorf("a template needs a stack name (--stack-name)")
	}
	t := &template{opts: opts, params: map[string]any{}, condValues: map[string]bool{},
		resources: map[string]map[string]any{}, names: map[string]string{}}
	if err := t.readParameters(top["Parameters"]); err != nil {
		return nil, err
	}
	t.mappings, _ = top["Mappings"].(map[string]any)
	t.conditions, _ = top["Conditions"].(map[string]any)
	res, ok := top["Resources"].(map[string]any)
	if !ok {
		return nil, errAt("Resources: must be a mapping")
	}
	if len(res) > MaxResources {
		return nil, fmt.Errorf("%w: %d resources, the limit is %d", ErrTooLarge, len(res), MaxResources)
	}
	ids := make([]string, 0, len(res))
	for id, r := range res {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, errAt("Resources.%s: must be a mapping", id)
		}
		for k := range m {
			if !contains(resourceFields, k) {
				return nil, errAt("Resources.%s.%s: unknown field", id, k)
			}
		}
		if _, ok := m["Type"].(string); !ok {
			return nil, fmt.Errorf("Resources.%s.Type: required", id)
		}
		if p, ok := m["Properties"]; ok {
			if _, ok := p.(map[string]any); !ok {
				return nil, fmt.Errorf("Resources.%s.Properties: must be a mapping", id)
			}
		}
		t.resources[id] = m
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// DependsOn must name resources of the template; apply orders by kind
	// (a bus before its rules, ...), which is what AWS::Events needs.
	for _, id := range ids {
		var deps []any
		switch d := t.resources[id]["DependsOn"].(type) {
		case nil:
		case string:
			deps = []any{d}
		case []any:
			deps = d
		default:
			return nil, errAt("Resources.%s.DependsOn: must be a name or a list of names", id)
		}
		for _, d := range deps {
			name, _ := d.(string)
			if _, ok := t.resources[name]; !ok {
				return nil, errAt("Resources.%s.DependsOn: no resource %v in the template", id, d)
			}
		}
	}

	doc := &Document{Stack: opts.Stack}
	buses := map[string]int{}
	var policies []policyStatement
	for _, id := range ids {
		r := t.resources[id]
		typ := r["Type"].(string)
		if c, ok := r["Condition"].(string); ok {
			on, err := t.condition(c, "Resources."+id+".Condition")
			if err != nil {
				return nil, err
			}
			if !on {
				doc.Skipped = append(doc.Skipped, Skipped{id, typ, "condition " + c + " is false"})
				continue
			}
		}
		allowed, ok := templateProperties[typ]
		if !ok {
			doc.Skipped = append(doc.Skipped, Skipped{id, typ, "switchyard apply handles AWS::Events::EventBus, Rule, Archive, Connection, ApiDestination and EventBusPolicy only"})
			continue
		}
		path := "Resources." + id + ".Properties"
		name, err := t.physicalName(id)
		if err != nil {
			return nil, err
		}
		props, err := t.eval(r["Properties"], path)
		if err != nil {
			return nil, err
		}
		p, _ := props.(map[string]any)
		for k := range p {
			if !contains(allowed, k) {
				return nil, fmt.Errorf("%s.%s: property not supported for %s (supported: %s)", path, k, typ, strings.Join(allowed, ", "))
			}
		}
		str := func(k string) string { s, _ := p[k].(string); return s }
		switch typ {
		case "AWS::Events::EventBus":
			b := EventBus{Name: name, Description: str("Description"), KmsKeyIdentifier: str("KmsKeyIdentifier"),
				EventSourceName: str("EventSourceName")}
			if lc, ok := p["LogConfig"].(map[string]any); ok {
				level, _ := lc["Level"].(string)
				detail, _ := lc["IncludeDetail"].(string)
				b.LogConfig = &LogConfig{Level: level, IncludeDetail: detail}
			}
			if dl, ok := p["DeadLetterConfig"].(map[string]any); ok {
				arn, _ := dl["Arn"].(string)
				b.DeadLetterConfig = &DeadLetterConfig{Arn: arn}
			}
			if b.Tags, err = cfnTags(p["Tags"], path+".Tags"); err != nil {
				return nil, err
			}
			if b.Policy, err = jsonValue(p["Policy"]); err != nil {
				return nil, fmt.Errorf("%s.Policy: %w", path, err)
			}
			buses[b.Name] = len(doc.EventBuses)
			doc.EventBuses = append(doc.EventBuses, b)
		case "AWS::Events::Rule":
			ru := Rule{Name: ruleNameOf(name), EventBusName: localBus(str("EventBusName"), opts), Description: str("Description"),
				ScheduleExpression: str("ScheduleExpression"), State: str("State"), RoleArn: str("RoleArn")}
			if ru.EventPattern, err = jsonValue(p["EventPattern"]); err != nil {
				return nil, fmt.Errorf("%s.EventPattern: %w", path, err)
			}
			if ru.Tags, err = cfnTags(p["Tags"], path+".Tags"); err != nil {
				return nil, err
			}
			if tl, ok := p["Targets"]; ok {
				list, ok := tl.([]any)
				if !ok {
					return nil, fmt.Errorf("%s.Targets: must be a list", path)
				}
				for i, e := range list {
					tp := fmt.Sprintf("%s.Targets[%d]", path, i)
					if err := checkFields(e, typeOfTarget, tp); err != nil {
						return nil, err
					}
					tg := Target(e.(map[string]any))
					inputAsText(tg)
					ru.Targets = append(ru.Targets, tg)
				}
			}
			doc.Rules = append(doc.Rules, ru)
		case "AWS::Events::Archive":
			a := Archive{ArchiveName: name, Description: str("Description"), KmsKeyIdentifier: str("KmsKeyIdentifier")}
			src := str("SourceArn")
			if src == "" {
				return nil, fmt.Errorf("%s.SourceArn: required", path)
			}
			if b := busName(src); b != src {
				a.EventBusName = b
			} else {
				a.EventSourceArn = src
			}
			if a.EventPattern, err = jsonValue(p["EventPattern"]); err != nil {
				return nil, fmt.Errorf("%s.EventPattern: %w", path, err)
			}
			if n, ok := p["RetentionDays"]; ok {
				if a.RetentionDays, err = toInt(n); err != nil {
					return nil, fmt.Errorf("%s.RetentionDays: %w", path, err)
				}
			}
			doc.Archives = append(doc.Archives, a)
		case "AWS::Events::Connection":
			c := Connection{Name: name, Description: str("Description"), AuthorizationType: str("AuthorizationType"),
				KmsKeyIdentifier: str("KmsKeyIdentifier")}
			c.AuthParameters, _ = p["AuthParameters"].(map[string]any)
			c.InvocationConnectivityParameters, _ = p["InvocationConnectivityParameters"].(map[string]any)
			doc.Connections = append(doc.Connections, c)
		case "AWS::Events::ApiDestination":
			a := ApiDestination{Name: name, Description: str("Description"), InvocationEndpoint: str("InvocationEndpoint"),
				HttpMethod: str("HttpMethod")}
			a.ConnectionArn = str("ConnectionArn")
			if n, ok := strings.CutPrefix(a.ConnectionArn, "{{arn:connection/"); ok && strings.HasSuffix(n, "}}") && !strings.Contains(n, "{{") {
				a.ConnectionArn, a.ConnectionName = "", strings.TrimSuffix(n, "}}")
			}
			if n, ok := p["InvocationRateLimitPerSecond"]; ok {
				if a.InvocationRateLimitPerSecond, err = toInt(n); err != nil {
					return nil, fmt.Errorf("%s.InvocationRateLimitPerSecond: %w", path, err)
				}
			}
			doc.ApiDestinations = append(doc.ApiDestinations, a)
		case "AWS::Events::EventBusPolicy":
			st, err := t.policyStatement(name, p, path)
			if err != nil {
				return nil, err
			}
			policies = append(policies, st)
		}
	}
	// EventBusPolicy resources are statements of their bus's policy.
	for _, st := range policies {
		i, ok := buses[st.bus]
		if !ok {
			i = len(doc.EventBuses)
			buses[st.bus] = i
			doc.EventBuses = append(doc.EventBuses, EventBus{Name: st.bus, policyOnly: true})
		}
		b := &doc.EventBuses[i]
		var pol struct {
			Version   string
			Statement []any
		}
		if len(b.Policy) > 0 {
			if err := json.Unmarshal(b.Policy, &pol); err != nil {
				return nil, fmt.Errorf("EventBus %s: Policy: %w", b.Name, err)
			}
		}
		pol.Version = "2012-10-17"
		pol.Statement = append(pol.Statement, st.statement)
		b.Policy, _ = json.Marshal(pol)
	}
	return doc, nil
}

var typeOfTarget = reflect.TypeFor[Target]()

type policyStatement struct {
	bus       string
	statement map[string]any
}

// policyStatement builds the statement of an AWS::Events::EventBusPolicy:
// its Statement, or the legacy Action, Principal and Condition.
func (t *template) policyStatement(sid string, p map[string]any, path string) (policyStatement, error) {
	bus := "default"
	if s, _ := p["EventBusName"].(string); s != "" {
		bus = busName(s)
	}
	if s, ok := p["Statement"]; ok {
		m, ok := s.(map[string]any)
		if !ok {
			return policyStatement{}, fmt.Errorf("%s.Statement: must be a mapping", path)
		}
		st := map[string]any{"Sid": sid}
		for k, v := range m {
			st[k] = v
		}
		return policyStatement{bus, st}, nil
	}
	action, _ := p["Action"].(string)
	principal, _ := p["Principal"].(string)
	if action == "" || principal == "" {
		return policyStatement{}, fmt.Errorf("%s: give Statement, or Action and Principal", path)
	}
	pr := any("*")
	if principal != "*" {
		pr = map[string]any{"AWS": "arn:" + t.opts.Partition + ":iam::" + principal + ":root"}
	}
	st := map[string]any{"Sid": sid, "Effect": "Allow", "Principal": pr, "Action": action,
		"Resource": t.arn("event-bus/" + bus)}
	if c, ok := p["Condition"].(map[string]any); ok {
		typ, _ := c["Type"].(string)
		key, _ := c["Key"].(string)
		val, _ := c["Value"].(string)
		st["Condition"] = map[string]any{typ: map[string]any{key: val}}
	}
	return policyStatement{bus, st}, nil
}

func (t *template) arn(resource string) string {
	return "arn:" + t.opts.Partition + ":events:" + t.opts.Region + ":" + t.opts.Account + ":" + resource
}

// ruleNameOf is a rule's name from its Ref ("bus|name" on a custom bus).
func ruleNameOf(ref string) string {
	if _, n, ok := strings.Cut(ref, "|"); ok {
		return n
	}
	return ref
}

func (t *template) readParameters(v any) error {
	decl, _ := v.(map[string]any)
	for k := range t.opts.Parameters {
		if _, ok := decl[k]; !ok {
			return fmt.Errorf("--parameter %s: the template declares no such parameter", k)
		}
	}
	for name, d := range decl {
		m, ok := d.(map[string]any)
		if !ok {
			return errAt("Parameters.%s: must be a mapping", name)
		}
		val, given := t.opts.Parameters[name]
		if !given {
			def, ok := m["Default"]
			if !ok {
				return errAt("Parameters.%s: no value given (--parameter %s=VALUE) and no Default", name, name)
			}
			val = scalarString(def)
		}
		if allowed, ok := m["AllowedValues"].([]any); ok {
			found := false
			for _, a := range allowed {
				found = found || scalarString(a) == val
			}
			if !found {
				return errAt("Parameters.%s: %q is not one of the AllowedValues", name, val)
			}
		}
		typ, _ := m["Type"].(string)
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var list []any
			for _, s := range strings.Split(val, ",") {
				list = append(list, strings.TrimSpace(s))
			}
			t.params[name] = list
		} else {
			t.params[name] = val
		}
	}
	return nil
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var s []string
		for _, e := range v {
			s = append(s, scalarString(e))
		}
		return strings.Join(s, ",")
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func (t *template) condition(name, path string) (bool, error) {
	if v, ok := t.condValues[name]; ok {
		return v, nil
	}
	c, ok := t.conditions[name]
	if !ok {
		return false, fmt.Errorf("%s: no condition %s", path, name)
	}
	for _, r := range t.resolving {
		if r == "Condition:"+name {
			return false, fmt.Errorf("%s: circular reference: %s", path, strings.Join(append(t.resolving, "Condition:"+name), " -> "))
		}
	}
	t.resolving = append(t.resolving, "Condition:"+name)
	defer func() { t.resolving = t.resolving[:len(t.resolving)-1] }()
	v, err := t.eval(c, "Conditions."+name)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, errAt("Conditions.%s: not a boolean", name)
	}
	t.condValues[name] = b
	return b, nil
}

// noValue is AWS::NoValue: the property it is the value of is removed.
type noValue struct{}

// eval evaluates the intrinsic functions in v.
func (t *template) eval(v any, path string) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for i, e := range v {
			r, err := t.eval(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if _, ok := r.(noValue); !ok {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return t.fn(k, arg, path+"."+k)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := t.eval(e, join(path, k))
			if err != nil {
				return nil, err
			}
			if _, ok := r.(noValue); !ok {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

func (t *template) fn(name string, arg any, path string) (any, error) {
	switch name {
	case "Ref":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%s: takes a name", path)
		}
		return t.ref(s, path)
	case "Condition":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%s: takes a condition name", path)
		}
		return t.condition(s, path)
	case "Fn::GetAtt":
		var id, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) == 2 {
				id, _ = a[0].(string)
				r, err := t.eval(a[1], path)
				if err != nil {
					return nil, err
				}
				attr, _ = r.(string)
			}
		case string:
			id, attr, _ = strings.Cut(a, ".")
		}
		if id == "" || attr == "" {
			return nil, fmt.Errorf("%s: takes [LogicalId, Attribute]", path)
		}
		return t.getAtt(id, attr, path)
	}
	if name == "Fn::If" {
		// Only the branch the condition picks is evaluated, as
		// CloudFormation does: the other may name what does not exist.
		l, _ := arg.([]any)
		if len(l) != 3 {
			return nil, fmt.Errorf("%s: takes [condition, value if true, value if false]", path)
		}
		c, ok := l[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s: takes a condition name first", path)
		}
		on, err := t.condition(c, path)
		if err != nil {
			return nil, err
		}
		if on {
			return t.eval(l[1], path+"[1]")
		}
		return t.eval(l[2], path+"[2]")
	}
	args, err := t.eval(arg, path)
	if err != nil {
		return nil, err
	}
	list, _ := args.([]any)
	switch name {
	case "Fn::Join":
		if len(list) != 2 {
			return nil, fmt.Errorf("%s: takes [delimiter, [values]]", path)
		}
		delim, ok1 := list[0].(string)
		vals, ok2 := list[1].([]any)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: takes [delimiter, [values]]", path)
		}
		parts := make([]string, len(vals))
		for i, e := range vals {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s: value %d is %s, not a string", path, i, typeName(e))
			}
			parts[i] = s
		}
		return strings.Join(parts, delim), nil
	case "Fn::Sub":
		return t.sub(args, path)
	case "Fn::Equals":
		if len(list) != 2 {
			return nil, fmt.Errorf("%s: takes two values", path)
		}
		return scalarString(list[0]) == scalarString(list[1]), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		if len(list) == 0 || (name == "Fn::Not" && len(list) != 1) {
			return nil, fmt.Errorf("%s: takes a list of conditions", path)
		}
		res := name == "Fn::And"
		for _, e := range list {
			b, ok := e.(bool)
			if !ok {
				return nil, fmt.Errorf("%s: %s is not a condition", path, typeName(e))
			}
			switch name {
			case "Fn::Not":
				res = !b
			case "Fn::And":
				res = res && b
			case "Fn::Or":
				res = res || b
			}
		}
		return res, nil
	case "Fn::Select":
		if len(list) != 2 {
			return nil, fmt.Errorf("%s: takes [index, [values]]", path)
		}
		i, err := toInt(list[0])
		vals, ok := list[1].([]any)
		if err != nil || !ok || i < 0 || i >= len(vals) {
			return nil, fmt.Errorf("%s: index out of range or not a list", path)
		}
		return vals[i], nil
	case "Fn::Split":
		if len(list) != 2 {
			return nil, fmt.Errorf("%s: takes [delimiter, string]", path)
		}
		d, ok1 := list[0].(string)
		s, ok2 := list[1].(string)
		if !ok1 || !ok2 || d == "" {
			return nil, fmt.Errorf("%s: takes [delimiter, string]", path)
		}
		var out []any
		for _, e := range strings.Split(s, d) {
			out = append(out, e)
		}
		return out, nil
	case "Fn::FindInMap":
		if len(list) != 3 {
			return nil, fmt.Errorf("%s: takes [map, top key, second key]", path)
		}
		m, _ := t.mappings[scalarString(list[0])].(map[string]any)
		m2, _ := m[scalarString(list[1])].(map[string]any)
		v, ok := m2[scalarString(list[2])]
		if !ok {
			return nil, fmt.Errorf("%s: no %s.%s.%s in Mappings", path, scalarString(list[0]), scalarString(list[1]), scalarString(list[2]))
		}
		return v, nil
	case "Fn::Base64":
		s, ok := args.(string)
		if !ok {
			return nil, fmt.Errorf("%s: takes a string", path)
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::ToJsonString":
		b, err := json.Marshal(args)
		return string(b), err
	case "Fn::Length":
		return len(list), nil
	}
	return nil, fmt.Errorf("%s: %s is not supported by switchyard apply", path, name)
}

// sub evaluates Fn::Sub: "${Name}", "${Resource.Attribute}" and "${!Literal}".
func (t *template) sub(args any, path string) (any, error) {
	var s string
	vars := map[string]any{}
	switch a := args.(type) {
	case string:
		s = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("%s: takes a string or [string, {variables}]", path)
		}
		var ok bool
		if s, ok = a[0].(string); !ok {
			return nil, fmt.Errorf("%s: takes a string first", path)
		}
		if vars, ok = a[1].(map[string]any); !ok {
			return nil, fmt.Errorf("%s: takes a mapping of variables second", path)
		}
	default:
		return nil, fmt.Errorf("%s: takes a string or [string, {variables}]", path)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%s: unclosed ${", path)
		}
		name := s[i+2 : i+j]
		s = s[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err = t.getAtt(id, attr, path)
		} else {
			v, err = t.ref(name, path)
		}
		if err != nil {
			return nil, err
		}
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: ${%s} is %s, not a string", path, name, typeName(v))
		}
		b.WriteString(str)
	}
	return b.String(), nil
}

func (t *template) ref(name, path string) (any, error) {
	switch name {
	case "AWS::Region":
		return t.opts.Region, nil
	case "AWS::AccountId":
		return t.opts.Account, nil
	case "AWS::StackName":
		return t.opts.Stack, nil
	case "AWS::Partition":
		return t.opts.Partition, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackId":
		return "arn:" + t.opts.Partition + ":cloudformation:" + t.opts.Region + ":" + t.opts.Account + ":stack/" + t.opts.Stack + "/switchyard", nil
	case "AWS::NoValue":
		return noValue{}, nil
	case "AWS::NotificationARNs":
		return []any{}, nil
	}
	if v, ok := t.params[name]; ok {
		return v, nil
	}
	if _, ok := t.resources[name]; ok {
		return t.physicalName(name)
	}
	return nil, fmt.Errorf("%s: Ref to %s: no such parameter or resource", path, name)
}

// physicalName is what Ref of a resource gives: its name, from its name
// property or, without one, made from the stack and logical id as
// CloudFormation does (without CloudFormation's random suffix, so that
// applying again finds the same resource).
func (t *template) physicalName(id string) (string, error) {
	if n, ok := t.names[id]; ok {
		return n, nil
	}
	for _, r := range t.resolving {
		if r == id {
			return "", errAt("Resources.%s: circular reference: %s", id, strings.Join(append(t.resolving, id), " -> "))
		}
	}
	r := t.resources[id]
	typ, _ := r["Type"].(string)
	if _, ok := templateProperties[typ]; !ok {
		return "", errAt("Resources.%s: a %s is not applied by switchyard, so it has no name or ARN here: pass the value as a parameter", id, typ)
	}
	t.resolving = append(t.resolving, id)
	defer func() { t.resolving = t.resolving[:len(t.resolving)-1] }()
	props, _ := r["Properties"].(map[string]any)
	key := map[string]string{"AWS::Events::Archive": "ArchiveName", "AWS::Events::EventBusPolicy": "StatementId"}[typ]
	if key == "" {
		key = "Name"
	}
	path := "Resources." + id + ".Properties." + key
	name := ""
	if v, ok := props[key]; ok {
		e, err := t.eval(v, path)
		if err != nil {
			return "", err
		}
		s, ok := e.(string)
		if !ok {
			return "", fmt.Errorf("%s: must be a string, got %s", path, typeName(e))
		}
		name = s
	} else if typ == "AWS::Events::EventBus" || typ == "AWS::Events::EventBusPolicy" {
		return "", fmt.Errorf("%s: required", path)
	} else {
		name = generatedName(t.opts.Stack, id, 64)
		if typ == "AWS::Events::Archive" {
			name = generatedName(t.opts.Stack, id, 48)
		}
	}
	if typ == "AWS::Events::Rule" {
		if bv, ok := props["EventBusName"]; ok {
			e, err := t.eval(bv, "Resources."+id+".Properties.EventBusName")
			if err != nil {
				return "", err
			}
			if s, _ := e.(string); s != "" && busName(s) != "default" {
				name = busName(s) + "|" + name
			}
		}
	}
	t.names[id] = name
	return name, nil
}

func generatedName(stack, id string, max int) string {
	n := stack + "-" + id
	if len(n) > max {
		n = n[:max]
	}
	return n
}

func (t *template) getAtt(id, attr, path string) (any, error) {
	r, ok := t.resources[id]
	if !ok {
		return nil, fmt.Errorf("%s: Fn::GetAtt of %s: no such resource", path, id)
	}
	name, err := t.physicalName(id)
	if err != nil {
		return nil, err
	}
	typ, _ := r["Type"].(string)
	switch typ + "." + attr {
	case "AWS::Events::EventBus.Arn":
		return t.arn("event-bus/" + name), nil
	case "AWS::Events::EventBus.Name", "AWS::Events::Archive.ArchiveName":
		return name, nil
	case "AWS::Events::Rule.Arn":
		if bus, rule, ok := strings.Cut(name, "|"); ok {
			return t.arn("rule/" + bus + "/" + rule), nil
		}
		return t.arn("rule/" + name), nil
	case "AWS::Events::Archive.Arn":
		return t.arn("archive/" + name), nil
	case "AWS::Events::Connection.Arn":
		// A connection's ARN ends with an id the API makes: it is bound
		// when apply runs.
		return "{{arn:connection/" + name + "}}", nil
	case "AWS::Events::ApiDestination.Arn":
		return "{{arn:api-destination/" + name + "}}", nil
	}
	return nil, fmt.Errorf("%s: Fn::GetAtt %s.%s: attribute not supported for %s", path, id, attr, typ)
}

// cfnTags turns CloudFormation's [{Key, Value}] into a map.
func cfnTags(v any, path string) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: must be a list of {Key, Value}", path)
	}
	out := map[string]string{}
	for i, e := range list {
		m, _ := e.(map[string]any)
		k, ok1 := m["Key"].(string)
		val, ok2 := m["Value"].(string)
		if !ok1 || !ok2 || len(m) != 2 {
			return nil, fmt.Errorf("%s[%d]: must be {Key, Value} strings", path, i)
		}
		out[k] = val
	}
	return out, nil
}

// jsonValue is a property given as a JSON object or as a string of JSON.
func jsonValue(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if !json.Valid([]byte(v)) {
			return nil, fmt.Errorf("not JSON")
		}
		return json.RawMessage(v), nil
	}
	return json.Marshal(v)
}

func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case float64:
		if n == float64(int(n)) {
			return int(n), nil
		}
	case string:
		return strconv.Atoi(n)
	}
	return 0, fmt.Errorf("must be a whole number")
}
