// Package authz decides what EventBridge's policies allow, with package
// iampolicy: whether a principal may send an event to an event bus of
// another account (the bus's resource policy, set with PutPermission), and,
// when requests are signed, what the caller's identity policies allow.
//
// Within one account, sending to a bus needs no bus policy; across
// accounts the bus's policy must allow the sender ("Permissions for event
// buses in Amazon EventBridge": "The default event bus in your AWS account
// only allows events from one account"). The condition keys EventBridge
// documents for PutEvents are set on each request: events:source,
// events:detail-type, events:eventBusInvocation ("true" for an event a
// rule sends on, "false" for a PutEvents call), aws:SourceAccount and,
// when the sender's organization is known, aws:PrincipalOrgID ("Using IAM
// policy conditions in Amazon EventBridge").
package authz

import (
	"context"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/iampolicy"
	"github.com/switchyard/switchyard/internal/control"
)

// Principal is who sends or calls.
type Principal struct {
	// ARN is the principal's ARN: an account's root
	// (arn:aws:iam::123456789012:root), a user, or a role session.
	ARN string
	// Account is the principal's account.
	Account string
	// OrgID is the principal's AWS organization (aws:PrincipalOrgID), or
	// "" when it has none or it is not known.
	OrgID string
	// Policies are the principal's identity policies. nil stands for the
	// account's full permissions (the root of an account, or a key of the
	// credentials file given no policies); a principal with policies is
	// held to them, as IAM holds a user.
	Policies []*iampolicy.Policy
}

// Root is an account's root user, the principal of an unsigned request
// (--auth none) and of a rule's delivery without a role.
func Root(account string) Principal {
	return Principal{ARN: "arn:aws:iam::" + account + ":root", Account: account}
}

// RoleSession is the principal a rule's target with a RoleArn acts as:
// the role, assumed in the session EventBridge names. What the role may do
// is IAM's to say, not Switchyard's: its identity side allows everything,
// and only the bus's policy decides.
func RoleSession(roleARN, session string) (Principal, bool) {
	// arn:partition:iam::account:role/path/name
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return Principal{}, false
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	if name == "" {
		return Principal{}, false
	}
	return Principal{ARN: "arn:" + parts[1] + ":sts::" + parts[4] + ":assumed-role/" + name + "/" + session,
		Account: parts[4], Policies: []*iampolicy.Policy{allowAll}}, true
}

// allowAll is the identity policy of a role session.
var allowAll = mustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, iampolicy.Identity)

// Policies parses bus policies once and keeps them, a bounded number.
type Policies struct {
	mu sync.Mutex
	m  map[string]*iampolicy.Policy
}

// maxCached bounds the parsed policies kept (each at most 10 KB of text).
const maxCached = 4096

// resource returns the parsed form of a bus policy, or nil for none. A
// policy that does not parse (stored before validation was strict) allows
// nothing.
func (c *Policies) resource(text string) *iampolicy.Policy {
	if text == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[text]; ok {
		return p
	}
	p, err := iampolicy.Parse([]byte(text), iampolicy.Resource)
	if err != nil {
		p = denyAll
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]*iampolicy.Policy)
	}
	c.m[text] = p
	return p
}

// denyAll stands for a policy that does not parse.
var denyAll = mustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`, iampolicy.Resource)

func mustParse(doc string, kind iampolicy.Kind) *iampolicy.Policy {
	p, err := iampolicy.Parse([]byte(doc), kind)
	if err != nil {
		panic(err)
	}
	return p
}

// Event is what is sent to a bus, for the condition keys.
type Event struct {
	Source, DetailType string
	// ViaRule is true for an event a rule of the sender's sends on
	// (events:eventBusInvocation).
	ViaRule bool
}

// SendToBus decides whether p may put ev on bus. The same account is
// allowed unless an identity policy of p says otherwise; another account
// needs the bus's policy to allow it, and p's identity policies too (the
// root of an account has every permission of its own).
func (c *Policies) SendToBus(p Principal, bus *control.Bus, ev Event) (bool, string) {
	req := &iampolicy.Request{
		PrincipalARN:     p.ARN,
		PrincipalAccount: p.Account,
		Action:           "events:PutEvents",
		Resource:         bus.ARN(),
		Context: map[string][]string{
			"events:source":             {ev.Source},
			"events:detail-type":        {ev.DetailType},
			"events:eventBusInvocation": {boolString(ev.ViaRule)},
			"aws:SourceAccount":         {p.Account},
		},
	}
	if p.OrgID != "" {
		req.Context["aws:PrincipalOrgID"] = []string{p.OrgID}
	}
	var resource *iampolicy.Policy
	if bus.Account != p.Account {
		resource = c.resource(bus.Policy)
		if resource == nil {
			return false, "User: " + p.ARN + " is not authorized to perform: events:PutEvents on resource: " +
				bus.ARN() + " because no resource-based policy allows the events:PutEvents action"
		}
	}
	r := iampolicy.Authorize(req, p.identity(), resource)
	return r.Allowed(), r.Message(req)
}

// identity is the identity policies p is held to.
func (p Principal) identity() []*iampolicy.Policy {
	if p.Policies == nil {
		return []*iampolicy.Policy{allowAll}
	}
	return p.Policies
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Allowed decides an API call of p: action (events:PutRule, ...) on
// resource (an ARN, or "*"), with condition keys ctxKeys besides the
// global ones. It returns AWS's AccessDeniedException message when denied.
func Allowed(p Principal, action, resource string, ctxKeys map[string][]string) (bool, string) {
	req := &iampolicy.Request{PrincipalARN: p.ARN, PrincipalAccount: p.Account, Action: action, Resource: resource,
		Context: ctxKeys}
	if p.OrgID != "" {
		if req.Context == nil {
			req.Context = map[string][]string{}
		}
		req.Context["aws:PrincipalOrgID"] = []string{p.OrgID}
	}
	r := iampolicy.Authorize(req, p.identity(), nil)
	return r.Allowed(), r.Message(req)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the request's principal.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries, or, when it carries
// none, the root of account.
func PrincipalFrom(ctx context.Context, account string) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Root(account)
}

// OnBus decides an API call of p on a rule (or its targets) of another
// account's bus, named by the bus's ARN: action (events:PutRule, ...) on
// resource, the rule's ARN in the bus's account, with condition keys
// ctxKeys (events:creatorAccount, events:source, ...). Both the bus's
// policy and p's identity policies must allow it, as across accounts
// for any resource policy ("Permissions for event buses in Amazon
// EventBridge": "With a resource-based policy, you can allow PutEvents,
// PutRule, and PutTargets API calls from another account"). It returns
// AWS's AccessDeniedException message when denied.
func (c *Policies) OnBus(p Principal, bus *control.Bus, action, resource string, ctxKeys map[string][]string) (bool, string) {
	req := &iampolicy.Request{PrincipalARN: p.ARN, PrincipalAccount: p.Account, Action: action, Resource: resource,
		Context: map[string][]string{}}
	for k, v := range ctxKeys {
		req.Context[k] = v
	}
	if p.OrgID != "" {
		req.Context["aws:PrincipalOrgID"] = []string{p.OrgID}
	}
	resourcePolicy := c.resource(bus.Policy)
	if resourcePolicy == nil && bus.Account != p.Account { // the same account in another region needs none
		return false, "User: " + p.ARN + " is not authorized to perform: " + action + " on resource: " +
			resource + " because no resource-based policy allows the " + action + " action"
	}
	r := iampolicy.Authorize(req, p.identity(), resourcePolicy)
	return r.Allowed(), r.Message(req)
}
