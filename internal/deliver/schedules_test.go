package deliver

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestIsScheduleArn(t *testing.T) {
	for arn, want := range map[string]bool{
		"arn:aws:scheduler:us-east-1:123456789012:schedule/default/daily": true,
		"arn:aws-cn:scheduler:cn-north-1:123456789012:schedule/g.1/n-2":   true,
		"arn:aws:scheduler:us-east-1:123456789012:schedule-group/default": false,
		"arn:aws:events:us-east-1:123456789012:rule/daily":                false,
		"arn:aws:scheduler:::aws-sdk:sqs:sendMessage":                     false,
		"scheduler": false,
	} {
		if got := IsScheduleArn(arn); got != want {
			t.Errorf("IsScheduleArn(%q) = %v", arn, got)
		}
	}
}

func TestScheduleAttempt(t *testing.T) {
	in := []byte(`{"n":"<aws.scheduler.attempt-number>","id":"<aws.scheduler.execution-id>","again":"<aws.scheduler.attempt-number>","t":"<aws.scheduler.scheduled-time>"}`)
	a := string(scheduleAttempt(in, "task", 1))
	b := string(scheduleAttempt(in, "task", 2))
	if a == b {
		t.Fatal("attempts 1 and 2 gave the same input")
	}
	if a != string(scheduleAttempt(in, "task", 1)) {
		t.Fatal("attempt 1 is not the same twice")
	}
	want := `{"n":"2","id":"`
	if b[:len(want)] != want || len(b) != len(`{"n":"2","id":"0123456789abcdef","again":"2","t":"<aws.scheduler.scheduled-time>"}`) {
		t.Fatalf("attempt 2: %s", b)
	}
	plain := []byte(`{"x":1}`)
	if got := scheduleAttempt(plain, "task", 3); string(got) != string(plain) {
		t.Fatalf("input without attributes changed: %s", got)
	}
}

func TestScheduleDeadLetterAttributes(t *testing.T) {
	attr := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	a := scheduleDeadLetterAttributes("arn:aws:scheduler:us-east-1:123456789012:schedule/nightly/backup", "arn:aws:sqs:us-east-1:123456789012:q",
		&deadLetter{code: "AccessDenied", message: "no", retries: 2}, attr)
	for k, want := range map[string]string{
		"X-Amz-Scheduler-Attempt": "3", "X-Amz-Scheduler-Group": "nightly", "X-Amz-Scheduler-Error-Code": "AccessDenied",
		"X-Amz-Scheduler-Schedule-Arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/nightly/backup",
		"X-Amz-Scheduler-Target-Arn":   "arn:aws:sqs:us-east-1:123456789012:q", "X-Amz-Scheduler-Error-Message": "no",
	} {
		if got := aws.ToString(a[k].StringValue); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestScheduleAttemptEscaped(t *testing.T) {
	in := []byte(`{"n":"\u003caws.scheduler.attempt-number\u003e"}`)
	if got := string(scheduleAttempt(in, "task", 7)); got != `{"n":"7"}` {
		t.Fatalf("escaped keyword: %s", got)
	}
}
