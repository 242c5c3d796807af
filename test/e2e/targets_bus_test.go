package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// TestBusTargetOtherAccountAndRegion forwards events to buses of another
// account and of another region held by the same server. The event keeps
// its original account and region, as AWS forwards it; a bus that does
// not exist fails the delivery. The other account's bus lets the rule's
// account in with its policy (PutPermission); its own region's needs none.
func TestBusTargetOtherAccountAndRegion(t *testing.T) {
	const other = "444455556666"
	s := startServer(t)
	cx := ctx(t)
	src := s.client(acct, "eu-west-1")
	dstAcct := s.client(other, "us-east-1")
	dstRegion := s.client(acct, "ap-southeast-2")
	rcvAcct, rcvRegion := newReceiver(t), newReceiver(t)

	for _, d := range []struct {
		c   *eventbridge.Client
		rcv *receiver
	}{{dstAcct, rcvAcct}, {dstRegion, rcvRegion}} {
		if _, err := d.c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("inbox")}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String("inbox"),
			EventPattern: aws.String(`{"source":["app.src"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String("inbox"),
			Targets: []types.Target{{Id: aws.String("hook"), Arn: aws.String(d.rcv.URL)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dstAcct.PutPermission(cx, &eventbridge.PutPermissionInput{EventBusName: aws.String("inbox"),
		Action: aws.String("events:PutEvents"), Principal: aws.String(acct), StatementId: aws.String("src")}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("fwd"),
		EventPattern: aws.String(`{"source":["app.src"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("fwd"), Targets: []types.Target{
		{Id: aws.String("acct"), Arn: aws.String("arn:aws:events:us-east-1:" + other + ":event-bus/inbox")},
		{Id: aws.String("region"), Arn: aws.String("arn:aws:events:ap-southeast-2:" + acct + ":event-bus/inbox")},
		{Id: aws.String("missing"), Arn: aws.String("arn:aws:events:us-east-1:" + other + ":event-bus/nope")},
	}}); err != nil {
		t.Fatal(err)
	}
	out, err := src.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.src"), DetailType: aws.String("Moved"), Detail: aws.String(`{"k":1}`)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	id := aws.ToString(out.Entries[0].EventId)
	for name, rcv := range map[string]*receiver{"other account": rcvAcct, "other region": rcvRegion} {
		got := rcv.waitFor(t, 1, 15*time.Second)
		var ev event
		if err := json.Unmarshal(got[0], &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != id || ev.Account != acct || ev.Region != "eu-west-1" || ev.Source != "app.src" {
			t.Errorf("%s: got %s, want event %s from %s/eu-west-1", name, got[0], id, acct)
		}
	}
	eventually(t, "the missing bus in the log", func() bool {
		return strings.Contains(s.logs(), "Event bus nope does not exist")
	})
}
