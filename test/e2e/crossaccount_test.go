package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchyard/switchyard/internal/testpeer"
)

// Keys of three principals, signing for real: the owner of a central bus,
// a sender in another account, and a user of the sender's account held to
// an identity policy.
const crossKeys = `keys:
  - access_key_id: AKIAOWNEREXAMPLE
    secret_access_key: owner-secret
    account: "123456789012"
  - access_key_id: AKIASENDEREXAMPLE
    secret_access_key: sender-secret
    account: "111122223333"
    organization: o-exampleorg1
  - access_key_id: AKIABOBEXAMPLE
    secret_access_key: bob-secret
    account: "111122223333"
    principal: bob
    policies:
      - Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: ["events:PutEvents", "events:Describe*", "events:List*"]
            Resource: "*"
            Condition:
              StringEquals: {"events:source": "app.allowed"}
          - Effect: Allow
            Action: ["events:DescribeEventBus", "events:ListEventBuses"]
            Resource: "*"
`

// TestCrossAccountPutEvents: another account's PutEvents to a bus by ARN is
// refused until the bus's policy allows that account (PutPermission), lands
// with the sender's account in the event, and is refused again after
// RemovePermission.
func TestCrossAccountPutEvents(t *testing.T) {
	s, _ := startAuthServer(t, crossKeys)
	owner := s.signedClient("AKIAOWNEREXAMPLE", "owner-secret", "", "us-east-1")
	sender := s.signedClient("AKIASENDEREXAMPLE", "sender-secret", "", "us-east-1")
	cx := ctx(t)
	bus, err := owner.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("central")})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	mustRule(t, owner, "central", "all", `{"source":["app.orders"]}`, rcv.URL)
	put := func() (*eventbridge.PutEventsOutput, error) {
		return sender.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			EventBusName: bus.EventBusArn, Source: aws.String("app.orders"), DetailType: aws.String("Order"),
			Detail: aws.String(`{"n":1}`)}}})
	}
	denied := "User: arn:aws:iam::111122223333:root is not authorized to perform: events:PutEvents on resource: " +
		aws.ToString(bus.EventBusArn) + " because no resource-based policy allows the events:PutEvents action"
	_, err = put()
	wantAPIError(t, "PutEvents before PutPermission", err, "AccessDeniedException", denied)

	if _, err := owner.PutPermission(cx, &eventbridge.PutPermissionInput{EventBusName: aws.String("central"),
		Action: aws.String("events:PutEvents"), Principal: aws.String("111122223333"), StatementId: aws.String("sender")}); err != nil {
		t.Fatal(err)
	}
	out, err := put()
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents after PutPermission: %v %+v", err, out)
	}
	got := rcv.waitFor(t, 1, 15*time.Second)
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil || ev.ID != aws.ToString(out.Entries[0].EventId) || ev.Account != "111122223333" {
		t.Fatalf("event on the owner's bus: %s (want id %s, account 111122223333)", got[0], aws.ToString(out.Entries[0].EventId))
	}

	// A third account the policy does not name is still refused.
	if _, err := owner.RemovePermission(cx, &eventbridge.RemovePermissionInput{EventBusName: aws.String("central"),
		StatementId: aws.String("sender")}); err != nil {
		t.Fatal(err)
	}
	_, err = put()
	wantAPIError(t, "PutEvents after RemovePermission", err, "AccessDeniedException", denied)
}

// TestCrossAccountBusTarget: a rule of one account whose target is another
// account's bus delivers there once that bus's policy allows the rule's
// account, the event keeping its sender's account; refused, the delivery
// fails for good into the target's dead-letter queue, with
// AccessDeniedException.
func TestCrossAccountBusTarget(t *testing.T) {
	moto := startMoto(t)
	q := testpeer.SQS(moto, "us-east-1")
	dlqArn, dlqURL := testpeer.CreateQueue(t, q, "cross-account-dlq")
	path := t.TempDir() + "/credentials.yaml"
	writeCredentials(t, path, crossKeys)
	s := startServer(t, "--auth", "sigv4", "--credentials-file", path, "--aws-endpoint", "sqs="+moto, "--retry-base-delay", "100ms")
	owner := s.signedClient("AKIAOWNEREXAMPLE", "owner-secret", "", "us-east-1")
	sender := s.signedClient("AKIASENDEREXAMPLE", "sender-secret", "", "us-east-1")
	cx := ctx(t)
	bus, err := owner.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("central")})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	mustRule(t, owner, "central", "all", `{"source":["app.fwd"]}`, rcv.URL)
	if _, err := sender.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("to-central"), EventPattern: aws.String(`{"source":["app.fwd"]}`)}); err != nil {
		t.Fatal(err)
	}
	pt, err := sender.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("to-central"), Targets: []types.Target{{
		Id: aws.String("central"), Arn: bus.EventBusArn, DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}}})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, pt)
	}
	put := func(n int) string {
		out, err := sender.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String("app.fwd"), DetailType: aws.String("Fwd"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, n))}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		return aws.ToString(out.Entries[0].EventId)
	}

	// No policy: the delivery is refused, once, into the DLQ.
	refused := put(1)
	var msg string
	eventually(t, "the refused event in the dead-letter queue", func() bool {
		r, err := q.ReceiveMessage(cx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MessageAttributeNames: []string{"All"},
			WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			if strings.Contains(aws.ToString(m.Body), refused) {
				if code := aws.ToString(m.MessageAttributes["ERROR_CODE"].StringValue); code != "AccessDeniedException" {
					t.Errorf("DLQ ERROR_CODE %q, want AccessDeniedException", code)
				}
				msg = aws.ToString(m.MessageAttributes["ERROR_MESSAGE"].StringValue)
				return true
			}
		}
		return false
	})
	if !strings.Contains(msg, "arn:aws:iam::111122223333:root is not authorized to perform: events:PutEvents") {
		t.Errorf("DLQ ERROR_MESSAGE %q", msg)
	}
	if n := len(rcv.received()); n != 0 {
		t.Fatalf("the owner's bus got %d events without a policy allowing them", n)
	}

	// Allowed, to every account of the sender's organization (the
	// credentials file says which that is): the event arrives on the
	// owner's bus with the sender's account.
	if _, err := owner.PutPermission(cx, &eventbridge.PutPermissionInput{EventBusName: aws.String("central"),
		Action: aws.String("events:PutEvents"), Principal: aws.String("*"), StatementId: aws.String("org"),
		Condition: &types.Condition{Type: aws.String("StringEquals"), Key: aws.String("aws:PrincipalOrgID"), Value: aws.String("o-exampleorg1")}}); err != nil {
		t.Fatal(err)
	}
	allowed := put(2)
	got := rcv.waitFor(t, 1, 15*time.Second)
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil || ev.ID != allowed || ev.Account != "111122223333" {
		t.Fatalf("forwarded event: %s (want id %s, account 111122223333)", got[0], allowed)
	}
}

// TestIdentityPolicies: a key held to its identity policies may do what
// they allow and nothing else, each refusal AWS's AccessDeniedException
// naming the principal, the action and the resource; a PutEvents entry
// the policy's condition does not allow fails alone.
func TestIdentityPolicies(t *testing.T) {
	s, _ := startAuthServer(t, crossKeys)
	bob := s.signedClient("AKIABOBEXAMPLE", "bob-secret", "", "us-east-1")
	cx := ctx(t)
	_, err := bob.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("mine")})
	wantAPIError(t, "CreateEventBus", err, "AccessDeniedException",
		"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: events:CreateEventBus on resource: "+
			"arn:aws:events:us-east-1:111122223333:event-bus/mine because no identity-based policy allows the events:CreateEventBus action")
	if _, err := bob.DescribeEventBus(cx, &eventbridge.DescribeEventBusInput{}); err != nil {
		t.Fatalf("DescribeEventBus, allowed: %v", err)
	}
	out, err := bob.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("app.allowed"), DetailType: aws.String("t"), Detail: aws.String("{}")},
		{Source: aws.String("app.other"), DetailType: aws.String("t"), Detail: aws.String("{}")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 1 || out.Entries[0].EventId == nil || aws.ToString(out.Entries[1].ErrorCode) != "AccessDeniedException" {
		t.Fatalf("PutEvents with one entry the policy allows: %+v", out.Entries)
	}
	_, err = bob.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("app.other"), DetailType: aws.String("t"), Detail: aws.String("{}")}}})
	wantAPIError(t, "PutEvents with no entry allowed", err, "AccessDeniedException", "")
	// The owner of the account (a key without policies) is not bob.
	sender := s.signedClient("AKIASENDEREXAMPLE", "sender-secret", "", "us-east-1")
	if _, err := sender.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("mine")}); err != nil {
		t.Fatalf("the account's key without policies: %v", err)
	}
}
