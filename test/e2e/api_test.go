package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard/switchyard/internal/testpeer"
)

const acct = "111122223333"

// TestTutorialFlow is the flow every EventBridge tutorial shows: a bus, a
// rule with a pattern, a target, events in, the envelope out.
func TestTutorialFlow(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "eu-west-1")
	cx := ctx(t)
	rcv := newReceiver(t)

	bus, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(bus.EventBusArn), "arn:aws:events:eu-west-1:"+acct+":event-bus/orders"; got != want {
		t.Errorf("EventBusArn = %s, want %s", got, want)
	}
	rule, err := c.PutRule(cx, &eventbridge.PutRuleInput{
		Name:         aws.String("order-created"),
		EventBusName: aws.String("orders"),
		EventPattern: aws.String(`{"source":["app.orders"],"detail-type":["OrderCreated"]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(rule.RuleArn), "arn:aws:events:eu-west-1:"+acct+":rule/orders/order-created"; got != want {
		t.Errorf("RuleArn = %s, want %s", got, want)
	}
	pt, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{
		Rule: aws.String("order-created"), EventBusName: aws.String("orders"),
		Targets: []types.Target{{Id: aws.String("http"), Arn: aws.String(rcv.URL)}},
	})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, pt)
	}

	at := time.Date(2026, 3, 4, 5, 6, 7, 800_000_000, time.UTC)
	out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{EventBusName: aws.String("orders"), Source: aws.String("app.orders"), DetailType: aws.String("OrderCreated"),
			Detail: aws.String(`{"orderId":"o-1","total":42.5,"items":[{"sku":"a"}]}`), Time: aws.Time(at),
			Resources: []string{"arn:aws:app:::order/o-1"}},
		{EventBusName: aws.String("orders"), Source: aws.String("app.orders"), DetailType: aws.String("OrderShipped"),
			Detail: aws.String(`{"orderId":"o-1"}`)},
		{EventBusName: aws.String("arn:aws:events:eu-west-1:" + acct + ":event-bus/orders"), Source: aws.String("app.billing"),
			DetailType: aws.String("OrderCreated"), Detail: aws.String(`{}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 || len(out.Entries) != 3 {
		t.Fatalf("PutEvents: %+v", out)
	}
	rcv.waitFor(t, 1, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // the two non-matching events must not arrive
	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("received %d events, want 1: %s", len(got), got)
	}
	// A call with a single entry is stored in the one-event form; it must
	// be delivered the same way.
	one, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{EventBusName: aws.String("orders"), Source: aws.String("app.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(`{"single":true}`)}}})
	if err != nil || one.FailedEntryCount != 0 {
		t.Fatal(err, one)
	}
	if all := rcv.waitFor(t, 2, 10*time.Second); !strings.Contains(string(all[1]), aws.ToString(one.Entries[0].EventId)) {
		t.Errorf("single-entry event not delivered: %s", all[1])
	}
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil {
		t.Fatal(err)
	}
	want := event{Version: "0", ID: aws.ToString(out.Entries[0].EventId), DetailType: "OrderCreated", Source: "app.orders",
		Account: acct, Time: "2026-03-04T05:06:07Z", Region: "eu-west-1", Resources: []string{"arn:aws:app:::order/o-1"}}
	if ev.Version != want.Version || ev.ID != want.ID || ev.DetailType != want.DetailType || ev.Source != want.Source ||
		ev.Account != want.Account || ev.Time != want.Time || ev.Region != want.Region || fmt.Sprint(ev.Resources) != fmt.Sprint(want.Resources) {
		t.Errorf("envelope = %+v\nwant      %+v", ev, want)
	}
	var detail map[string]any
	if err := json.Unmarshal(ev.Detail, &detail); err != nil || detail["orderId"] != "o-1" || detail["total"] != 42.5 {
		t.Errorf("detail = %s (%v)", ev.Detail, err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(ev.ID) {
		t.Errorf("id %q is not a UUID", ev.ID)
	}
}

// TestDeliveredEventsAreCompact: targets get the event as compact JSON,
// as AWS sends it, whatever spacing the caller's Detail had; and spaces
// and escaped quotes inside strings are kept as they were sent.
func TestDeliveredEventsAreCompact(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "eu-west-1")
	cx := ctx(t)
	rcv := newReceiver(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventPattern: aws.String(`{"source":["app.compact"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("all"),
		Targets: []types.Target{{Id: aws.String("http"), Arn: aws.String(rcv.URL)}}}); err != nil {
		t.Fatal(err)
	}
	details := map[string]string{ // as sent → as delivered
		"{ \"n\" : [ 1, 2 ],\n\t\"s\": \"x  y\" }": `{"n":[1,2],"s":"x  y"}`,
		`{"s":"a \" b ","t":"\\","u":{"v":" "}}`:   `{"s":"a \" b ","t":"\\","u":{"v":" "}}`,
		`{"t":"\\", "u":"\\\" "}`:                  `{"t":"\\","u":"\\\" "}`,
	}
	want := map[string]string{} // event id → delivered detail
	for sent, delivered := range details {
		// alone (a one-event message) and with another (a batch)
		for _, n := range []int{1, 2} {
			var entries []types.PutEventsRequestEntry
			for range n {
				entries = append(entries, types.PutEventsRequestEntry{Source: aws.String("app.compact"), DetailType: aws.String("Spaced Out"), Detail: aws.String(sent)})
			}
			out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries})
			if err != nil || out.FailedEntryCount != 0 {
				t.Fatalf("PutEvents: %v %+v", err, out)
			}
			for _, e := range out.Entries {
				want[aws.ToString(e.EventId)] = delivered
			}
		}
	}
	for _, b := range rcv.waitFor(t, len(want), 10*time.Second) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil || !bytes.Equal(compact.Bytes(), b) {
			t.Errorf("delivered event is not compact JSON (%v): %s", err, b)
		}
		var ev struct {
			ID     string          `json:"id"`
			Detail json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		if string(ev.Detail) != want[ev.ID] {
			t.Errorf("event %s: detail %s, want %s", ev.ID, ev.Detail, want[ev.ID])
		}
	}
}

// apiError asserts err is the SDK's typed error T with AWS's message.
func apiError[T smithy.APIError](t *testing.T, err error, message string) {
	t.Helper()
	var typed T
	if !errors.As(err, &typed) {
		t.Fatalf("error = %v (%T), want %T", err, err, typed)
	}
	if typed.ErrorMessage() != message {
		t.Errorf("message = %q\nwant      %q", typed.ErrorMessage(), message)
	}
}

func TestErrorsAreTypedAsAWS(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)

	_, err := c.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("missing")})
	apiError[*types.ResourceNotFoundException](t, err, "Rule missing does not exist on EventBus default.")

	_, err = c.DescribeEventBus(cx, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	apiError[*types.ResourceNotFoundException](t, err, "Event bus nope does not exist.")

	_, err = c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("default")})
	apiError[*types.ResourceAlreadyExistsException](t, err, "Event bus default already exists.")

	_, err = c.DeleteEventBus(cx, &eventbridge.DeleteEventBusInput{Name: aws.String("default")})
	var ve smithy.APIError
	if !errors.As(err, &ve) || ve.ErrorCode() != "ValidationException" || ve.ErrorMessage() != "Cannot delete event bus default." {
		t.Errorf("DeleteEventBus(default) = %v", err)
	}

	_, err = c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":"x"}`)})
	var ip *types.InvalidEventPatternException
	if !errors.As(err, &ip) || !strings.HasPrefix(ip.ErrorMessage(), "Event pattern is not valid. Reason: ") {
		t.Errorf("PutRule with a non-array leaf = %v", err)
	}

	_, err = c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("bad name"), EventPattern: aws.String(`{"source":["x"]}`)})
	if !errors.As(err, &ve) || ve.ErrorCode() != "ValidationException" || ve.ErrorMessage() !=
		`1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+` {
		t.Errorf("PutRule(bad name) = %v", err)
	}

	_, err = c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r")})
	if !errors.As(err, &ve) || ve.ErrorMessage() != "Parameter(s) EventPattern or ScheduleExpression must be specified." {
		t.Errorf("PutRule without pattern or schedule = %v", err)
	}

	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("t"), Arn: aws.String("http://127.0.0.1:1/")}}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteRule(cx, &eventbridge.DeleteRuleInput{Name: aws.String("r")})
	if !errors.As(err, &ve) || ve.ErrorMessage() != "Rule can't be deleted since it has targets." {
		t.Errorf("DeleteRule with targets = %v", err)
	}
	if _, err := c.DeleteRule(cx, &eventbridge.DeleteRuleInput{Name: aws.String("r"), Force: true}); err != nil {
		t.Errorf("DeleteRule with Force: %v", err)
	}

	_, err = c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("gone"), Targets: []types.Target{{Id: aws.String("t"), Arn: aws.String("http://x/")}}})
	apiError[*types.ResourceNotFoundException](t, err, "Rule gone does not exist on EventBus default.")

	// PutEvents: per-entry failures come with HTTP 200.
	out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{DetailType: aws.String("d"), Detail: aws.String("{}")},
		{Source: aws.String("s"), Detail: aws.String("{}")},
		{Source: aws.String("s"), DetailType: aws.String("d")},
		{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String(`["not an object"]`)},
		{Source: aws.String("aws.ec2"), DetailType: aws.String("d"), Detail: aws.String("{}")},
		{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}"), EventBusName: aws.String("nope")},
		{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	type res struct{ code, msg string }
	want := []res{
		{"InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."},
		{"InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."},
		{"InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."},
		{"MalformedDetail", "Detail is malformed."},
		{"NotAuthorizedForSourceException", "Not authorized for the source."},
		{"ResourceNotFoundException", "Event bus nope does not exist."},
		{"", ""},
	}
	if out.FailedEntryCount != 6 {
		t.Errorf("FailedEntryCount = %d, want 6", out.FailedEntryCount)
	}
	for i, w := range want {
		e := out.Entries[i]
		if got := (res{aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)}); got != w {
			t.Errorf("entry %d = %+v, want %+v", i, got, w)
		}
		if (w.code == "") != (aws.ToString(e.EventId) != "") {
			t.Errorf("entry %d EventId = %q", i, aws.ToString(e.EventId))
		}
	}

	entries := make([]types.PutEventsRequestEntry, 11)
	for i := range entries {
		entries[i] = types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}")}
	}
	_, err = c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries})
	if !errors.As(err, &ve) || ve.ErrorCode() != "ValidationException" || !strings.Contains(ve.ErrorMessage(), "at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10") {
		t.Errorf("PutEvents with 11 entries = %v", err)
	}
	big := `{"x":"` + strings.Repeat("a", 1<<20) + `"}`
	_, err = c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String(big)}}})
	if !errors.As(err, &ve) || ve.ErrorCode() != "ValidationException" {
		t.Errorf("PutEvents over 1 MiB = %v", err)
	}
}

// TestScopesAreIsolated: accounts and regions share nothing.
func TestScopesAreIsolated(t *testing.T) {
	s := startServer(t)
	cx := ctx(t)
	clients := map[string]*eventbridge.Client{
		"a/us-east-1": s.client("111111111111", "us-east-1"),
		"a/eu-west-1": s.client("111111111111", "eu-west-1"),
		"b/us-east-1": s.client("222222222222", "us-east-1"),
	}
	for name, c := range clients {
		if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("shared-name")}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("only-" + strings.ReplaceAll(name, "/", "-")),
			EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, c := range clients {
		rules, err := c.ListRules(cx, &eventbridge.ListRulesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rules.Rules) != 1 || aws.ToString(rules.Rules[0].Name) != "only-"+strings.ReplaceAll(name, "/", "-") {
			t.Errorf("%s sees rules %+v", name, rules.Rules)
		}
		buses, err := c.ListEventBuses(cx, &eventbridge.ListEventBusesInput{})
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, b := range buses.EventBuses {
			arns = append(arns, aws.ToString(b.Arn))
		}
		acctID, region, _ := strings.Cut(name, "/")
		acctID = map[string]string{"a": "111111111111", "b": "222222222222"}[acctID]
		want := []string{"arn:aws:events:" + region + ":" + acctID + ":event-bus/default", "arn:aws:events:" + region + ":" + acctID + ":event-bus/shared-name"}
		if fmt.Sprint(arns) != fmt.Sprint(want) {
			t.Errorf("%s buses = %v, want %v", name, arns, want)
		}
	}
}

// TestBusTargetForwards: a rule whose target is another bus delivers there.
func TestBusTargetForwards(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-west-2")
	cx := ctx(t)
	rcv := newReceiver(t)
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("downstream")}); err != nil {
		t.Fatal(err)
	}
	mustRule(t, c, "default", "to-downstream", `{"source":["app"]}`, "arn:aws:events:us-west-2:"+acct+":event-bus/downstream")
	mustRule(t, c, "downstream", "to-http", `{"detail":{"n":[{"numeric":[">",1]}]}}`, rcv.URL)
	out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("app"), DetailType: aws.String("d"), Detail: aws.String(`{"n":2}`)},
		{Source: aws.String("app"), DetailType: aws.String("d"), Detail: aws.String(`{"n":1}`)},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatal(err, out)
	}
	rcv.waitFor(t, 1, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("received %d, want 1", len(got))
	}
	var ev event
	_ = json.Unmarshal(got[0], &ev)
	if ev.ID != aws.ToString(out.Entries[0].EventId) {
		t.Errorf("forwarded event id %s, want %s", ev.ID, aws.ToString(out.Entries[0].EventId))
	}
}

func mustRule(t testing.TB, c *eventbridge.Client, bus, name, pattern, targetArn string) {
	t.Helper()
	cx := ctx(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus),
		Targets: []types.Target{{Id: aws.String("t1"), Arn: aws.String(targetArn)}}}); err != nil {
		t.Fatal(err)
	}
}

// TestStateSurvivesRestart: buses, rules, targets and tags are all there
// after a graceful restart.
func TestStateSurvivesRestart(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("b1"), Description: aws.String("first"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}}); err != nil {
		t.Fatal(err)
	}
	mustRule(t, c, "b1", "r1", `{"source":["a"]}`, "http://127.0.0.1:9/")
	ruleArn := "arn:aws:events:us-east-1:" + acct + ":rule/b1/r1"
	if _, err := c.TagResource(cx, &eventbridge.TagResourceInput{ResourceARN: aws.String(ruleArn), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableRule(cx, &eventbridge.DisableRuleInput{Name: aws.String("r1"), EventBusName: aws.String("b1")}); err != nil {
		t.Fatal(err)
	}

	s.stop()
	s.restart()
	c = s.client(acct, "us-east-1")

	b, err := c.DescribeEventBus(cx, &eventbridge.DescribeEventBusInput{Name: aws.String("b1")})
	if err != nil || aws.ToString(b.Description) != "first" {
		t.Fatalf("bus after restart: %v %+v", err, b)
	}
	r, err := c.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("b1")})
	if err != nil || r.State != types.RuleStateDisabled || aws.ToString(r.EventPattern) != `{"source":["a"]}` {
		t.Fatalf("rule after restart: %v %+v", err, r)
	}
	ts, err := c.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r1"), EventBusName: aws.String("b1")})
	if err != nil || len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].Arn) != "http://127.0.0.1:9/" {
		t.Fatalf("targets after restart: %v %+v", err, ts)
	}
	tags, err := c.ListTagsForResource(cx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(ruleArn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "k" {
		t.Fatalf("rule tags after restart: %v %+v", err, tags)
	}
	btags, err := c.ListTagsForResource(cx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:" + acct + ":event-bus/b1")})
	if err != nil || len(btags.Tags) != 1 || aws.ToString(btags.Tags[0].Value) != "core" {
		t.Fatalf("bus tags after restart: %v %+v", err, btags)
	}
}

// TestListPaging walks ListRules and ListEventBuses with Limit/NextToken.
func TestListPaging(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	var want []string
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("rule-%02d", i)
		want = append(want, name)
		if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("other"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	pages := 0
	var token *string
	for {
		out, err := c.ListRules(cx, &eventbridge.ListRulesInput{NamePrefix: aws.String("rule-"), Limit: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Rules {
			got = append(got, aws.ToString(r.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Errorf("paged rules = %v in %d pages, want %v in 3", got, pages, want)
	}
}

// An event-bus target whose text InputTransformer makes something that is
// not an event cannot put it on the bus: the delivery fails at once, with no
// retry, and is dead-lettered with the reason; the bus's rules see nothing.
func TestBusTargetRefusesWhatIsNotAnEvent(t *testing.T) {
	moto := testpeer.Moto(t)
	q := testpeer.SQS(moto, "us-west-2")
	dlqArn, dlqURL := testpeer.CreateQueue(t, q, "not-an-event-dlq")
	s := startServer(t, "--aws-endpoint", "sqs="+moto)
	c := s.client(acct, "us-west-2")
	cx := ctx(t)
	rcv := newReceiver(t)
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("downstream")}); err != nil {
		t.Fatal(err)
	}
	mustRule(t, c, "downstream", "everything", `{"source":[{"prefix":""}]}`, rcv.URL)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("shaped"), EventPattern: aws.String(`{"source":["app"]}`)}); err != nil {
		t.Fatal(err)
	}
	busArn := "arn:aws:events:us-west-2:" + acct + ":event-bus/downstream"
	if out, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("shaped"), Targets: []types.Target{{
		Id: aws.String("bus"), Arn: aws.String(busArn),
		InputTransformer: &types.InputTransformer{InputPathsMap: map[string]string{"n": "$.detail.n"},
			InputTemplate: aws.String(`"order <n> is in"`)},
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)},
	}}}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	if out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("app"), DetailType: aws.String("d"), Detail: aws.String(`{"n":7}`)},
	}}); err != nil || out.FailedEntryCount != 0 {
		t.Fatal(err, out)
	}
	msgs := testpeer.Drain(t, q, dlqURL, 1, 20*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d dead letters, want 1\n%s", len(msgs), s.logs())
	}
	if a := msgs[0].Attrs; a["ERROR_CODE"] != "InvalidEvent" || a["TARGET_ARN"] != busArn || a["RETRY_ATTEMPTS"] != "0" {
		t.Errorf("dead-letter attributes %v", a)
	}
	if got := rcv.received(); len(got) != 0 {
		t.Errorf("the downstream bus's rule received %d events: %s", len(got), got)
	}
}
