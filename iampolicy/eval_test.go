package iampolicy

import "testing"

const (
	bus      = "arn:aws:events:us-east-1:123456789012:event-bus/default"
	alice    = "arn:aws:iam::123456789012:user/alice"
	otherBob = "arn:aws:iam::111122223333:user/bob"
)

func mustParse(t testing.TB, doc string, kind Kind) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func TestEvaluateStatements(t *testing.T) {
	const (
		logicPage   = "Policy evaluation logic"
		actionPage  = "IAM JSON policy elements: Action"
		notActPage  = "IAM JSON policy elements: NotAction"
		resPage     = "IAM JSON policy elements: Resource"
		notResPage  = "IAM JSON policy elements: NotResource"
		varsPage    = "IAM policy elements: Variables and tags"
		statements2 = `{"Version":"2012-10-17","Statement":[`
	)
	tests := []struct {
		source, name string
		policy       string // statements, joined into a 2012-10-17 identity policy
		action       string
		resource     string
		principal    string
		want         Decision
	}{
		// "By default, all requests are implicitly denied."
		{logicPage, "no statement matches", `{"Effect":"Allow","Action":"events:PutRule","Resource":"*"}`, "events:PutEvents", bus, alice, ImplicitDeny},
		{logicPage, "allow", `{"Effect":"Allow","Action":"events:PutEvents","Resource":"*"}`, "events:PutEvents", bus, alice, Allow},
		{logicPage, "deny alone", `{"Effect":"Deny","Action":"events:PutEvents","Resource":"*"}`, "events:PutEvents", bus, alice, ExplicitDeny},
		// "An explicit deny in any of the policies overrides the allow."
		{logicPage, "deny overrides allow", `{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"events:PutEvents","Resource":"*"}`, "events:PutEvents", bus, alice, ExplicitDeny},
		{logicPage, "deny first overrides allow", `{"Effect":"Deny","Action":"events:PutEvents","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"}`, "events:PutEvents", bus, alice, ExplicitDeny},
		{logicPage, "deny of another action", `{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"events:DeleteRule","Resource":"*"}`, "events:PutEvents", bus, alice, Allow},
		{logicPage, "deny whose condition fails", `{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`, "events:PutEvents", bus, alice, Allow},

		// Action: "The prefix and the action name are case insensitive";
		// wildcards * and ? match parts of names.
		{actionPage, "action ignores case", `{"Effect":"Allow","Action":"EVENTS:putevents","Resource":"*"}`, "events:PutEvents", bus, alice, Allow},
		{actionPage, "action star", `{"Effect":"Allow","Action":"events:Put*","Resource":"*"}`, "events:PutEvents", bus, alice, Allow},
		{actionPage, "action star other", `{"Effect":"Allow","Action":"events:Put*","Resource":"*"}`, "events:ListRules", bus, alice, ImplicitDeny},
		{actionPage, "action question mark", `{"Effect":"Allow","Action":"events:?utEvents","Resource":"*"}`, "events:PutEvents", bus, alice, Allow},
		{actionPage, "service wildcard action", `{"Effect":"Allow","Action":"events:*","Resource":"*"}`, "events:DescribeEventBus", bus, alice, Allow},
		{actionPage, "other service", `{"Effect":"Allow","Action":"sqs:*","Resource":"*"}`, "events:PutEvents", bus, alice, ImplicitDeny},
		{actionPage, "action list", `{"Effect":"Allow","Action":["events:PutRule","events:PutTargets"],"Resource":"*"}`, "events:PutTargets", bus, alice, Allow},
		{actionPage, "all actions", `{"Effect":"Allow","Action":"*","Resource":"*"}`, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q", alice, Allow},
		// NotAction: the statement applies to every action but those listed.
		{notActPage, "NotAction other", `{"Effect":"Allow","NotAction":"events:Delete*","Resource":"*"}`, "events:PutEvents", bus, alice, Allow},
		{notActPage, "NotAction listed", `{"Effect":"Allow","NotAction":"events:Delete*","Resource":"*"}`, "events:DeleteRule", bus, alice, ImplicitDeny},
		{notActPage, "Deny NotAction", `{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["events:PutEvents"],"Resource":"*"}`, "events:PutRule", bus, alice, ExplicitDeny},

		// Resource: ARNs with wildcards in any part; a wildcard does not
		// span parts.
		{resPage, "exact ARN", `{"Effect":"Allow","Action":"*","Resource":"` + bus + `"}`, "events:PutEvents", bus, alice, Allow},
		{resPage, "other bus", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:us-east-1:123456789012:event-bus/orders"}`, "events:PutEvents", bus, alice, ImplicitDeny},
		{resPage, "bus wildcard", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:123456789012:event-bus/*"}`, "events:PutEvents", bus, alice, Allow},
		{resPage, "region part wildcard", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:us-*:123456789012:event-bus/default"}`, "events:PutEvents", bus, alice, Allow},
		{resPage, "wildcard in the account part", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:us-east-1:1234567890??:event-bus/default"}`, "events:PutEvents", bus, alice, Allow},
		{resPage, "star does not span parts", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:123456789012:event-bus/x"}`, "events:PutEvents", "arn:aws:events:us-east-1:9:123456789012:event-bus/x", alice, ImplicitDeny},
		{resPage, "resource is case-sensitive", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:us-east-1:123456789012:event-bus/Default"}`, "events:PutEvents", bus, alice, ImplicitDeny},
		{resPage, "rule ARN with path", `{"Effect":"Allow","Action":"events:PutTargets","Resource":"arn:aws:events:us-east-1:123456789012:rule/orders/*"}`, "events:PutTargets", "arn:aws:events:us-east-1:123456789012:rule/orders/r1", alice, Allow},
		{resPage, "not an ARN", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:*:*"}`, "events:PutEvents", "default", alice, ImplicitDeny},
		{resPage, "resource star", `{"Effect":"Allow","Action":"*","Resource":"*"}`, "events:ListEventBuses", "*", alice, Allow},
		{resPage, "ARN against no resource", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:*:*"}`, "events:ListEventBuses", "*", alice, ImplicitDeny},
		{notResPage, "NotResource other", `{"Effect":"Allow","Action":"*","NotResource":"arn:aws:events:*:*:event-bus/private"}`, "events:PutEvents", bus, alice, Allow},
		{notResPage, "NotResource listed", `{"Effect":"Allow","Action":"*","NotResource":["arn:aws:events:*:*:event-bus/private","arn:aws:events:*:*:event-bus/default"]}`, "events:PutEvents", bus, alice, ImplicitDeny},

		// Policy variables in Resource.
		{varsPage, "resource variable", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:*:event-bus/${aws:username}"}`, "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/alice", alice, Allow},
		{varsPage, "resource variable other user", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:*:event-bus/${aws:username}"}`, "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/alice", otherBob, ImplicitDeny},
		{varsPage, "resource variable without value", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:*:event-bus/${aws:username}"}`, "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/", "arn:aws:sts::123456789012:assumed-role/r/s", ImplicitDeny},
		{varsPage, "resource variable default", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:*:event-bus/${aws:username,'shared'}"}`, "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/shared", "arn:aws:sts::123456789012:assumed-role/r/s", Allow},
		{varsPage, "resource account variable", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:${aws:PrincipalAccount}:event-bus/*"}`, "events:PutEvents", bus, alice, Allow},
		{varsPage, "resource account variable other account", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:${aws:PrincipalAccount}:event-bus/*"}`, "events:PutEvents", bus, otherBob, ImplicitDeny},
		{varsPage, "${*} in a resource is literal", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::bucket/${*}"}`, "s3:GetObject", "arn:aws:s3:::bucket/key", alice, ImplicitDeny},
		{varsPage, "${*} in a resource matches a star", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::bucket/${*}"}`, "s3:GetObject", "arn:aws:s3:::bucket/*", alice, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, statements2+tt.policy+`]}`, Identity)
			req := &Request{PrincipalARN: tt.principal, Action: tt.action, Resource: tt.resource}
			if got := p.Evaluate(req); got != tt.want {
				t.Errorf("%s\n%s against %+v = %v, want %v", tt.source, tt.policy, req, got, tt.want)
			}
		})
	}
}

func TestEvaluateVariablesInOldVersion(t *testing.T) {
	// "IAM JSON policy elements: Version": variables "are instead treated
	// as literal strings" without 2012-10-17.
	p := mustParse(t, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*:*:event-bus/${aws:username}"}}`, Identity)
	if d := p.Evaluate(&Request{PrincipalARN: alice, Action: "events:PutEvents", Resource: "arn:aws:events:us-east-1:1:event-bus/alice"}); d != ImplicitDeny {
		t.Errorf("variable expanded in a 2008-10-17 policy: %v", d)
	}
	if d := p.Evaluate(&Request{PrincipalARN: alice, Action: "events:PutEvents", Resource: "arn:aws:events:us-east-1:1:event-bus/${aws:username}"}); d != Allow {
		t.Errorf("literal variable text not matched: %v", d)
	}
}

func TestEvaluatePrincipals(t *testing.T) {
	const principalPage = "AWS JSON policy elements: Principal"
	session := "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-42"
	tests := []struct {
		name      string
		principal string // the statement's Principal or NotPrincipal element
		not       bool   // NotPrincipal
		req       Request
		want      Decision
	}{
		// "Principal": "*" and {"AWS": "*"} match everyone, including
		// service principals.
		{"star", `"*"`, false, Request{PrincipalARN: otherBob}, Allow},
		{"AWS star", `{"AWS":"*"}`, false, Request{PrincipalARN: otherBob}, Allow},
		{"star matches a service", `"*"`, false, Request{PrincipalService: "events.amazonaws.com"}, Allow},
		// AWS account principals: the account ID and the account's root
		// ARN behave the same and include the account's users and roles.
		{"account ID", `{"AWS":"111122223333"}`, false, Request{PrincipalARN: otherBob}, Allow},
		{"account root ARN", `{"AWS":"arn:aws:iam::111122223333:root"}`, false, Request{PrincipalARN: session}, Allow},
		{"account ID from PrincipalAccount", `{"AWS":"111122223333"}`, false, Request{PrincipalAccount: "111122223333"}, Allow},
		{"other account", `{"AWS":["444455556666","arn:aws:iam::444455556666:root"]}`, false, Request{PrincipalARN: otherBob}, ImplicitDeny},
		{"root ARN other partition", `{"AWS":"arn:aws-cn:iam::111122223333:root"}`, false, Request{PrincipalARN: otherBob}, ImplicitDeny},
		// IAM user principals.
		{"user", `{"AWS":"arn:aws:iam::111122223333:user/bob"}`, false, Request{PrincipalARN: otherBob}, Allow},
		{"other user", `{"AWS":"arn:aws:iam::111122223333:user/carol"}`, false, Request{PrincipalARN: otherBob}, ImplicitDeny},
		// IAM role principals match the role's sessions; a role session
		// principal matches that session.
		{"role matches its sessions", `{"AWS":"arn:aws:iam::111122223333:role/Deployer"}`, false, Request{PrincipalARN: session}, Allow},
		{"role with path matches its sessions", `{"AWS":"arn:aws:iam::111122223333:role/ci/Deployer"}`, false, Request{PrincipalARN: session}, Allow},
		{"other role", `{"AWS":"arn:aws:iam::111122223333:role/Admin"}`, false, Request{PrincipalARN: session}, ImplicitDeny},
		{"role in other account", `{"AWS":"arn:aws:iam::444455556666:role/Deployer"}`, false, Request{PrincipalARN: session}, ImplicitDeny},
		{"session", `{"AWS":"arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-42"}`, false, Request{PrincipalARN: session}, Allow},
		{"other session", `{"AWS":"arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-43"}`, false, Request{PrincipalARN: session}, ImplicitDeny},
		// Service principals.
		{"service", `{"Service":"events.amazonaws.com"}`, false, Request{PrincipalService: "events.amazonaws.com"}, Allow},
		{"other service", `{"Service":["sns.amazonaws.com"]}`, false, Request{PrincipalService: "events.amazonaws.com"}, ImplicitDeny},
		{"service is not an account", `{"AWS":"111122223333"}`, false, Request{PrincipalService: "events.amazonaws.com"}, ImplicitDeny},
		{"user is not a service", `{"Service":"events.amazonaws.com"}`, false, Request{PrincipalARN: otherBob}, ImplicitDeny},
		{"unique ID matches nobody", `{"AWS":"AIDAJQABLZS4A3QDU576Q"}`, false, Request{PrincipalARN: otherBob}, ImplicitDeny},
		{"federated matches nobody", `{"Federated":"cognito-identity.amazonaws.com"}`, false, Request{PrincipalARN: otherBob}, ImplicitDeny},
		// NotPrincipal: everyone but those listed.
		{"NotPrincipal other", `{"AWS":"arn:aws:iam::111122223333:user/carol"}`, true, Request{PrincipalARN: otherBob}, Allow},
		{"NotPrincipal listed", `{"AWS":["arn:aws:iam::111122223333:user/carol","arn:aws:iam::111122223333:user/bob"]}`, true, Request{PrincipalARN: otherBob}, ImplicitDeny},
		{"NotPrincipal account", `{"AWS":"111122223333"}`, true, Request{PrincipalARN: otherBob}, ImplicitDeny},
		{"NotPrincipal service", `{"Service":"events.amazonaws.com"}`, true, Request{PrincipalARN: otherBob}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			elem := "Principal"
			if tt.not {
				elem = "NotPrincipal"
			}
			p := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","`+elem+`":`+tt.principal+`,"Action":"events:PutEvents","Resource":"`+bus+`"}}`, Resource)
			req := tt.req
			req.Action, req.Resource = "events:PutEvents", bus
			if got := p.Evaluate(&req); got != tt.want {
				t.Errorf("%s\n%s %s against %+v = %v, want %v", principalPage, elem, tt.principal, req, got, tt.want)
			}
		})
	}
}

func TestEvaluateNil(t *testing.T) {
	var p *Policy
	if d := p.Evaluate(&Request{}); d != ImplicitDeny {
		t.Errorf("nil policy: %v", d)
	}
	if d := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity).Evaluate(nil); d != ImplicitDeny {
		t.Errorf("nil request: %v", d)
	}
	// A hand-built statement without Action matches nothing.
	p = &Policy{Statements: []Statement{{Effect: "Allow", Resource: []string{"*"}}}}
	if d := p.Evaluate(&Request{Action: "events:PutEvents"}); d != ImplicitDeny {
		t.Errorf("statement without Action: %v", d)
	}
	// An unknown operator in a hand-built condition never holds.
	p = &Policy{Statements: []Statement{{Effect: "Allow", Action: []string{"*"}, Condition: []Condition{{Operator: "StringMatches", Key: "a", Values: []string{"b"}}}}}}
	if d := p.Evaluate(&Request{Action: "events:PutEvents", Context: ctx{"a": {"b"}}}); d != ImplicitDeny {
		t.Errorf("unknown operator: %v", d)
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{ImplicitDeny: "ImplicitDeny", Allow: "Allow", ExplicitDeny: "ExplicitDeny", 7: "Decision(7)"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
	if Identity.String() != "identity" || Resource.String() != "resource" || Kind(9).String() != "Kind(9)" {
		t.Error("Kind.String")
	}
}
