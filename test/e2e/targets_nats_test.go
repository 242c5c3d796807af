package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs a NATS server with JetStream on a loopback port inside
// the test process: the external server switchyard's --nats-url points
// at, and that the test's own subscribers connect to.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

// TestNATSSubjectTarget publishes matched events on NATS subjects: core
// NATS for a plain subject, JetStream (acknowledged, deduplicated by the
// task id) for a subject a stream captures.
func TestNATSSubjectTarget(t *testing.T) {
	url := startNATS(t)
	s := startServer(t, "--nats-url", url)
	c := s.client(acct, "eu-west-1")
	cx := ctx(t)

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("orders.created")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	stream, err := js.CreateStream(cx, jetstream.StreamConfig{Name: "AUDIT", Subjects: []string{"audit.>"}})
	if err != nil {
		t.Fatal(err)
	}

	arn := func(subj string) string {
		return fmt.Sprintf("arn:aws:events:eu-west-1:%s:nats-subject/%s", acct, subj)
	}
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("orders"),
		EventPattern: aws.String(`{"source":["app.orders"]}`)}); err != nil {
		t.Fatal(err)
	}
	// Subjects that would reach into Switchyard's streams or the server's
	// APIs are refused.
	for _, subj := range []string{"sy.events." + acct + ".eu-west-1.default", "$JS.API.STREAM.DELETE.AUDIT", "orders.*", "a..b"} {
		_, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("orders"),
			Targets: []types.Target{{Id: aws.String("bad"), Arn: aws.String(arn(subj))}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
			t.Errorf("PutTargets on subject %q: %v, want ValidationException", subj, err)
		}
	}
	pt, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("orders"), Targets: []types.Target{
		{Id: aws.String("core"), Arn: aws.String(arn("orders.created"))},
		{Id: aws.String("js"), Arn: aws.String(arn("audit.orders")), Input: aws.String(`{"audited":true}`)},
	}})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, pt)
	}
	out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(`{"id":7}`)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	id := aws.ToString(out.Entries[0].EventId)
	ruleArn := "arn:aws:events:eu-west-1:" + acct + ":rule/orders"

	msg, err := sub.NextMsg(15 * time.Second)
	if err != nil {
		t.Fatalf("core subject: %v\n%s", err, s.logs())
	}
	var ev event
	if err := json.Unmarshal(msg.Data, &ev); err != nil || ev.ID != id || ev.Source != "app.orders" {
		t.Errorf("core subject got %s (%v), want event %s", msg.Data, err, id)
	}
	if h := msg.Header.Get("Switchyard-Rule-Arn"); h != ruleArn {
		t.Errorf("Switchyard-Rule-Arn = %q, want %s", h, ruleArn)
	}
	if h := msg.Header.Get("Switchyard-Event-Id"); h != id {
		t.Errorf("Switchyard-Event-Id = %q, want %s", h, id)
	}

	var stored *jetstream.RawStreamMsg
	eventually(t, "the event in stream AUDIT", func() bool {
		stored, err = stream.GetLastMsgForSubject(cx, "audit.orders")
		return err == nil
	})
	if string(stored.Data) != `{"audited":true}` {
		t.Errorf("stream got %s, want the target's Input", stored.Data)
	}
	if h := stored.Header.Get(jetstream.MsgIDHeader); h == "" {
		t.Error("JetStream publish without Nats-Msg-Id: a retry would be stored twice")
	}
	if h := stored.Header.Get("Switchyard-Event-Id"); h != id {
		t.Errorf("Switchyard-Event-Id = %q, want %s", h, id)
	}
}
