package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// rulesPolicy is the bus policy of "Example policy: Send events to the
// same account and restrict updates in Amazon EventBridge" (EventBridge
// User Guide) for account 111122223333 on the bus central: it may create
// and manage rules of the source app.orders, and only the rules it
// created.
const rulesPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"RuleCreation","Effect":"Allow",
 "Principal":{"AWS":"arn:aws:iam::111122223333:root"},
 "Action":["events:PutRule","events:DeleteRule","events:DescribeRule","events:DisableRule","events:EnableRule",
           "events:PutTargets","events:RemoveTargets","events:ListTargetsByRule"],
 "Resource":"arn:aws:events:us-east-1:123456789012:rule/central/*",
 "Condition":{"StringEqualsIfExists":{"events:creatorAccount":"${aws:PrincipalAccount}","events:source":"app.orders"}}}]}`

// TestCrossAccountRules: another account creates and manages a rule on a
// bus by the bus's ARN once the bus's policy allows it; the rule is the
// bus's (its ARN in the bus's account, routing the bus's events) with the
// creator in CreatedBy, and events:creatorAccount keeps the creator off
// the owner's rules.
func TestCrossAccountRules(t *testing.T) {
	s, _ := startAuthServer(t, crossKeys)
	owner := s.signedClient("AKIAOWNEREXAMPLE", "owner-secret", "", "us-east-1")
	sender := s.signedClient("AKIASENDEREXAMPLE", "sender-secret", "", "us-east-1")
	bob := s.signedClient("AKIABOBEXAMPLE", "bob-secret", "", "us-east-1")
	cx := ctx(t)
	bus, err := owner.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("central")})
	if err != nil {
		t.Fatal(err)
	}
	busARN := bus.EventBusArn
	const ruleARN = "arn:aws:events:us-east-1:123456789012:rule/central/from-sender"
	putRule := func(c *eventbridge.Client, name, pattern string) (*eventbridge.PutRuleOutput, error) {
		return c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: busARN, EventPattern: aws.String(pattern)})
	}
	denied := func(who, action, resource, why string) string {
		return "User: " + who + " is not authorized to perform: events:" + action + " on resource: " + resource + " because " + why
	}

	_, err = putRule(sender, "from-sender", `{"source":["app.orders"]}`)
	wantAPIError(t, "PutRule before the bus has a policy", err, "AccessDeniedException",
		denied("arn:aws:iam::111122223333:root", "PutRule", ruleARN, "no resource-based policy allows the events:PutRule action"))

	if _, err := owner.PutPermission(cx, &eventbridge.PutPermissionInput{EventBusName: aws.String("central"), Policy: aws.String(rulesPolicy)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, rule, pattern string
		client              *eventbridge.Client
		code, msg           string
	}{
		{"a source the policy does not allow", "other-source", `{"source":["app.billing"]}`, sender, "AccessDeniedException",
			denied("arn:aws:iam::111122223333:root", "PutRule", "arn:aws:events:us-east-1:123456789012:rule/central/other-source",
				"no resource-based policy allows the events:PutRule action")},
		{"a prefix standing for any source", "any-source", `{"source":[{"prefix":""}]}`, sender, "AccessDeniedException",
			denied("arn:aws:iam::111122223333:root", "PutRule", "arn:aws:events:us-east-1:123456789012:rule/central/any-source",
				"no resource-based policy allows the events:PutRule action")},
		{"a user of the account its identity policy does not allow", "from-bob", `{"source":["app.orders"]}`, bob, "AccessDeniedException",
			denied("arn:aws:iam::111122223333:user/bob", "PutRule", "arn:aws:events:us-east-1:123456789012:rule/central/from-bob",
				"no identity-based policy allows the events:PutRule action")},
	} {
		_, err := putRule(c.client, c.rule, c.pattern)
		wantAPIError(t, c.name, err, c.code, c.msg)
	}
	_, err = sender.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["app.orders"]}`),
		EventBusName: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/missing")})
	// Another account's bus that does not exist is refused as one whose
	// policy does not allow the caller: authorization comes first.
	wantAPIError(t, "PutRule on a bus that does not exist", err, "AccessDeniedException",
		denied("arn:aws:iam::111122223333:root", "PutRule", "arn:aws:events:us-east-1:123456789012:rule/missing/r",
			"no resource-based policy allows the events:PutRule action"))

	out, err := putRule(sender, "from-sender", `{"source":["app.orders"]}`)
	if err != nil || aws.ToString(out.RuleArn) != ruleARN {
		t.Fatalf("PutRule on the other account's bus: %v %+v, want RuleArn %s", err, out, ruleARN)
	}
	rcv := newReceiver(t)
	if _, err := sender.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("from-sender"), EventBusName: busARN,
		Targets: []types.Target{{Id: aws.String("hook"), Arn: aws.String(rcv.URL)}}}); err != nil {
		t.Fatal(err)
	}
	// The creator and the owner see the same rule, created by the sender.
	for who, in := range map[string]*eventbridge.DescribeRuleInput{
		"sender": {Name: aws.String("from-sender"), EventBusName: busARN},
		"owner":  {Name: aws.String("from-sender"), EventBusName: aws.String("central")},
	} {
		c := map[string]*eventbridge.Client{"sender": sender, "owner": owner}[who]
		d, err := c.DescribeRule(cx, in)
		if err != nil || aws.ToString(d.Arn) != ruleARN || aws.ToString(d.CreatedBy) != "111122223333" || aws.ToString(d.EventBusName) != "central" {
			t.Fatalf("DescribeRule by the %s: %v %+v, want Arn %s CreatedBy 111122223333", who, err, d, ruleARN)
		}
	}
	ts, err := sender.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("from-sender"), EventBusName: busARN})
	if err != nil || len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].Arn) != rcv.URL {
		t.Fatalf("ListTargetsByRule: %v %+v", err, ts)
	}
	// Not in the sender's own account: its default bus has no such rule.
	_, err = sender.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("from-sender"), EventBusName: aws.String("central")})
	wantAPIError(t, "the rule in the sender's own account", err, "ResourceNotFoundException", "Event bus central does not exist.")

	// The rule routes the bus's events.
	pe, err := owner.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{EventBusName: aws.String("central"),
		Source: aws.String("app.orders"), DetailType: aws.String("Order"), Detail: aws.String(`{"n":1}`)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	var ev event
	if got := rcv.waitFor(t, 1, 15*time.Second); json.Unmarshal(got[0], &ev) != nil || ev.ID != aws.ToString(pe.Entries[0].EventId) {
		t.Fatalf("event delivered by the sender's rule: %s", got[0])
	}

	// The owner's own rule on the bus is not the sender's to change
	// (events:creatorAccount is the owner's).
	mustRule(t, owner, "central", "owners", `{"source":["app.orders"]}`, rcv.URL)
	_, err = sender.DisableRule(cx, &eventbridge.DisableRuleInput{Name: aws.String("owners"), EventBusName: busARN})
	wantAPIError(t, "DisableRule of the owner's rule", err, "AccessDeniedException",
		denied("arn:aws:iam::111122223333:root", "DisableRule", "arn:aws:events:us-east-1:123456789012:rule/central/owners",
			"no resource-based policy allows the events:DisableRule action"))
	_, err = putRule(sender, "owners", `{"source":["app.orders"]}`)
	wantAPIError(t, "PutRule replacing the owner's rule", err, "AccessDeniedException",
		denied("arn:aws:iam::111122223333:root", "PutRule", "arn:aws:events:us-east-1:123456789012:rule/central/owners",
			"no resource-based policy allows the events:PutRule action"))

	// Its own rule it manages to the end; replacing it keeps the creator.
	if _, err := sender.DisableRule(cx, &eventbridge.DisableRuleInput{Name: aws.String("from-sender"), EventBusName: busARN}); err != nil {
		t.Fatal(err)
	}
	if _, err := putRule(sender, "from-sender", `{"source":["app.orders"],"detail-type":["Order"]}`); err != nil {
		t.Fatal(err)
	}
	if d, err := owner.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("from-sender"), EventBusName: aws.String("central")}); err != nil ||
		aws.ToString(d.CreatedBy) != "111122223333" {
		t.Fatalf("DescribeRule after PutRule replaced it: %v %+v", err, d)
	}
	if _, err := sender.RemoveTargets(cx, &eventbridge.RemoveTargetsInput{Rule: aws.String("from-sender"), EventBusName: busARN,
		Ids: []string{"hook"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.DeleteRule(cx, &eventbridge.DeleteRuleInput{Name: aws.String("from-sender"), EventBusName: busARN}); err != nil {
		t.Fatal(err)
	}
	_, err = owner.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("from-sender"), EventBusName: aws.String("central")})
	wantAPIError(t, "DescribeRule after DeleteRule", err, "ResourceNotFoundException", "Rule from-sender does not exist on EventBus central.")
}

// TestCrossRegionRule: an account names its own bus of another region by
// the bus's ARN and the rule is made there, with no bus policy needed
// ("reference cross-account or cross-Region event buses through the
// APIs", Permissions for event buses in Amazon EventBridge).
func TestCrossRegionRule(t *testing.T) {
	s, _ := startAuthServer(t, crossKeys)
	east := s.signedClient("AKIAOWNEREXAMPLE", "owner-secret", "", "us-east-1")
	west := s.signedClient("AKIAOWNEREXAMPLE", "owner-secret", "", "eu-west-1")
	cx := ctx(t)
	bus, err := west.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("regional")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := east.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: bus.EventBusArn, EventPattern: aws.String(`{"source":["x"]}`)})
	if want := "arn:aws:events:eu-west-1:123456789012:rule/regional/r"; err != nil || aws.ToString(out.RuleArn) != want {
		t.Fatalf("PutRule from us-east-1 on the eu-west-1 bus: %v %+v, want %s", err, out, want)
	}
	d, err := west.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("r"), EventBusName: aws.String("regional")})
	if err != nil || aws.ToString(d.CreatedBy) != "123456789012" {
		t.Fatalf("DescribeRule in eu-west-1: %v %+v", err, d)
	}
	// A bus of another region that does not exist.
	_, err = east.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("arn:aws:events:eu-west-1:123456789012:event-bus/nope"),
		EventPattern: aws.String(`{"source":["x"]}`)})
	wantAPIError(t, "PutRule on a missing bus of another region", err, "ResourceNotFoundException", "Event bus nope does not exist.")
}
