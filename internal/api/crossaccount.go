package api

import (
	"context"
	"encoding/json"

	"github.com/switchyard/switchyard/internal/authz"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
)

// Rules on another account's bus. "EventBridge APIs that accept an event
// bus Name parameter such as PutRule, PutTargets, DeleteRule,
// RemoveTargets, DisableRule, and EnableRule also accept the event bus
// ARN. Use these parameters to reference cross-account or cross-Region
// event buses through the APIs. For example, you can call PutRule to
// create a rule on an event bus in a different account without needing to
// assume a role." ("Permissions for event buses in Amazon EventBridge",
// EventBridge User Guide.) The bus's policy must allow it, and can hold
// the other account to the rules it created with the events:creatorAccount
// condition key ("Example policy: Send events to the same account and
// restrict updates", ibid.):
//
//	"Resource": "arn:aws:events:us-east-1:123456789012:rule/central-event-bus/*",
//	"Condition": {"StringEqualsIfExists": {"events:creatorAccount": "${aws:PrincipalAccount}"}}
//
// Such a rule belongs to the bus: "If you use PutRule to put a rule on an
// event bus in another account, the other account is the owner of the
// rule, and the rule ARN includes the account ID for that account.
// However, the value for CreatedBy is the account ID as the account that
// created the rule in the other account." (DescribeRule, EventBridge API
// Reference.) It routes the bus's events and counts against the bus's
// quota.

// onOtherBus are the operations another account may make on the rules of
// a bus it names by ARN.
var onOtherBus = map[string]bool{
	"PutRule": true, "DescribeRule": true, "DeleteRule": true, "EnableRule": true, "DisableRule": true,
	"PutTargets": true, "RemoveTargets": true, "ListTargetsByRule": true,
}

// creatorKey is the context key of the account that makes a rule.
type creatorKey struct{}

// creatorOf is the account a rule put in ctx is created by: the caller's,
// which is not the rule's own account when the rule is on another
// account's bus ("" stands for the rule's own account).
func creatorOf(ctx context.Context) string {
	s, _ := ctx.Value(creatorKey{}).(string)
	return s
}

// ownerScope returns the scope op acts in: the caller's, or, for a rule
// operation naming another account's bus by its ARN, the bus's, once the
// bus's policy allows the caller. The context it returns carries the
// caller's account as the creator of a rule PutRule makes there.
func (h *Handler) ownerScope(ctx context.Context, sc control.Scope, op string, body []byte) (context.Context, control.Scope, error) {
	if !onOtherBus[op] {
		return ctx, sc, nil
	}
	var in struct {
		EventBusName, Name, Rule, EventPattern *string
	}
	if json.Unmarshal(body, &in) != nil || in.EventBusName == nil {
		return ctx, sc, nil // the operation's own decoding reports it
	}
	osc, busName, ok := control.ParseBusARN(*in.EventBusName)
	if !ok || osc == sc || osc.Partition() != sc.Partition() {
		return ctx, sc, nil
	}
	name := in.Name
	if op == "PutTargets" || op == "RemoveTargets" || op == "ListTargetsByRule" {
		name = in.Rule
	}
	if name == nil {
		return ctx, sc, nil // a required member: validation reports it
	}
	v := h.control.View()
	bus, _ := v.Bus(osc, busName)
	if bus == nil {
		if osc.Account != sc.Account {
			// Authorization comes first, as in IAM: another account's bus
			// that does not exist has no policy to allow the caller, and
			// the answer does not tell it from one that exists.
			bus = &control.Bus{Scope: osc, Name: busName}
		} else {
			return ctx, sc, awserr.NotFound("Event bus %s does not exist.", busName)
		}
	}
	keys := map[string][]string{}
	if r, _ := v.Rule(osc, busName, *name); r != nil {
		keys["events:creatorAccount"] = []string{r.Creator()}
	}
	if op == "PutRule" && in.EventPattern != nil {
		for k, vals := range patternKeys(*in.EventPattern) {
			keys[k] = vals
		}
	}
	p := authz.PrincipalFrom(ctx, sc.Account)
	if ok, msg := h.policies.OnBus(p, bus, "events:"+op, control.RuleARN(osc, busName, *name), keys); !ok {
		return ctx, sc, awserr.New("AccessDeniedException", "%s", msg)
	}
	return context.WithValue(ctx, creatorKey{}, sc.Account), osc, nil
}

// patternKeys are the condition keys PutRule's event pattern gives: the
// values it matches of source and detail-type ("Using IAM policy
// conditions in Amazon EventBridge": events:source and events:detail-type
// limit the rules an account may create to the sources and detail types
// they name). A pattern that does not parse gives none: PutRule refuses
// it. A pattern without source (or detail-type) leaves the key absent,
// which a policy's ...IfExists condition lets pass.
func patternKeys(src string) map[string][]string {
	var pat map[string]json.RawMessage
	if json.Unmarshal([]byte(src), &pat) != nil {
		return nil
	}
	out := map[string][]string{}
	for field, key := range map[string]string{"source": "events:source", "detail-type": "events:detail-type"} {
		var vals []json.RawMessage
		if json.Unmarshal(pat[field], &vals) != nil {
			continue
		}
		for _, raw := range vals {
			// A matcher other than an exact string ({"prefix": ""}, ...)
			// is its JSON text, which no source a policy names equals:
			// it must not pass for the key's absence.
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			out[key] = append(out[key], s)
		}
	}
	return out
}
