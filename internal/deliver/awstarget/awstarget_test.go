package awstarget

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

// apiErr is an SDK error as a service answer produces it.
func apiErr(status int, code string) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "m"},
		},
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err       error
		code      string
		permanent bool
	}{
		{apiErr(400, "AWS.SimpleQueueService.NonExistentQueue"), "AWS.SimpleQueueService.NonExistentQueue", true},
		{apiErr(404, "ResourceNotFoundException"), "ResourceNotFoundException", true},
		{apiErr(403, "AccessDeniedException"), "AccessDeniedException", true},
		{apiErr(400, "InvalidParameterValue"), "InvalidParameterValue", true},
		{apiErr(400, "ThrottlingException"), "ThrottlingException", false},
		{apiErr(400, "ProvisionedThroughputExceededException"), "ProvisionedThroughputExceededException", false},
		{apiErr(429, "TooManyRequestsException"), "TooManyRequestsException", false},
		{apiErr(500, "InternalFailure"), "InternalFailure", false},
		{apiErr(503, "Whatever"), "Whatever", false},
		{apiErr(409, "ResourceConflictException"), "ResourceConflictException", false},
		{apiErr(400, "ExpiredTokenException"), "ExpiredTokenException", false},
		{errors.New("dial tcp: connection refused"), "SDK_CLIENT_ERROR", false},
		{context.DeadlineExceeded, "SDK_CLIENT_ERROR", false},
		// The SDK refused to send the request: it would refuse every retry.
		{&smithy.OperationError{ServiceID: "SQS", OperationName: "SendMessage", Err: invalidParams()}, "SDK_CLIENT_ERROR", true},
	} {
		var e *deliver.Error
		if !errors.As(classify(c.err), &e) {
			t.Fatalf("%v: not classified", c.err)
		}
		if e.Code != c.code || e.Permanent != c.permanent {
			t.Errorf("%v: code %s permanent %v, want %s %v", c.err, e.Code, e.Permanent, c.code, c.permanent)
		}
	}
	if classify(nil) != nil {
		t.Error("nil error classified")
	}
}

func TestPartitionKey(t *testing.T) {
	inv := &deliver.Invocation{Target: &control.Target{}, Event: []byte(`{"id":"e1","detail":{"k":"v"}}`)}
	if got := partitionKey(inv); got != "e1" {
		t.Errorf("no parameters: %q, want the event id", got)
	}
	p := "$.detail.k"
	inv.Target.KinesisParameters = &control.KinesisParameters{PartitionKeyPath: &p}
	if got := partitionKey(inv); got != "v" {
		t.Errorf("path: %q, want v", got)
	}
	p = "$.detail.none"
	if got := partitionKey(inv); got != "e1" {
		t.Errorf("missing path: %q, want the event id", got)
	}
}

func TestLogEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		in   string
		ts   time.Time
		want string
	}{
		{`{"id":"e1","detail":{}}`, at, `{"id":"e1","detail":{}}`},
		{`{"timestamp":"2015-11-11T21:29:54Z","message":"instance i-1 is in RUNNING"}`, time.Date(2015, 11, 11, 21, 29, 54, 0, time.UTC), "instance i-1 is in RUNNING"},
		{`{"timestamp":1700000000123,"message":"m"}`, time.UnixMilli(1700000000123), "m"},
		{`{"timestamp":"not a time","message":{"a":1}}`, at, `{"a":1}`},
		{`{"timestamp":1,"message":"m","other":1}`, at, `{"timestamp":1,"message":"m","other":1}`},
		{`"just text"`, at, `"just text"`},
	} {
		ts, msg := logEvent([]byte(c.in), at)
		if !ts.Equal(c.ts) || msg != c.want {
			t.Errorf("%s: %v %q, want %v %q", c.in, ts, msg, c.ts, c.want)
		}
	}
}

func TestTaskName(t *testing.T) {
	inv := &deliver.Invocation{Target: &control.Target{Id: "t"}, ID: "e1|arn:aws:events:us-east-1:1:rule/r|t"}
	a, b := taskName(inv), taskName(inv)
	if a != b || len(a) != 36 {
		t.Errorf("taskName %q %q: want a stable UUID-shaped name", a, b)
	}
	inv.ID = "e2|arn:aws:events:us-east-1:1:rule/r|t"
	if taskName(inv) == a {
		t.Error("different tasks share a name")
	}
}

func invalidParams() error {
	e := smithy.InvalidParamsError{Context: "SendMessageInput"}
	e.Add(smithy.NewErrParamRequired("QueueUrl"))
	return e
}
