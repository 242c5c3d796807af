package api

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/tracing"
	"github.com/switchyard/switchyard/pattern"
)

// epoch is a timestamp as the JSON protocol carries it: seconds since the
// Unix epoch, possibly fractional.
type epoch float64

func toEpoch(t time.Time) epoch {
	if t.IsZero() {
		return 0
	}
	return epoch(float64(t.UnixMilli()) / 1000)
}

func (h *Handler) operations() map[string]func(context.Context, control.Scope, []byte) (any, error) {
	ops := map[string]func(context.Context, control.Scope, []byte) (any, error){
		"CreateEventBus":        handle(h.createEventBus),
		"DescribeEventBus":      handle(h.describeEventBus),
		"ListEventBuses":        handle(h.listEventBuses),
		"UpdateEventBus":        handle(h.updateEventBus),
		"DeleteEventBus":        handle(h.deleteEventBus),
		"PutRule":               handle(h.putRule),
		"DescribeRule":          handle(h.describeRule),
		"ListRules":             handle(h.listRules),
		"DeleteRule":            handle(h.deleteRule),
		"EnableRule":            handle(h.enableRule),
		"DisableRule":           handle(h.disableRule),
		"PutTargets":            handle(h.putTargets),
		"RemoveTargets":         handle(h.removeTargets),
		"ListTargetsByRule":     handle(h.listTargetsByRule),
		"ListRuleNamesByTarget": handle(h.listRuleNamesByTarget),
		"TagResource":           handle(h.tagResource),
		"UntagResource":         handle(h.untagResource),
		"ListTagsForResource":   handle(h.listTagsForResource),
		"PutEvents":             countEntriesFirst(handle(h.putEvents)),
		"TestEventPattern":      handle(h.testEventPattern),

		"CreateConnection":       handle(h.createConnection),
		"DescribeConnection":     handle(h.describeConnection),
		"UpdateConnection":       handle(h.updateConnection),
		"DeleteConnection":       handle(h.deleteConnection),
		"DeauthorizeConnection":  handle(h.deauthorizeConnection),
		"ListConnections":        handle(h.listConnections),
		"CreateApiDestination":   handle(h.createApiDestination),
		"DescribeApiDestination": handle(h.describeApiDestination),
		"UpdateApiDestination":   handle(h.updateApiDestination),
		"DeleteApiDestination":   handle(h.deleteApiDestination),
		"ListApiDestinations":    handle(h.listApiDestinations),

		"CreateArchive":   handle(h.createArchive),
		"DescribeArchive": handle(h.describeArchive),
		"ListArchives":    handle(h.listArchives),
		"UpdateArchive":   handle(h.updateArchive),
		"DeleteArchive":   handle(h.deleteArchive),
		"StartReplay":     handle(h.startReplay),
		"DescribeReplay":  handle(h.describeReplay),
		"ListReplays":     handle(h.listReplays),
		"CancelReplay":    handle(h.cancelReplay),

		"PutPermission":    handle(h.putPermission),
		"RemovePermission": handle(h.removePermission),

		"CreateEndpoint":   handle(h.createEndpoint),
		"DescribeEndpoint": handle(h.describeEndpoint),
		"ListEndpoints":    handle(h.listEndpoints),
		"UpdateEndpoint":   handle(h.updateEndpoint),
		"DeleteEndpoint":   handle(h.deleteEndpoint),
	}
	for op, fn := range h.partnerOperations() { // partners.go
		ops[op] = fn
	}
	return ops
}

// ---- event buses

type createEventBusIn struct {
	Name             *string                   `v:"req,len=1:256,re=eventBusName"`
	EventSourceName  *string                   `json:",omitempty" v:"len=1:256,re=eventSourceName"`
	Description      *string                   `v:"len=:512"`
	KmsKeyIdentifier *string                   `v:"len=:2048,re=kmsKey"`
	DeadLetterConfig *control.DeadLetterConfig `json:",omitempty"`
	LogConfig        *control.LogConfig        `json:",omitempty"`
	Tags             []control.Tag
}

type busOut struct {
	EventBusArn      string                    `json:",omitempty"`
	Arn              string                    `json:",omitempty"`
	Name             string                    `json:",omitempty"`
	Description      string                    `json:",omitempty"`
	KmsKeyIdentifier string                    `json:",omitempty"`
	DeadLetterConfig *control.DeadLetterConfig `json:",omitempty"`
	LogConfig        *control.LogConfig        `json:",omitempty"`
	Policy           string                    `json:",omitempty"`
	CreationTime     epoch                     `json:",omitempty"`
	LastModifiedTime epoch                     `json:",omitempty"`
}

func (h *Handler) createEventBus(ctx context.Context, sc control.Scope, in *createEventBusIn) (any, error) {
	b, err := h.control.CreateEventBus(ctx, sc, control.BusInput{Name: *in.Name, EventSourceName: deref(in.EventSourceName),
		Description: in.Description, KmsKeyIdentifier: in.KmsKeyIdentifier, DeadLetterConfig: in.DeadLetterConfig,
		LogConfig: in.LogConfig, Tags: in.Tags})
	if err != nil {
		return nil, err
	}
	return busOut{EventBusArn: b.ARN(), Description: b.Description, KmsKeyIdentifier: b.KmsKeyIdentifier,
		DeadLetterConfig: b.DeadLetterConfig, LogConfig: b.LogConfig}, nil
}

type describeEventBusIn struct {
	Name *string `v:"len=1:1600,re=eventBusNameOrArn"`
}

func (h *Handler) describeEventBus(ctx context.Context, sc control.Scope, in *describeEventBusIn) (any, error) {
	b, err := h.control.DescribeEventBus(ctx, sc, deref(in.Name))
	if err != nil {
		return nil, err
	}
	return busOut{Name: b.Name, Arn: b.ARN(), Description: b.Description, KmsKeyIdentifier: b.KmsKeyIdentifier,
		DeadLetterConfig: b.DeadLetterConfig, LogConfig: b.LogConfig, Policy: b.Policy,
		CreationTime: toEpoch(b.CreationTime), LastModifiedTime: toEpoch(b.LastModifiedTime)}, nil
}

type listIn struct {
	NamePrefix   *string `v:"len=1:256,re=eventBusName"`
	NextToken    *string `v:"len=1:2048"`
	Limit        *int32  `v:"range=1:100"`
	EventBusName *string `v:"len=1:1600,re=eventBusNameOrArn"`
}

func (h *Handler) listEventBuses(ctx context.Context, sc control.Scope, in *listIn) (any, error) {
	buses, next, err := h.control.ListEventBuses(ctx, sc, deref(in.NamePrefix), in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		EventBuses []busOut
		NextToken  *string `json:",omitempty"`
	}{each(buses, func(b *control.Bus) busOut {
		return busOut{Name: b.Name, Arn: b.ARN(), Description: b.Description, Policy: b.Policy,
			CreationTime: toEpoch(b.CreationTime), LastModifiedTime: toEpoch(b.LastModifiedTime)}
	}), next}, nil
}

type updateEventBusIn struct {
	Name             *string                   `v:"len=1:256,re=eventBusName"`
	KmsKeyIdentifier *string                   `v:"len=:2048,re=kmsKey"`
	Description      *string                   `v:"len=:512"`
	DeadLetterConfig *control.DeadLetterConfig `json:",omitempty"`
	LogConfig        *control.LogConfig        `json:",omitempty"`
}

func (h *Handler) updateEventBus(ctx context.Context, sc control.Scope, in *updateEventBusIn) (any, error) {
	b, err := h.control.UpdateEventBus(ctx, sc, control.BusInput{Name: deref(in.Name), Description: in.Description,
		KmsKeyIdentifier: in.KmsKeyIdentifier, DeadLetterConfig: in.DeadLetterConfig, LogConfig: in.LogConfig})
	if err != nil {
		return nil, err
	}
	return busOut{Arn: b.ARN(), Name: b.Name, Description: b.Description, KmsKeyIdentifier: b.KmsKeyIdentifier,
		DeadLetterConfig: b.DeadLetterConfig, LogConfig: b.LogConfig}, nil
}

type deleteEventBusIn struct {
	Name *string `v:"req,len=1:256,re=eventBusName"`
}

func (h *Handler) deleteEventBus(ctx context.Context, sc control.Scope, in *deleteEventBusIn) (any, error) {
	return nil, h.control.DeleteEventBus(ctx, sc, *in.Name)
}

// ---- bus permissions

type putPermissionIn struct {
	EventBusName *string                      `v:"len=1:256,re=nonPartnerBusName"`
	Action       *string                      `v:"len=1:64,re=permissionAction"`
	Principal    *string                      `v:"len=1:12,re=principal"`
	StatementId  *string                      `v:"len=1:64,re=statementId"`
	Condition    *control.PermissionCondition `json:",omitempty"`
	Policy       *string
}

func (h *Handler) putPermission(ctx context.Context, sc control.Scope, in *putPermissionIn) (any, error) {
	return nil, h.control.PutPermission(ctx, sc, control.PermissionInput{EventBusName: deref(in.EventBusName),
		Action: in.Action, Principal: in.Principal, StatementID: in.StatementId, Condition: in.Condition, Policy: in.Policy})
}

type removePermissionIn struct {
	StatementId          *string `v:"len=1:64,re=statementId"`
	RemoveAllPermissions *bool
	EventBusName         *string `v:"len=1:256,re=nonPartnerBusName"`
}

func (h *Handler) removePermission(ctx context.Context, sc control.Scope, in *removePermissionIn) (any, error) {
	return nil, h.control.RemovePermission(ctx, sc, deref(in.EventBusName), deref(in.StatementId),
		in.RemoveAllPermissions != nil && *in.RemoveAllPermissions)
}

// ---- rules

type putRuleIn struct {
	Name               *string `v:"req,len=1:64,re=ruleName"`
	ScheduleExpression *string `v:"len=:256"`
	EventPattern       *string `v:"len=:4096"`
	State              *string `v:"enum=ENABLED|DISABLED|ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"`
	Description        *string `v:"len=:512"`
	RoleArn            *string `v:"len=1:1600"`
	Tags               []control.Tag
	EventBusName       *string `v:"len=1:1600,re=eventBusNameOrArn"`
}

func (h *Handler) putRule(ctx context.Context, sc control.Scope, in *putRuleIn) (any, error) {
	r, err := h.control.PutRule(ctx, sc, control.RuleInput{Name: *in.Name, EventBusName: deref(in.EventBusName),
		EventPattern: in.EventPattern, ScheduleExpression: in.ScheduleExpression, State: in.State,
		Description: in.Description, RoleArn: in.RoleArn, Tags: in.Tags, CreatedBy: creatorOf(ctx)})
	if err != nil {
		return nil, err
	}
	return struct{ RuleArn string }{r.ARN()}, nil
}

type ruleOut struct {
	Name               string
	Arn                string
	EventPattern       string `json:",omitempty"`
	ScheduleExpression string `json:",omitempty"`
	State              string `json:",omitempty"`
	Description        string `json:",omitempty"`
	RoleArn            string `json:",omitempty"`
	ManagedBy          string `json:",omitempty"`
	EventBusName       string
	CreatedBy          string `json:",omitempty"`
}

func toRuleOut(r *control.Rule, withCreator bool) ruleOut {
	o := ruleOut{Name: r.Name, Arn: r.ARN(), EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression,
		State: r.State, Description: r.Description, RoleArn: r.RoleArn, ManagedBy: r.ManagedBy, EventBusName: r.Bus}
	if withCreator {
		o.CreatedBy = r.Creator()
	}
	return o
}

type ruleRefIn struct {
	Name         *string `v:"req,len=1:64,re=ruleName"`
	EventBusName *string `v:"len=1:1600,re=eventBusNameOrArn"`
	Force        bool
}

func (h *Handler) describeRule(ctx context.Context, sc control.Scope, in *ruleRefIn) (any, error) {
	r, err := h.control.DescribeRule(ctx, sc, deref(in.EventBusName), *in.Name)
	if err != nil {
		return nil, err
	}
	return toRuleOut(r, true), nil
}

type listRulesIn struct {
	NamePrefix   *string `v:"len=1:64,re=ruleName"`
	EventBusName *string `v:"len=1:1600,re=eventBusNameOrArn"`
	NextToken    *string `v:"len=1:2048"`
	Limit        *int32  `v:"range=1:100"`
}

func (h *Handler) listRules(ctx context.Context, sc control.Scope, in *listRulesIn) (any, error) {
	rules, next, err := h.control.ListRules(ctx, sc, deref(in.EventBusName), deref(in.NamePrefix), in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Rules     []ruleOut
		NextToken *string `json:",omitempty"`
	}{each(rules, func(r *control.Rule) ruleOut { return toRuleOut(r, false) }), next}, nil
}

func (h *Handler) deleteRule(ctx context.Context, sc control.Scope, in *ruleRefIn) (any, error) {
	return nil, h.control.DeleteRule(ctx, sc, deref(in.EventBusName), *in.Name, in.Force)
}

func (h *Handler) enableRule(ctx context.Context, sc control.Scope, in *ruleRefIn) (any, error) {
	return nil, h.control.SetRuleState(ctx, sc, deref(in.EventBusName), *in.Name, control.StateEnabled)
}

func (h *Handler) disableRule(ctx context.Context, sc control.Scope, in *ruleRefIn) (any, error) {
	return nil, h.control.SetRuleState(ctx, sc, deref(in.EventBusName), *in.Name, control.StateDisabled)
}

// ---- targets

type putTargetsIn struct {
	Rule         *string          `v:"req,len=1:64,re=ruleName"`
	EventBusName *string          `v:"len=1:1600,re=eventBusNameOrArn"`
	Targets      []control.Target `v:"req,len=1:100"`
}

type failedOut struct {
	FailedEntryCount int
	FailedEntries    []control.FailedEntry
}

func failed(f []control.FailedEntry) failedOut {
	return failedOut{len(f), nonNull(f)}
}

func (h *Handler) putTargets(ctx context.Context, sc control.Scope, in *putTargetsIn) (any, error) {
	f, err := h.control.PutTargets(ctx, sc, deref(in.EventBusName), *in.Rule, in.Targets)
	if err != nil {
		return nil, err
	}
	return failed(f), nil
}

type removeTargetsIn struct {
	Rule         *string  `v:"req,len=1:64,re=ruleName"`
	EventBusName *string  `v:"len=1:1600,re=eventBusNameOrArn"`
	Ids          []string `v:"req,len=1:100"`
	Force        bool
}

func (h *Handler) removeTargets(ctx context.Context, sc control.Scope, in *removeTargetsIn) (any, error) {
	f, err := h.control.RemoveTargets(ctx, sc, deref(in.EventBusName), *in.Rule, in.Ids, in.Force)
	if err != nil {
		return nil, err
	}
	return failed(f), nil
}

type listTargetsIn struct {
	Rule         *string `v:"req,len=1:64,re=ruleName"`
	EventBusName *string `v:"len=1:1600,re=eventBusNameOrArn"`
	NextToken    *string `v:"len=1:2048"`
	Limit        *int32  `v:"range=1:100"`
}

func (h *Handler) listTargetsByRule(ctx context.Context, sc control.Scope, in *listTargetsIn) (any, error) {
	ts, next, err := h.control.ListTargetsByRule(ctx, sc, deref(in.EventBusName), *in.Rule, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Targets   []control.Target
		NextToken *string `json:",omitempty"`
	}{nonNull(ts), next}, nil
}

type listRuleNamesIn struct {
	TargetArn    *string `v:"req,len=1:1600"`
	EventBusName *string `v:"len=1:1600,re=eventBusNameOrArn"`
	NextToken    *string `v:"len=1:2048"`
	Limit        *int32  `v:"range=1:100"`
}

func (h *Handler) listRuleNamesByTarget(ctx context.Context, sc control.Scope, in *listRuleNamesIn) (any, error) {
	names, next, err := h.control.ListRuleNamesByTarget(ctx, sc, deref(in.EventBusName), *in.TargetArn, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		RuleNames []string
		NextToken *string `json:",omitempty"`
	}{nonNull(names), next}, nil
}

// ---- tags

type tagResourceIn struct {
	ResourceARN *string       `v:"req,len=1:1600"`
	Tags        []control.Tag `v:"req"`
}

func (h *Handler) tagResource(ctx context.Context, sc control.Scope, in *tagResourceIn) (any, error) {
	return nil, h.control.TagResource(ctx, sc, *in.ResourceARN, in.Tags)
}

type untagResourceIn struct {
	ResourceARN *string  `v:"req,len=1:1600"`
	TagKeys     []string `v:"req"`
}

func (h *Handler) untagResource(ctx context.Context, sc control.Scope, in *untagResourceIn) (any, error) {
	return nil, h.control.UntagResource(ctx, sc, *in.ResourceARN, in.TagKeys)
}

type listTagsIn struct {
	ResourceARN *string `v:"req,len=1:1600"`
}

func (h *Handler) listTagsForResource(ctx context.Context, sc control.Scope, in *listTagsIn) (any, error) {
	tags, err := h.control.ListTags(ctx, sc, *in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return struct{ Tags []control.Tag }{nonNull(tags)}, nil
}

// ---- events

// requestTraceKey is the context key of a PutEvents request's trace
// headers (requestTrace).
type requestTraceKey struct{}

// requestTrace is a PutEvents request's trace context: its
// X-Amzn-Trace-Id, traceparent and tracestate headers.
type requestTrace struct{ xray, traceparent, tracestate string }

// busOf is the bus of a PutEvents request's first entry, for its span.
func busOf(entries []putEventsEntryIn) string {
	if len(entries) == 0 || entries[0].EventBusName == nil || *entries[0].EventBusName == "" {
		return "default"
	}
	return *entries[0].EventBusName
}

type putEventsEntryIn struct {
	Time         *epoch
	Source       *string
	Resources    []string
	DetailType   *string
	Detail       *string
	EventBusName *string `v:"len=1:1600,re=nonPartnerBusNameOrArn"`
	// An X-Ray trace header: the model's TraceHeader shape (min 1, max
	// 500) fails a longer one as a ValidationException; a malformed one
	// is dropped and the event accepted (ingest.ValidTraceHeader).
	TraceHeader *string `v:"len=1:500"`
}

type putEventsIn struct {
	Entries    []putEventsEntryIn `v:"req,len=1:10"`
	EndpointId *string            `v:"len=1:50,re=endpointId"`
}

// countEntriesFirst refuses a PutEvents request of more than 10 entries
// before decoding them, as AWS refuses it before looking at them: counting
// decodes nothing (the entries are skipped into zero-size values), so a
// body of 70,000 entries costs a scan, not 70,000 decoded entries.
func countEntriesFirst(next func(context.Context, control.Scope, []byte) (any, error)) func(context.Context, control.Scope, []byte) (any, error) {
	return func(ctx context.Context, sc control.Scope, body []byte) (any, error) {
		var count struct{ Entries []struct{} }
		if json.Unmarshal(body, &count) == nil && len(count.Entries) > maxEntries {
			return nil, validate(&putEventsIn{Entries: make([]putEventsEntryIn, maxEntries+1)})
		}
		return next(ctx, sc, body)
	}
}

// maxEntries is PutEvents' limit of entries a request.
const maxEntries = 10

func (h *Handler) putEvents(ctx context.Context, sc control.Scope, in *putEventsIn) (any, error) {
	var rep *ingest.Replication
	if in.EndpointId != nil {
		var err error
		if sc, rep, err = h.throughEndpoint(sc, *in.EndpointId, in.Entries); err != nil {
			return nil, err
		}
	}
	rt, _ := ctx.Value(requestTraceKey{}).(requestTrace)
	ctx, span, requestTrace := tracing.StartPutEvents(ctx, rt.xray, rt.traceparent, rt.tracestate, sc.Account, sc.Region)
	entries := make([]ingest.Entry, len(in.Entries))
	for i, e := range in.Entries {
		entries[i] = ingest.Entry{Source: e.Source, Resources: e.Resources, DetailType: e.DetailType,
			Detail: e.Detail, EventBusName: e.EventBusName, TraceHeader: e.TraceHeader, RequestTraceHeader: requestTrace}
		if e.Time != nil {
			sec, frac := math.Modf(float64(*e.Time))
			t := time.Unix(int64(sec), int64(frac*1e9))
			entries[i].Time = &t
		}
	}
	results, err := h.ingest.PutEventsReplicated(ctx, sc, entries, rep)
	if err != nil {
		span.EndPutEvents(busOf(in.Entries), len(entries), len(entries), err)
		return nil, err
	}
	failedCount := 0
	for _, r := range results {
		if r.ErrorCode != "" {
			failedCount++
		}
	}
	span.EndPutEvents(busOf(in.Entries), len(entries), failedCount, nil)
	return struct {
		FailedEntryCount int
		Entries          []ingest.Result
	}{failedCount, results}, nil
}

type testEventPatternIn struct {
	EventPattern *string `v:"req,len=:4096"`
	Event        *string `v:"req"`
}

// requiredEventFields are the envelope fields TestEventPattern insists on.
var requiredEventFields = []string{"id", "account", "source", "time", "region", "detail-type"}

func (h *Handler) testEventPattern(ctx context.Context, sc control.Scope, in *testEventPatternIn) (any, error) {
	p, err := h.control.ValidatePattern(*in.EventPattern)
	if err != nil {
		return nil, err
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*in.Event), &ev); err != nil {
		return nil, awserr.Validation("Parameter Event is not valid.")
	}
	for _, f := range requiredEventFields {
		if _, ok := ev[f]; !ok {
			return nil, awserr.Validation("Parameter Event is not valid.")
		}
	}
	m := pattern.NewMatcher()
	if err := m.Add("p", p); err != nil {
		return nil, err
	}
	ids, err := m.Match([]byte(*in.Event))
	if err != nil {
		return nil, awserr.Validation("Parameter Event is not valid.")
	}
	return struct{ Result bool }{len(ids) > 0}, nil
}

// nonNull is list, or an empty list for nil: answers hold [] rather than
// null.
func nonNull[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// each converts the items of a List operation's answer, into a list that
// is never null.
func each[T, O any](items []T, conv func(T) O) []O {
	out := make([]O, 0, len(items))
	for _, it := range items {
		out = append(out, conv(it))
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
