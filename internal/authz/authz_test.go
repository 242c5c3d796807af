package authz

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/control"
)

func TestSendToBus(t *testing.T) {
	const owner, sender = "123456789012", "111122223333"
	bus := func(policy string) *control.Bus {
		return &control.Bus{Scope: control.Scope{Account: owner, Region: "us-east-1"}, Name: "central", Policy: policy}
	}
	// The statement PutPermission makes for Principal=111122223333.
	grant := `{"Version":"2012-10-17","Statement":[{"Sid":"s","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:123456789012:event-bus/central"}]}`
	// PutPermission with Principal "*" and the organization condition.
	org := `{"Version":"2012-10-17","Statement":[{"Sid":"o","Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:123456789012:event-bus/central","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}]}`
	// "Example policy: Send events to a custom bus in a different account":
	// only one source.
	bySource := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["events:PutEvents"],"Resource":"arn:aws:events:us-east-1:123456789012:event-bus/central","Condition":{"ForAllValues:StringEquals":{"events:source":"com.exampleCorp.webStore"}}}]}`
	deny := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"*"},` +
		`{"Effect":"Deny","Principal":"*","Action":"events:PutEvents","Resource":"*","Condition":{"StringEquals":{"events:eventBusInvocation":"true"}}}]}`
	role, ok := RoleSession("arn:aws:iam::111122223333:role/path/forwarder", "Switchyard")
	if !ok || role.ARN != "arn:aws:sts::111122223333:assumed-role/forwarder/Switchyard" {
		t.Fatalf("RoleSession: %+v %v", role, ok)
	}
	withOrg := Root(sender)
	withOrg.OrgID = "o-abc"
	web := Event{Source: "com.exampleCorp.webStore", DetailType: "x"}
	for _, tt := range []struct {
		name   string
		p      Principal
		policy string
		ev     Event
		want   bool
	}{
		{"same account, no policy", Root(owner), "", web, true},
		{"other account, no policy", Root(sender), "", web, false},
		{"other account, granted", Root(sender), grant, web, true},
		{"a third account, not granted", Root("999999999999"), grant, web, false},
		{"organization member", withOrg, org, web, true},
		{"organization unknown", Root(sender), org, web, false},
		{"allowed source", Root(sender), bySource, web, true},
		{"other source", Root(sender), bySource, Event{Source: "other", DetailType: "x"}, false},
		{"a role of the granted account", role, grant, web, true},
		{"a rule's delivery denied", Root(sender), deny, Event{Source: "a", DetailType: "b", ViaRule: true}, false},
		{"a direct PutEvents allowed", Root(sender), deny, Event{Source: "a", DetailType: "b"}, true},
		{"a policy that does not parse", Root(sender), `{"Statement":"nonsense"}`, web, false},
	} {
		var c Policies
		got, msg := c.SendToBus(tt.p, bus(tt.policy), tt.ev)
		if got != tt.want {
			t.Errorf("%s: allowed %v, want %v (%s)", tt.name, got, tt.want, msg)
		}
		if !got && !strings.Contains(msg, "is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:123456789012:event-bus/central") {
			t.Errorf("%s: message %q", tt.name, msg)
		}
	}
}

func TestOnBus(t *testing.T) {
	const owner, creator = "123456789012", "111122223333"
	const rule = "arn:aws:events:us-east-1:123456789012:rule/central/r"
	// "Example policy: Send events to the same account and restrict
	// updates in Amazon EventBridge" (EventBridge User Guide).
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},` +
		`"Action":["events:PutRule","events:DeleteRule"],"Resource":"arn:aws:events:us-east-1:123456789012:rule/central/*",` +
		`"Condition":{"StringEqualsIfExists":{"events:creatorAccount":"${aws:PrincipalAccount}","events:source":"com.exampleCorp.webStore"}}}]}`
	bus := func(account, policy string) *control.Bus {
		return &control.Bus{Scope: control.Scope{Account: account, Region: "us-east-1"}, Name: "central", Policy: policy}
	}
	web := []string{"com.exampleCorp.webStore"}
	for _, tt := range []struct {
		name   string
		p      Principal
		bus    *control.Bus
		action string
		keys   map[string][]string
		want   bool
	}{
		{"no policy", Root(creator), bus(owner, ""), "events:PutRule", map[string][]string{"events:source": web}, false},
		{"a new rule of an allowed source", Root(creator), bus(owner, policy), "events:PutRule", map[string][]string{"events:source": web}, true},
		{"a new rule of another source", Root(creator), bus(owner, policy), "events:PutRule", map[string][]string{"events:source": {"x"}}, false},
		{"its own rule", Root(creator), bus(owner, policy), "events:DeleteRule", map[string][]string{"events:creatorAccount": {creator}}, true},
		{"the owner's rule", Root(creator), bus(owner, policy), "events:DeleteRule", map[string][]string{"events:creatorAccount": {owner}}, false},
		{"an action not granted", Root(creator), bus(owner, policy), "events:EnableRule", nil, false},
		{"a third account", Root("999999999999"), bus(owner, policy), "events:PutRule", nil, false},
		{"its own account in another region", Root(owner), bus(owner, ""), "events:PutRule", nil, true},
	} {
		var c Policies
		got, msg := c.OnBus(tt.p, tt.bus, tt.action, rule, tt.keys)
		if got != tt.want {
			t.Errorf("%s: allowed %v, want %v (%s)", tt.name, got, tt.want, msg)
		}
		if !got && !strings.HasPrefix(msg, "User: "+tt.p.ARN+" is not authorized to perform: "+tt.action+" on resource: "+rule+" because ") {
			t.Errorf("%s: message %q", tt.name, msg)
		}
	}
}
