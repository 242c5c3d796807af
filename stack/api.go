package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Caller calls one EventBridge operation (the AWS JSON 1.1 protocol's
// X-Amz-Target AWSEvents.<op>) with in as the request and fills out, if
// not nil, from the answer.
type Caller interface {
	Call(ctx context.Context, op string, in, out any) error
}

// APIState reads the current state through the EventBridge API.
type APIState struct{ Caller Caller }

// Current lists every bus with its tags and policy, every rule with its
// tags and targets, and the archives, connections and API destinations.
func (s APIState) Current(ctx context.Context) (*Document, error) {
	c := s.Caller
	doc := &Document{}
	var busNames []string
	if err := pages(ctx, c, "ListEventBuses", map[string]any{}, func(raw json.RawMessage) (string, error) {
		var out struct {
			EventBuses []struct{ Name string }
			NextToken  string
		}
		err := json.Unmarshal(raw, &out)
		for _, b := range out.EventBuses {
			busNames = append(busNames, b.Name)
		}
		return out.NextToken, err
	}); err != nil {
		return nil, err
	}
	for _, name := range busNames {
		var d struct {
			Name, Arn, Description, KmsKeyIdentifier, Policy string
			DeadLetterConfig                                 *DeadLetterConfig
			LogConfig                                        *LogConfig
		}
		if err := c.Call(ctx, "DescribeEventBus", map[string]any{"Name": name}, &d); err != nil {
			return nil, fmt.Errorf("EventBus %s: %w", name, err)
		}
		b := EventBus{Name: name, Description: d.Description, KmsKeyIdentifier: d.KmsKeyIdentifier,
			DeadLetterConfig: d.DeadLetterConfig, LogConfig: d.LogConfig}
		if d.Policy != "" {
			b.Policy = json.RawMessage(d.Policy)
		}
		if b.DeadLetterConfig != nil && b.DeadLetterConfig.Arn == "" {
			b.DeadLetterConfig = nil
		}
		var err error
		if b.Tags, err = listTags(ctx, c, d.Arn); err != nil {
			return nil, fmt.Errorf("EventBus %s: %w", name, err)
		}
		doc.EventBuses = append(doc.EventBuses, b)
		if strings.HasPrefix(name, "aws.partner/") {
			continue
		}
		if err := s.rules(ctx, doc, name); err != nil {
			return nil, err
		}
	}
	if err := pages(ctx, c, "ListArchives", map[string]any{}, func(raw json.RawMessage) (string, error) {
		var out struct {
			Archives  []struct{ ArchiveName string }
			NextToken string
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", err
		}
		for _, a := range out.Archives {
			var d struct {
				ArchiveName, EventSourceArn, Description, EventPattern, KmsKeyIdentifier string
				RetentionDays                                                            int
			}
			if err := c.Call(ctx, "DescribeArchive", map[string]any{"ArchiveName": a.ArchiveName}, &d); err != nil {
				return "", fmt.Errorf("Archive %s: %w", a.ArchiveName, err)
			}
			ar := Archive{ArchiveName: d.ArchiveName, EventSourceArn: d.EventSourceArn, Description: d.Description,
				RetentionDays: d.RetentionDays, KmsKeyIdentifier: d.KmsKeyIdentifier}
			if d.EventPattern != "" {
				ar.EventPattern = json.RawMessage(d.EventPattern)
			}
			doc.Archives = append(doc.Archives, ar)
		}
		return out.NextToken, nil
	}); err != nil {
		return nil, err
	}
	if err := pages(ctx, c, "ListConnections", map[string]any{}, func(raw json.RawMessage) (string, error) {
		var out struct {
			Connections []struct{ Name string }
			NextToken   string
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", err
		}
		for _, x := range out.Connections {
			var d struct {
				Name, ConnectionArn, Description, AuthorizationType, KmsKeyIdentifier string
				AuthParameters, InvocationConnectivityParameters                      map[string]any
			}
			if err := c.Call(ctx, "DescribeConnection", map[string]any{"Name": x.Name}, &d); err != nil {
				return "", fmt.Errorf("Connection %s: %w", x.Name, err)
			}
			doc.Connections = append(doc.Connections, Connection{Name: d.Name, Arn: d.ConnectionArn,
				Description: d.Description, AuthorizationType: d.AuthorizationType, AuthParameters: d.AuthParameters,
				KmsKeyIdentifier: d.KmsKeyIdentifier, InvocationConnectivityParameters: d.InvocationConnectivityParameters})
		}
		return out.NextToken, nil
	}); err != nil {
		return nil, err
	}
	if err := pages(ctx, c, "ListApiDestinations", map[string]any{}, func(raw json.RawMessage) (string, error) {
		var out struct {
			ApiDestinations []struct{ Name string }
			NextToken       string
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", err
		}
		for _, x := range out.ApiDestinations {
			var d struct {
				Name, ApiDestinationArn, Description, ConnectionArn, InvocationEndpoint, HttpMethod string
				InvocationRateLimitPerSecond                                                        int
			}
			if err := c.Call(ctx, "DescribeApiDestination", map[string]any{"Name": x.Name}, &d); err != nil {
				return "", fmt.Errorf("ApiDestination %s: %w", x.Name, err)
			}
			doc.ApiDestinations = append(doc.ApiDestinations, ApiDestination{Name: d.Name, Arn: d.ApiDestinationArn,
				Description: d.Description, ConnectionArn: d.ConnectionArn, InvocationEndpoint: d.InvocationEndpoint,
				HttpMethod: d.HttpMethod, InvocationRateLimitPerSecond: d.InvocationRateLimitPerSecond})
		}
		return out.NextToken, nil
	}); err != nil {
		return nil, err
	}
	return doc, nil
}

func (s APIState) rules(ctx context.Context, doc *Document, bus string) error {
	c := s.Caller
	return pages(ctx, c, "ListRules", map[string]any{"EventBusName": bus}, func(raw json.RawMessage) (string, error) {
		var out struct {
			Rules []struct {
				Name, Arn, EventPattern, State, Description, ScheduleExpression, RoleArn, ManagedBy string
			}
			NextToken string
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", err
		}
		for _, x := range out.Rules {
			if x.ManagedBy != "" {
				continue // made by a service for itself: not a stack's
			}
			r := Rule{Name: x.Name, EventBusName: bus, Description: x.Description, ScheduleExpression: x.ScheduleExpression,
				State: x.State, RoleArn: x.RoleArn}
			if bus == "default" {
				r.EventBusName = ""
			}
			if x.EventPattern != "" {
				r.EventPattern = json.RawMessage(x.EventPattern)
			}
			var err error
			if r.Tags, err = listTags(ctx, c, x.Arn); err != nil {
				return "", fmt.Errorf("Rule %s/%s: %w", bus, x.Name, err)
			}
			if err := pages(ctx, c, "ListTargetsByRule", map[string]any{"Rule": x.Name, "EventBusName": bus}, func(raw json.RawMessage) (string, error) {
				var out struct {
					Targets   []Target
					NextToken string
				}
				err := json.Unmarshal(raw, &out)
				r.Targets = append(r.Targets, out.Targets...)
				return out.NextToken, err
			}); err != nil {
				return "", fmt.Errorf("Rule %s/%s: %w", bus, x.Name, err)
			}
			doc.Rules = append(doc.Rules, r)
		}
		return out.NextToken, nil
	})
}

// maxPages bounds a listing, so that a server that always answers with a
// NextToken cannot keep apply listing forever.
const maxPages = 10_000

// pages calls a List operation until its answer has no NextToken.
func pages(ctx context.Context, c Caller, op string, in map[string]any, each func(json.RawMessage) (string, error)) error {
	for range maxPages {
		var raw json.RawMessage
		if err := c.Call(ctx, op, in, &raw); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		next, err := each(raw)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		in["NextToken"] = next
	}
	return fmt.Errorf("%s: more than %d pages", op, maxPages)
}

func listTags(ctx context.Context, c Caller, arn string) (map[string]string, error) {
	var out struct {
		Tags []struct{ Key, Value string }
	}
	if err := c.Call(ctx, "ListTagsForResource", map[string]any{"ResourceARN": arn}, &out); err != nil {
		return nil, fmt.Errorf("ListTagsForResource: %w", err)
	}
	if len(out.Tags) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, t := range out.Tags {
		m[t.Key] = t.Value
	}
	return m, nil
}

// Result is what Apply did.
type Result struct {
	Done   []Change
	Failed []error
}

// Apply carries the plan out through c, in its order. A failed change is
// reported, with the resource it concerns, and the others still run (those
// that depend on it fail in their turn). The error joins every failure.
func (p *Plan) Apply(ctx context.Context, c Caller, opts PlanOptions) (*Result, error) {
	if opts.Partition == "" {
		opts.Partition = "aws"
	}
	a := applier{c: c, opts: opts, arns: map[string]string{}}
	res := &Result{}
	for _, ch := range p.Changes {
		if ch.Kind == KindApiDestination || ch.Kind == KindConnection {
			if x, ok := ch.actual.(*Connection); ok {
				a.arns["connection/"+x.Name] = x.Arn
			}
			if x, ok := ch.actual.(*ApiDestination); ok {
				a.arns["api-destination/"+x.Name] = x.Arn
			}
		}
	}
	// failed holds the resources whose change failed ("Kind name"): what
	// depends on one is not attempted, and says so, rather than failing
	// once more with the API's "does not exist".
	failed := map[string]bool{}
	for _, ch := range p.Changes {
		if err := ctx.Err(); err != nil {
			res.Failed = append(res.Failed, err)
			break
		}
		key := ch.Kind + " " + ch.Name
		if dep := firstFailed(ch, failed); dep != "" {
			failed[key] = true
			res.Failed = append(res.Failed, fmt.Errorf("%s: %s: not attempted: %s failed", key, ch.Action, dep))
			continue
		}
		if err := a.apply(ctx, ch); err != nil {
			failed[key] = true
			res.Failed = append(res.Failed, fmt.Errorf("%s: %s: %w", key, ch.Action, err))
			continue
		}
		res.Done = append(res.Done, ch)
	}
	return res, errors.Join(res.Failed...)
}

// firstFailed is the first resource ch depends on that failed.
func firstFailed(ch Change, failed map[string]bool) string {
	if ch.Action == Delete {
		return ""
	}
	var deps []string
	refs := func(s string) {
		for {
			i := strings.Index(s, "{{arn:")
			j := strings.Index(s, "}}")
			if i < 0 || j < i {
				return
			}
			kind, name, _ := strings.Cut(s[i+6:j], "/")
			deps = append(deps, map[string]string{"connection": KindConnection, "api-destination": KindApiDestination}[kind]+" "+name)
			s = s[j+2:]
		}
	}
	switch d := ch.desired.(type) {
	case *Rule:
		deps = append(deps, KindEventBus+" "+busName(d.EventBusName))
	case targetChange:
		deps = append(deps, KindRule+" "+ruleKey(d.rule.EventBusName, d.rule.Name))
		s, _ := d.target["Arn"].(string)
		refs(s)
	case *Archive:
		deps = append(deps, KindEventBus+" "+busName(d.EventSourceArn))
	case *ApiDestination:
		refs(d.ConnectionArn)
	}
	for _, dep := range deps {
		if failed[dep] {
			return dep
		}
	}
	return ""
}

type applier struct {
	c    Caller
	opts PlanOptions
	arns map[string]string
}

// arnOf finds the ARN of a connection or API destination made earlier.
func (a *applier) arnOf(ctx context.Context, key string) (string, error) {
	if s := a.arns[key]; s != "" {
		return s, nil
	}
	kind, name, _ := strings.Cut(key, "/")
	var out struct{ ConnectionArn, ApiDestinationArn string }
	op := map[string]string{"connection": "DescribeConnection", "api-destination": "DescribeApiDestination"}[kind]
	if op == "" {
		return "", fmt.Errorf("unknown reference {{arn:%s}}", key)
	}
	if err := a.c.Call(ctx, op, map[string]any{"Name": name}, &out); err != nil {
		return "", fmt.Errorf("{{arn:%s}}: %w", key, err)
	}
	a.arns[key] = out.ConnectionArn + out.ApiDestinationArn
	return a.arns[key], nil
}

// bind replaces the {{arn:...}} references in s.
func (a *applier) bind(ctx context.Context, s string) (string, error) {
	for {
		i := strings.Index(s, "{{arn:")
		if i < 0 {
			return s, nil
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return s, nil
		}
		arn, err := a.arnOf(ctx, s[i+6:i+j])
		if err != nil {
			return "", err
		}
		s = s[:i] + arn + s[i+j+2:]
	}
}

func tagList(m map[string]string) []map[string]string {
	var out []map[string]string
	for k, v := range m {
		out = append(out, map[string]string{"Key": k, "Value": v})
	}
	return out
}

func omitEmpty(m map[string]any) map[string]any {
	for k, v := range m {
		switch x := v.(type) {
		case string:
			if x == "" {
				delete(m, k)
			}
		case int:
			if x == 0 {
				delete(m, k)
			}
		case json.RawMessage:
			if len(x) == 0 {
				delete(m, k)
			} else {
				m[k] = string(x)
			}
		case nil:
			delete(m, k)
		case *DeadLetterConfig:
			if x == nil {
				delete(m, k)
			}
		case *LogConfig:
			if x == nil {
				delete(m, k)
			}
		case []map[string]string:
			if len(x) == 0 {
				delete(m, k)
			}
		}
	}
	return m
}

func (a *applier) busArn(name string) string {
	return "arn:" + a.opts.Partition + ":events:" + a.opts.Region + ":" + a.opts.Account + ":event-bus/" + name
}

func (a *applier) ruleArn(bus, name string) string {
	if bus = busName(bus); bus == "default" {
		return "arn:" + a.opts.Partition + ":events:" + a.opts.Region + ":" + a.opts.Account + ":rule/" + name
	}
	return "arn:" + a.opts.Partition + ":events:" + a.opts.Region + ":" + a.opts.Account + ":rule/" + bus + "/" + name
}

// retag makes the tags of arn want, from have.
func (a *applier) retag(ctx context.Context, arn string, want, have map[string]string) error {
	add := map[string]string{}
	for k, v := range want {
		if old, ok := have[k]; !ok || old != v {
			add[k] = v
		}
	}
	var remove []string
	for k := range have {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		if err := a.c.Call(ctx, "UntagResource", map[string]any{"ResourceARN": arn, "TagKeys": remove}, nil); err != nil {
			return fmt.Errorf("UntagResource: %w", err)
		}
	}
	if len(add) > 0 {
		if err := a.c.Call(ctx, "TagResource", map[string]any{"ResourceARN": arn, "Tags": tagList(add)}, nil); err != nil {
			return fmt.Errorf("TagResource: %w", err)
		}
	}
	return nil
}

func (a *applier) call(ctx context.Context, op string, in map[string]any) error {
	if err := a.c.Call(ctx, op, omitEmpty(in), nil); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

func changed(ch Change, field string) bool {
	for _, f := range ch.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

func (a *applier) apply(ctx context.Context, ch Change) error {
	switch ch.Kind {
	case KindEventBus:
		return a.bus(ctx, ch)
	case KindRule:
		switch ch.Action {
		case Delete:
			r := ch.actual.(*Rule)
			return a.call(ctx, "DeleteRule", map[string]any{"Name": r.Name, "EventBusName": r.EventBusName})
		}
		r := ch.desired.(*Rule)
		in := map[string]any{"Name": r.Name, "EventBusName": r.EventBusName, "Description": r.Description,
			"EventPattern": r.EventPattern, "ScheduleExpression": r.ScheduleExpression, "State": r.State,
			"RoleArn": r.RoleArn}
		if ch.Action == Create {
			in["Tags"] = tagList(r.Tags)
			return a.call(ctx, "PutRule", in)
		}
		if len(ch.Fields) > 1 || !changed(ch, "Tags") {
			if err := a.call(ctx, "PutRule", in); err != nil {
				return err
			}
		}
		if changed(ch, "Tags") {
			return a.retag(ctx, a.ruleArn(r.EventBusName, r.Name), r.Tags, ch.actual.(*Rule).Tags)
		}
		return nil
	case KindTarget:
		if ch.Action == Delete {
			tc := ch.actual.(targetChange)
			var out struct {
				FailedEntryCount int
				FailedEntries    []struct{ ErrorCode, ErrorMessage string }
			}
			if err := a.c.Call(ctx, "RemoveTargets", map[string]any{"Rule": tc.rule.Name, "EventBusName": busName(tc.rule.EventBusName),
				"Ids": []string{tc.target.ID()}}, &out); err != nil {
				return fmt.Errorf("RemoveTargets: %w", err)
			}
			if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
				return fmt.Errorf("RemoveTargets: %s: %s", out.FailedEntries[0].ErrorCode, out.FailedEntries[0].ErrorMessage)
			}
			return nil
		}
		tc := ch.desired.(targetChange)
		t := Target{}
		for k, v := range tc.target {
			t[k] = v
		}
		if s, ok := t["Arn"].(string); ok {
			arn, err := a.bind(ctx, s)
			if err != nil {
				return err
			}
			t["Arn"] = arn
		}
		var out struct {
			FailedEntryCount int
			FailedEntries    []struct{ ErrorCode, ErrorMessage string }
		}
		if err := a.c.Call(ctx, "PutTargets", map[string]any{"Rule": tc.rule.Name, "EventBusName": busName(tc.rule.EventBusName),
			"Targets": []Target{t}}, &out); err != nil {
			return fmt.Errorf("PutTargets: %w", err)
		}
		if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
			return fmt.Errorf("PutTargets: %s: %s", out.FailedEntries[0].ErrorCode, out.FailedEntries[0].ErrorMessage)
		}
		return nil
	case KindArchive:
		if ch.Action == Delete {
			return a.call(ctx, "DeleteArchive", map[string]any{"ArchiveName": ch.actual.(*Archive).ArchiveName})
		}
		if ch.Action == Replace {
			if err := a.call(ctx, "DeleteArchive", map[string]any{"ArchiveName": ch.actual.(*Archive).ArchiveName}); err != nil {
				return err
			}
		}
		x := ch.desired.(*Archive)
		in := map[string]any{"ArchiveName": x.ArchiveName, "Description": x.Description, "EventPattern": x.EventPattern,
			"RetentionDays": x.RetentionDays, "KmsKeyIdentifier": x.KmsKeyIdentifier}
		if ch.Action == Create || ch.Action == Replace {
			in["EventSourceArn"] = x.EventSourceArn
			return a.call(ctx, "CreateArchive", in)
		}
		return a.call(ctx, "UpdateArchive", in)
	case KindConnection:
		if ch.Action == Delete {
			return a.call(ctx, "DeleteConnection", map[string]any{"Name": ch.actual.(*Connection).Name})
		}
		x := ch.desired.(*Connection)
		in := map[string]any{"Name": x.Name, "Description": x.Description, "AuthorizationType": x.AuthorizationType,
			"AuthParameters": x.AuthParameters, "KmsKeyIdentifier": x.KmsKeyIdentifier}
		if x.InvocationConnectivityParameters != nil {
			in["InvocationConnectivityParameters"] = x.InvocationConnectivityParameters
		}
		if ch.Action == Create {
			var out struct{ ConnectionArn string }
			if err := a.c.Call(ctx, "CreateConnection", omitEmpty(in), &out); err != nil {
				return fmt.Errorf("CreateConnection: %w", err)
			}
			a.arns["connection/"+x.Name] = out.ConnectionArn
			return nil
		}
		return a.call(ctx, "UpdateConnection", in)
	case KindApiDestination:
		if ch.Action == Delete {
			return a.call(ctx, "DeleteApiDestination", map[string]any{"Name": ch.actual.(*ApiDestination).Name})
		}
		x := ch.desired.(*ApiDestination)
		conn, err := a.bind(ctx, x.ConnectionArn)
		if err != nil {
			return err
		}
		in := map[string]any{"Name": x.Name, "Description": x.Description, "ConnectionArn": conn,
			"InvocationEndpoint": x.InvocationEndpoint, "HttpMethod": x.HttpMethod,
			"InvocationRateLimitPerSecond": x.InvocationRateLimitPerSecond}
		if ch.Action == Create {
			var out struct{ ApiDestinationArn string }
			if err := a.c.Call(ctx, "CreateApiDestination", omitEmpty(in), &out); err != nil {
				return fmt.Errorf("CreateApiDestination: %w", err)
			}
			a.arns["api-destination/"+x.Name] = out.ApiDestinationArn
			return nil
		}
		return a.call(ctx, "UpdateApiDestination", in)
	}
	return fmt.Errorf("unknown kind %s", ch.Kind)
}

func (a *applier) bus(ctx context.Context, ch Change) error {
	if ch.Action == Delete {
		return a.call(ctx, "DeleteEventBus", map[string]any{"Name": ch.actual.(*EventBus).Name})
	}
	b := ch.desired.(*EventBus)
	if ch.Action == Create && b.policyOnly {
		return fmt.Errorf("event bus %s does not exist (an AWS::Events::EventBusPolicy does not create its bus)", b.Name)
	}
	if ch.Action == Create {
		in := map[string]any{"Name": b.Name, "Description": b.Description, "KmsKeyIdentifier": b.KmsKeyIdentifier,
			"DeadLetterConfig": b.DeadLetterConfig, "LogConfig": b.LogConfig, "EventSourceName": b.EventSourceName,
			"Tags": tagList(b.Tags)}
		if err := a.call(ctx, "CreateEventBus", in); err != nil {
			return err
		}
	} else {
		if changed(ch, "Description") || changed(ch, "KmsKeyIdentifier") || changed(ch, "DeadLetterConfig") || changed(ch, "LogConfig") {
			in := map[string]any{"Name": b.Name, "Description": b.Description, "KmsKeyIdentifier": b.KmsKeyIdentifier,
				"DeadLetterConfig": b.DeadLetterConfig, "LogConfig": b.LogConfig}
			if b.DeadLetterConfig == nil {
				in["DeadLetterConfig"] = map[string]any{}
			}
			if err := a.call(ctx, "UpdateEventBus", in); err != nil {
				return err
			}
		}
		if changed(ch, "Tags") {
			if err := a.retag(ctx, a.busArn(b.Name), b.Tags, ch.actual.(*EventBus).Tags); err != nil {
				return err
			}
		}
		if !changed(ch, "Policy") {
			return nil
		}
	}
	if len(b.Policy) == 0 {
		if ch.Action == Create {
			return nil
		}
		return a.call(ctx, "RemovePermission", map[string]any{"EventBusName": b.Name, "RemoveAllPermissions": true})
	}
	return a.call(ctx, "PutPermission", map[string]any{"EventBusName": b.Name, "Policy": b.Policy})
}
