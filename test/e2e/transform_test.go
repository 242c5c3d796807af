package e2e

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

// TestInputTransformerDocumentationExamples runs the user guide's input
// transformer examples ("Amazon EventBridge input transformation") through
// real rules to real HTTP targets and checks the exact bodies received.
// The guide's event comes from aws.ec2, a source PutEvents refuses, so
// the event here has another source and the guide's detail, time and
// resources.
func TestInputTransformerDocumentationExamples(t *testing.T) {
	s := startServer(t)
	const region = "us-east-2"
	c := s.client(acct, region)
	cx := ctx(t)
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("docs")}); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{
		"timestamp": "$.time",
		"instance":  "$.detail.instance-id",
		"state":     "$.detail.state",
		"resource":  "$.resources[0]",
	}
	type example struct {
		name     string
		target   types.Target
		want     string // with {EVENT}, the event as a plain target gets it, and {RULE_ARN}
		rcv      *receiver
		ruleName string
	}
	transformer := func(tmpl string) types.Target {
		return types.Target{InputTransformer: &types.InputTransformer{InputPathsMap: paths, InputTemplate: aws.String(tmpl)}}
	}
	examples := []*example{
		{name: "plain", want: "{EVENT}"},
		{name: "simple-string", target: transformer(`"instance <instance> is in <state>"`),
			want: `"instance i-0123456789 is in RUNNING"`},
		{name: "escaped-quotes", target: transformer(`"instance \"<instance>\" is in <state>"`),
			want: `"instance \"i-0123456789\" is in RUNNING"`},
		{name: "simple-json", target: transformer("{\n  \"instance\" : <instance>,\n  \"state\": <state>\n}"),
			want: `{"instance":"i-0123456789","state":"RUNNING"}`},
		{name: "strings-and-variables", target: transformer("{\n \"instance\" : <instance>,\n \"state\": \"<state>\",\n \"instanceStatus\": \"instance \\\"<instance>\\\" is in <state>\"\n}"),
			want: `{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \"i-0123456789\" is in RUNNING"}`},
		{name: "variables-and-static", target: transformer("{\n  \"instance\" : <instance>,\n  \"state\": [ 9, <state>, true ],\n  \"Transformed\" : \"Yes\"\n}"),
			want: `{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}`},
		{name: "reserved-in-json", target: transformer("{\n  \"instance\" : <instance>,\n  \"state\": <state>,\n  \"ruleArn\" : <aws.events.rule-arn>,\n  \"ruleName\" : <aws.events.rule-name>,\n  \"originalEvent\" : <aws.events.event.json>\n}"),
			want: `{"instance":"i-0123456789","state":"RUNNING","ruleArn":"{RULE_ARN}","ruleName":"reserved-in-json","originalEvent":{EVENT}}`},
		{name: "reserved-in-string", target: transformer(`"<aws.events.rule-name> triggered"`),
			want: `"reserved-in-string triggered"`},
		{name: "log-group", target: transformer("{\n  \"timestamp\" : <timestamp>,\n  \"message\": \"instance \\\"<instance>\\\" is in <state>\"\n}"),
			want: `{"timestamp":"2015-11-11T21:29:54Z","message":"instance \"i-0123456789\" is in RUNNING"}`},
		{name: "api-reference-text", target: transformer(`<instance> is in state "<state>"`),
			want: `i-0123456789 is in state "RUNNING"`},
		{name: "input-path", target: types.Target{InputPath: aws.String("$.detail")},
			want: `{"instance-id":"i-0123456789","state":"RUNNING"}`},
		{name: "input", target: types.Target{Input: aws.String(`{"fixed": ["text"]}`)},
			want: `{"fixed": ["text"]}`},
		{name: "ingestion-time", target: transformer(`{"at": <aws.events.event.ingestion-time>}`)},
	}
	for _, ex := range examples {
		ex.rcv = newReceiver(t)
		ex.ruleName = ex.name
		if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(ex.ruleName), EventBusName: aws.String("docs"),
			EventPattern: aws.String(`{"source":["docs.ec2"]}`)}); err != nil {
			t.Fatal(err)
		}
		tg := ex.target
		tg.Id, tg.Arn = aws.String("t"), aws.String(ex.rcv.URL)
		out, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String(ex.ruleName), EventBusName: aws.String("docs"), Targets: []types.Target{tg}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutTargets %s: %v %+v", ex.name, err, out)
		}
	}
	before := time.Now().UTC().Truncate(time.Second)
	if out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String("docs"), Source: aws.String("docs.ec2"), DetailType: aws.String("EC2 Instance State-change Notification"),
		Detail:    aws.String(`{"instance-id": "i-0123456789", "state": "RUNNING"}`),
		Time:      aws.Time(time.Date(2015, 11, 11, 21, 29, 54, 0, time.UTC)),
		Resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"},
	}, {
		// Matched by no rule: each target gets exactly one body.
		EventBusName: aws.String("docs"), Source: aws.String("docs.other"), DetailType: aws.String("x"), Detail: aws.String(`{}`),
	}}}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(s.logs())
		}
	})
	plain := string(examples[0].rcv.waitFor(t, 1, 10*time.Second)[0])
	for _, ex := range examples {
		got := ex.rcv.waitFor(t, 1, 10*time.Second)
		if len(got) != 1 {
			t.Errorf("%s: %d bodies", ex.name, len(got))
			continue
		}
		body := string(got[0])
		if ex.name == "ingestion-time" {
			m := regexp.MustCompile(`^\{"at":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"\}$`).FindStringSubmatch(body)
			if m == nil {
				t.Errorf("%s: body %s", ex.name, body)
				continue
			}
			at, _ := time.Parse(time.RFC3339, m[1])
			if at.Before(before) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("%s: ingestion time %s, want about %s", ex.name, at, before)
			}
			continue
		}
		ruleArn := fmt.Sprintf("arn:aws:events:%s:%s:rule/docs/%s", region, acct, ex.ruleName)
		if want := strings.NewReplacer("{EVENT}", plain, "{RULE_ARN}", ruleArn).Replace(ex.want); body != want {
			t.Errorf("%s:\n got  %s\n want %s", ex.name, body, want)
		}
	}
	if !strings.Contains(plain, `"detail":{"instance-id":"i-0123456789","state":"RUNNING"}`) {
		t.Errorf("plain event = %s", plain)
	}
}

// validationError asserts err is a ValidationException with AWS's message
// (the SDK has no typed error for it).
func validationError(t *testing.T, err error, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != message {
		t.Errorf("error = %v\nwant ValidationException: %s", err, message)
	}
}

// TestPutTargetsInputValidation checks PutTargets refuses shaping AWS
// refuses, with AWS's messages.
func TestPutTargetsInputValidation(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	put := func(tg types.Target) error {
		tg.Id, tg.Arn = aws.String("t-1"), aws.String("http://127.0.0.1:9/x")
		_, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{tg}})
		return err
	}
	err := put(types.Target{InputPath: aws.String("$.detail"), InputTransformer: &types.InputTransformer{InputTemplate: aws.String(`"x"`)}})
	validationError(t, err, "Only one of Input, InputPath, or InputTransformer must be provided for target t-1.")
	err = put(types.Target{InputTransformer: &types.InputTransformer{
		InputPathsMap: map[string]string{"detail-type": "$.detail-type"},
		InputTemplate: aws.String(`"Event of <detail-type> type, with not defined key <notdefinedkey>"`)}})
	validationError(t, err, "InputTemplate for target t-1 contains invalid placeholder notdefinedkey.")
	err = put(types.Target{Input: aws.String(`{"a":`)})
	validationError(t, err, "Input for target t-1 is not a valid JSON text.")
	err = put(types.Target{InputPath: aws.String("detail")})
	validationError(t, err, "InputPath for target t-1 is invalid.")

	list, err := c.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	if err != nil || len(list.Targets) != 0 {
		t.Errorf("targets after refused PutTargets: %v %+v", err, list)
	}
}
