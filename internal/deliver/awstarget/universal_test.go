package awstarget

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

func TestParseUniversal(t *testing.T) {
	for _, tc := range []struct {
		arn             string
		service, action string
		ok, bad         bool
	}{
		{"arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "sqs", "SendMessage", true, false},
		{"arn:aws:scheduler:::aws-sdk:dynamodb:putItem", "dynamodb", "PutItem", true, false},
		{"arn:aws:scheduler:::aws-sdk:sns:publish", "sns", "Publish", true, false},
		{"arn:aws:scheduler:::aws-sdk:sfn:startExecution", "sfn", "StartExecution", true, false},
		{"arn:aws:scheduler:::aws-sdk:s3:putObject", "", "", true, true},
		{"arn:aws:scheduler:::aws-sdk:sqs:receiveMessage", "", "", true, true},
		{"arn:aws:scheduler:::aws-sdk:dynamodb:getItem", "", "", true, true},
		{"arn:aws:scheduler:::aws-sdk:dynamodb:batchWriteItem", "", "", true, true},
		{"arn:aws:scheduler:::aws-sdk:sqs:", "", "", true, true},
		{"arn:aws:scheduler:::aws-sdk:sqs", "", "", true, true},
		{"arn:aws:scheduler:::aws-sdk:sqs:Send-Message", "", "", true, true},
		{"arn:aws:sqs:us-east-1:123456789012:q", "", "", false, false},
	} {
		s, a, ok, err := ParseUniversal(tc.arn)
		if ok != tc.ok || (err != nil) != tc.bad || s != tc.service || a != tc.action {
			t.Errorf("ParseUniversal(%q) = %q %q %v %v", tc.arn, s, a, ok, err)
		}
	}
	// "Getaway" is not a read-only action: the prefix must end a word.
	if _, _, _, err := ParseUniversal("arn:aws:scheduler:::aws-sdk:sqs:getawayMessage"); err != nil {
		t.Errorf("getawayMessage refused: %v", err)
	}
}

func TestFlattenQuery(t *testing.T) {
	var members map[string]json.RawMessage
	_ = json.Unmarshal([]byte(`{"TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Message":"hi","Subject":null,"N":3,"L":["a","b"],"S":{"K":"v"}}`), &members)
	form := url.Values{}
	for k, v := range members {
		if err := flattenQuery(form, k, v); err != nil {
			t.Fatal(err)
		}
	}
	want := url.Values{"TopicArn": {"arn:aws:sns:us-east-1:123456789012:t"}, "Message": {"hi"}, "N": {"3"},
		"L.member.1": {"a"}, "L.member.2": {"b"}, "S.K": {"v"}}
	if form.Encode() != want.Encode() {
		t.Fatalf("got %s, want %s", form.Encode(), want.Encode())
	}
}

func TestAnswerCode(t *testing.T) {
	for _, tc := range []struct {
		header http.Header
		body   string
		want   string
	}{
		{http.Header{"X-Amzn-Errortype": {"ResourceNotFoundException:http://internal"}}, "", "ResourceNotFoundException"},
		{http.Header{}, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"x"}`, "ResourceNotFoundException"},
		{http.Header{}, `<ErrorResponse><Error><Code>NotFound</Code></Error></ErrorResponse>`, "NotFound"},
		{http.Header{}, `garbage`, ""},
	} {
		if got := answerCode(tc.header, []byte(tc.body)); got != tc.want {
			t.Errorf("answerCode(%v, %q) = %q, want %q", tc.header, tc.body, got, tc.want)
		}
	}
}

// EventBridge Scheduler's KinesisParameters.PartitionKey is the key
// itself; EventBridge's PartitionKeyPath is a path into the event.
func TestSchedulePartitionKey(t *testing.T) {
	key := "orders-$.detail.id"
	inv := &deliver.Invocation{RuleArn: "arn:aws:scheduler:us-east-1:123456789012:schedule/default/s", Event: []byte(`{"id":"e"}`),
		Target: &control.Target{KinesisParameters: &control.KinesisParameters{PartitionKeyPath: &key}}}
	if got := partitionKey(inv); got != key {
		t.Fatalf("schedule: %q", got)
	}
	path := "$.detail.id"
	rule := &deliver.Invocation{RuleArn: "arn:aws:events:us-east-1:123456789012:rule/r", Event: []byte(`{"id":"e","detail":{"id":"42"}}`),
		Target: &control.Target{KinesisParameters: &control.KinesisParameters{PartitionKeyPath: &path}}}
	if got := partitionKey(rule); got != "42" {
		t.Fatalf("rule: %q", got)
	}
}
