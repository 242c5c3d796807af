package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Action is what a change does to its resource.
type Action string

// The actions of a plan.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
	// Replace deletes the resource and creates it again, for a field the
	// API cannot update (an archive's source).
	Replace Action = "replace"
)

// Resource kinds, in the order apply creates them: a bus before the rules
// on it, a rule before its targets, a connection before the API
// destinations using it and those before the rules' targets naming them.
// Deletes go in the reverse order.
const (
	KindEventBus       = "EventBus"
	KindConnection     = "Connection"
	KindApiDestination = "ApiDestination"
	KindRule           = "Rule"
	KindTarget         = "Target"
	KindArchive        = "Archive"
)

var createOrder = []string{KindEventBus, KindConnection, KindApiDestination, KindRule, KindTarget, KindArchive}
var deleteOrder = []string{KindTarget, KindRule, KindArchive, KindApiDestination, KindConnection, KindEventBus}

// Change is one step of a plan.
type Change struct {
	Action Action
	Kind   string
	// Name is the resource's name; a rule's is "bus/rule" and a target's
	// "bus/rule/id".
	Name string
	// Fields are the fields that change: for a create those set, for an
	// update those that differ, as JSON text ("" for absent).
	Fields []FieldChange

	desired, actual any
}

// FieldChange is one field a change sets.
type FieldChange struct {
	Field    string
	Old, New string
}

// Plan is what it takes to make the actual state match a document.
type Plan struct {
	Stack   string
	Changes []Change
	Skipped []Skipped
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// State is where the planner reads the resources as they are.
type State interface {
	Current(ctx context.Context) (*Document, error)
}

// PlanOptions shape a plan.
type PlanOptions struct {
	// Prune deletes the resources the stack manages that the document no
	// longer lists, and the targets of its rules it does not list.
	Prune bool
	// Region, Account and Partition make the ARNs a document names by
	// name (an archive's source bus).
	Region, Account, Partition string
}

// MakePlan compares desired with the state st holds.
func MakePlan(ctx context.Context, desired *Document, st State, opts PlanOptions) (*Plan, error) {
	actual, err := st.Current(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the current state: %w", err)
	}
	return Compare(desired, actual, opts), nil
}

// Compare plans the changes that turn actual into desired.
func Compare(desired, actual *Document, opts PlanOptions) *Plan {
	if opts.Partition == "" {
		opts.Partition = "aws"
	}
	c := comparer{opts: opts, stack: desired.Stack, plan: &Plan{Stack: desired.Stack, Skipped: desired.Skipped},
		arns: map[string]string{}}
	for _, x := range actual.Connections {
		c.arns["connection/"+x.Name] = x.Arn
	}
	for _, x := range actual.ApiDestinations {
		c.arns["api-destination/"+x.Name] = x.Arn
	}
	c.buses(desired, actual)
	c.connections(desired, actual)
	c.apiDestinations(desired, actual)
	c.rules(desired, actual)
	c.archives(desired, actual)
	rank := func(ch Change) int {
		order := createOrder
		base := 0
		if ch.Action == Delete {
			order, base = deleteOrder, len(createOrder)
		}
		for i, k := range order {
			if k == ch.Kind {
				return base + i
			}
		}
		return 99
	}
	sort.SliceStable(c.plan.Changes, func(i, j int) bool {
		a, b := c.plan.Changes[i], c.plan.Changes[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		return a.Name < b.Name
	})
	return c.plan
}

type comparer struct {
	opts  PlanOptions
	stack string
	plan  *Plan
	// arns are the ARNs of the connections and API destinations that
	// exist, by "connection/NAME" and "api-destination/NAME".
	arns map[string]string
}

func (c *comparer) add(a Action, kind, name string, desired, actual any, d, o map[string]string) {
	fields := diffFields(d, o)
	if (a == Update || a == Replace) && len(fields) == 0 {
		return
	}
	c.plan.Changes = append(c.plan.Changes, Change{Action: a, Kind: kind, Name: name, Fields: fields, desired: desired, actual: actual})
}

func diffFields(d, o map[string]string) []FieldChange {
	keys := map[string]bool{}
	for k := range d {
		keys[k] = true
	}
	for k := range o {
		keys[k] = true
	}
	var out []FieldChange
	for k := range keys {
		if d[k] != o[k] {
			out = append(out, FieldChange{Field: k, Old: o[k], New: d[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// canon is v as compact JSON with sorted keys, or "" for an empty value.
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x == "" {
			return ""
		}
	case json.RawMessage:
		if len(x) == 0 {
			return ""
		}
		var a any
		if json.Unmarshal(x, &a) != nil {
			return string(x)
		}
		v = a
	case map[string]string:
		if len(x) == 0 {
			return ""
		}
	case int:
		if x == 0 {
			return ""
		}
	}
	b, _ := json.Marshal(v)
	// Unmarshal and encode again so that every map's keys are sorted; no
	// HTML escaping, for templates with < and > to read as written.
	var a any
	if json.Unmarshal(b, &a) != nil {
		return string(b)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(a)
	return strings.TrimSuffix(buf.String(), "\n")
}

func (c *comparer) managed(tags map[string]string) bool { return tags[ManagedByTag] == c.stack }

func (c *comparer) withTag(tags map[string]string) map[string]string {
	out := map[string]string{ManagedByTag: c.stack}
	for k, v := range tags {
		out[k] = v
	}
	return out
}

// marker is the description marker of the resources EventBridge cannot tag.
func (c *comparer) marker() string { return "(" + ManagedByTag + "=" + c.stack + ")" }

func (c *comparer) withMarker(desc string) string {
	if desc == "" {
		return c.marker()
	}
	return desc + " " + c.marker()
}

func (c *comparer) marked(desc string) bool { return strings.HasSuffix(desc, c.marker()) }

func (c *comparer) buses(desired, actual *Document) {
	have := map[string]*EventBus{}
	for i := range actual.EventBuses {
		have[actual.EventBuses[i].Name] = &actual.EventBuses[i]
	}
	want := map[string]bool{}
	for i := range desired.EventBuses {
		d := desired.EventBuses[i]
		want[d.Name] = true
		if !d.policyOnly {
			d.Tags = c.withTag(d.Tags)
		}
		proj := func(b *EventBus, policyOnly bool) map[string]string {
			if policyOnly {
				return map[string]string{"Policy": canon(b.Policy)}
			}
			m := map[string]string{"Tags": canon(b.Tags), "Policy": canon(b.Policy)}
			if b.Name != "default" {
				m["Description"] = canon(b.Description)
				m["KmsKeyIdentifier"] = canon(b.KmsKeyIdentifier)
				if b.DeadLetterConfig != nil {
					m["DeadLetterConfig"] = canon(b.DeadLetterConfig)
				}
				if d.LogConfig != nil {
					m["LogConfig"] = canon(b.LogConfig)
				}
			}
			return m
		}
		a, ok := have[d.Name]
		switch {
		case !ok:
			c.add(Create, KindEventBus, d.Name, &d, nil, proj(&d, false), nil)
		default:
			if d.policyOnly {
				d.Policy = mergePolicy(a.Policy, d.Policy)
			}
			c.add(Update, KindEventBus, d.Name, &d, a, proj(&d, d.policyOnly), proj(a, d.policyOnly))
		}
	}
	if c.opts.Prune {
		for _, a := range actual.EventBuses {
			if !want[a.Name] && a.Name != "default" && c.managed(a.Tags) {
				c.add(Delete, KindEventBus, a.Name, nil, &a, nil, nil)
			}
		}
	}
}

// mergePolicy adds the statements of ours to the policy have, replacing
// those with the same Sid and keeping the others: a template's
// AWS::Events::EventBusPolicy resources are statements of a bus it does
// not own, beside those someone else put there.
func mergePolicy(have, ours json.RawMessage) json.RawMessage {
	type policy struct {
		Version   string           `json:"Version,omitempty"`
		Statement []map[string]any `json:"Statement"`
	}
	var h, o policy
	if len(have) > 0 && json.Unmarshal(have, &h) != nil {
		return ours
	}
	if json.Unmarshal(ours, &o) != nil {
		return ours
	}
	sids := map[any]bool{}
	for _, st := range o.Statement {
		sids[st["Sid"]] = true
	}
	out := policy{Version: o.Version}
	for _, st := range h.Statement {
		if !sids[st["Sid"]] {
			out.Statement = append(out.Statement, st)
		}
	}
	out.Statement = append(out.Statement, o.Statement...)
	b, _ := json.Marshal(out)
	return b
}

func (c *comparer) connections(desired, actual *Document) {
	have := map[string]*Connection{}
	for i := range actual.Connections {
		have[actual.Connections[i].Name] = &actual.Connections[i]
	}
	want := map[string]bool{}
	for i := range desired.Connections {
		d := desired.Connections[i]
		proj := func(x *Connection) map[string]string {
			m := map[string]string{"Description": canon(x.Description), "AuthorizationType": canon(x.AuthorizationType),
				"AuthParameters": canon(publicAuth(x.AuthParameters)), "KmsKeyIdentifier": canon(x.KmsKeyIdentifier)}
			if d.InvocationConnectivityParameters != nil {
				m["InvocationConnectivityParameters"] = canon(x.InvocationConnectivityParameters)
			}
			return m
		}
		want[d.Name] = true
		d.Description = c.withMarker(d.Description)
		if a, ok := have[d.Name]; ok {
			c.add(Update, KindConnection, d.Name, &d, a, proj(&d), proj(a))
		} else {
			c.add(Create, KindConnection, d.Name, &d, nil, proj(&d), nil)
		}
	}
	if c.opts.Prune {
		for _, a := range actual.Connections {
			if !want[a.Name] && c.marked(a.Description) {
				c.add(Delete, KindConnection, a.Name, nil, &a, nil, nil)
			}
		}
	}
}

// secretFields are the AuthParameters fields EventBridge never returns.
var secretFields = map[string]bool{"ApiKeyValue": true, "Password": true, "ClientSecret": true}

// publicAuth is what DescribeConnection returns of AuthParameters: without
// the secrets, and without the values of parameters marked IsValueSecret.
// Only that can be compared; a changed secret alone is not seen.
func publicAuth(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if sec, _ := x["IsValueSecret"].(bool); sec {
			out := map[string]any{}
			for k, e := range x {
				if k != "Value" {
					out[k] = e
				}
			}
			return out
		}
		out := map[string]any{}
		for k, e := range x {
			if !secretFields[k] {
				out[k] = publicAuth(e)
			}
		}
		if _, ok := x["Key"]; ok {
			if _, ok := x["IsValueSecret"]; !ok {
				// A parameter's IsValueSecret defaults to false, and the
				// API says so.
				out["IsValueSecret"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = publicAuth(e)
		}
		return out
	}
	return v
}

func (c *comparer) apiDestinations(desired, actual *Document) {
	have := map[string]*ApiDestination{}
	for i := range actual.ApiDestinations {
		have[actual.ApiDestinations[i].Name] = &actual.ApiDestinations[i]
	}
	want := map[string]bool{}
	for i := range desired.ApiDestinations {
		d := desired.ApiDestinations[i]
		want[d.Name] = true
		d.Description = c.withMarker(d.Description)
		if d.ConnectionName != "" {
			d.ConnectionArn = "{{arn:connection/" + d.ConnectionName + "}}"
		}
		d.ConnectionArn = c.bind(d.ConnectionArn)
		proj := func(x *ApiDestination) map[string]string {
			m := map[string]string{"Description": canon(x.Description), "ConnectionArn": canon(x.ConnectionArn),
				"InvocationEndpoint": canon(x.InvocationEndpoint), "HttpMethod": canon(x.HttpMethod)}
			if d.InvocationRateLimitPerSecond != 0 {
				m["InvocationRateLimitPerSecond"] = canon(x.InvocationRateLimitPerSecond)
			}
			return m
		}
		if a, ok := have[d.Name]; ok {
			c.add(Update, KindApiDestination, d.Name, &d, a, proj(&d), proj(a))
		} else {
			c.add(Create, KindApiDestination, d.Name, &d, nil, proj(&d), nil)
		}
	}
	if c.opts.Prune {
		for _, a := range actual.ApiDestinations {
			if !want[a.Name] && c.marked(a.Description) {
				c.add(Delete, KindApiDestination, a.Name, nil, &a, nil, nil)
			}
		}
	}
}

// bind replaces the {{arn:KIND/NAME}} references in s with the ARNs of
// the resources that exist; the others stay, for apply to bind once it has
// created them.
func (c *comparer) bind(s string) string { return bindARNs(s, c.arns) }

func bindARNs(s string, arns map[string]string) string {
	for {
		i := strings.Index(s, "{{arn:")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return s
		}
		arn, ok := arns[s[i+6:i+j]]
		if !ok || arn == "" {
			// leave it and any after it
			rest := bindARNs(s[i+j+2:], arns)
			return s[:i+j+2] + rest
		}
		s = s[:i] + arn + s[i+j+2:]
	}
}

func ruleKey(bus, name string) string { return busName(bus) + "/" + name }

func (c *comparer) rules(desired, actual *Document) {
	have := map[string]*Rule{}
	for i := range actual.Rules {
		r := &actual.Rules[i]
		have[ruleKey(r.EventBusName, r.Name)] = r
	}
	want := map[string]bool{}
	proj := func(r *Rule) map[string]string {
		state := r.State
		if state == "" {
			state = "ENABLED"
		}
		return map[string]string{"Description": canon(r.Description), "EventPattern": canon(r.EventPattern),
			"ScheduleExpression": canon(r.ScheduleExpression), "State": canon(state), "RoleArn": canon(r.RoleArn),
			"Tags": canon(r.Tags)}
	}
	for i := range desired.Rules {
		d := desired.Rules[i]
		d.Tags = c.withTag(d.Tags)
		key := ruleKey(d.EventBusName, d.Name)
		want[key] = true
		a, ok := have[key]
		if ok {
			c.add(Update, KindRule, key, &d, a, proj(&d), proj(a))
		} else {
			c.add(Create, KindRule, key, &d, nil, proj(&d), nil)
		}
		var old []Target
		if a != nil {
			old = a.Targets
		}
		c.targets(&d, key, d.Targets, old, c.opts.Prune)
	}
	if c.opts.Prune {
		for _, a := range actual.Rules {
			key := ruleKey(a.EventBusName, a.Name)
			if !want[key] && c.managed(a.Tags) {
				c.targets(&a, key, nil, a.Targets, true)
				c.add(Delete, KindRule, key, nil, &a, nil, nil)
			}
		}
	}
}

func (c *comparer) targets(r *Rule, key string, want, have []Target, prune bool) {
	old := map[string]Target{}
	for _, t := range have {
		old[t.ID()] = t
	}
	proj := func(t Target) map[string]string {
		m := map[string]string{}
		for k, v := range t {
			if k == "Id" {
				continue
			}
			if s, ok := v.(string); ok && k == "Arn" {
				v = c.bind(s)
			}
			m[k] = canon(v)
		}
		return m
	}
	ids := map[string]bool{}
	for _, t := range want {
		ids[t.ID()] = true
		name := key + "/" + t.ID()
		change := targetChange{rule: r, target: t}
		if a, ok := old[t.ID()]; ok {
			c.add(Update, KindTarget, name, change, a, proj(t), proj(a))
		} else {
			c.add(Create, KindTarget, name, change, nil, proj(t), nil)
		}
	}
	if prune {
		for _, a := range have {
			if !ids[a.ID()] {
				c.add(Delete, KindTarget, key+"/"+a.ID(), nil, targetChange{rule: r, target: a}, nil, nil)
			}
		}
	}
}

// targetChange is a target with its rule.
type targetChange struct {
	rule   *Rule
	target Target
}

func (c *comparer) archiveSource(a *Archive) string {
	if a.EventSourceArn != "" {
		return a.EventSourceArn
	}
	return "arn:" + c.opts.Partition + ":events:" + c.opts.Region + ":" + c.opts.Account + ":event-bus/" + a.EventBusName
}

func (c *comparer) archives(desired, actual *Document) {
	have := map[string]*Archive{}
	for i := range actual.Archives {
		have[actual.Archives[i].ArchiveName] = &actual.Archives[i]
	}
	want := map[string]bool{}
	proj := func(x *Archive) map[string]string {
		return map[string]string{"Description": canon(x.Description), "EventPattern": canon(x.EventPattern),
			"RetentionDays": canon(x.RetentionDays), "KmsKeyIdentifier": canon(x.KmsKeyIdentifier)}
	}
	for i := range desired.Archives {
		d := desired.Archives[i]
		want[d.ArchiveName] = true
		d.Description = c.withMarker(d.Description)
		d.EventSourceArn, d.EventBusName = c.archiveSource(&d), ""
		a, ok := have[d.ArchiveName]
		switch {
		case !ok:
			m := proj(&d)
			m["EventSourceArn"] = canon(d.EventSourceArn)
			c.add(Create, KindArchive, d.ArchiveName, &d, nil, m, nil)
		case a.EventSourceArn != d.EventSourceArn:
			// An archive's source cannot change (UpdateArchive has no
			// EventSourceArn): replace it.
			d2, a2 := proj(&d), proj(a)
			d2["EventSourceArn"], a2["EventSourceArn"] = canon(d.EventSourceArn), canon(a.EventSourceArn)
			c.add(Replace, KindArchive, d.ArchiveName, &d, a, d2, a2)
		default:
			c.add(Update, KindArchive, d.ArchiveName, &d, a, proj(&d), proj(a))
		}
	}
	if c.opts.Prune {
		for _, a := range actual.Archives {
			if !want[a.ArchiveName] && c.marked(a.Description) {
				c.add(Delete, KindArchive, a.ArchiveName, nil, &a, nil, nil)
			}
		}
	}
}

// Write prints the plan for people: one line per change ("+" create, "~"
// update, "-" delete) and the fields it sets, then a summary.
func (p *Plan) Write(w io.Writer) error {
	var b bytes.Buffer
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "! skipped %s (%s): %s\n", s.LogicalID, s.Type, s.Reason)
	}
	var n [4]int
	for _, ch := range p.Changes {
		sign := map[Action]string{Create: "+", Update: "~", Delete: "-", Replace: "-/+"}[ch.Action]
		n[map[Action]int{Create: 0, Update: 1, Delete: 2, Replace: 3}[ch.Action]]++
		fmt.Fprintf(&b, "%s %s %s\n", sign, ch.Kind, ch.Name)
		for _, f := range ch.Fields {
			switch {
			case ch.Action == Create || f.Old == "":
				fmt.Fprintf(&b, "    %s: %s\n", f.Field, f.New)
			case f.New == "":
				fmt.Fprintf(&b, "    %s: %s -> (none)\n", f.Field, f.Old)
			default:
				fmt.Fprintf(&b, "    %s: %s -> %s\n", f.Field, f.Old, f.New)
			}
		}
	}
	if p.Empty() {
		fmt.Fprintf(&b, "No changes: stack %s matches the document.\n", p.Stack)
	} else {
		fmt.Fprintf(&b, "Plan for stack %s: %d to create, %d to update, %d to delete", p.Stack, n[0], n[1], n[2])
		if n[3] > 0 {
			fmt.Fprintf(&b, ", %d to replace", n[3])
		}
		b.WriteString(".\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}
