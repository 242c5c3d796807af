package schedules

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
)

// FuzzScheduleInput feeds arbitrary CreateSchedule bodies and names to the
// validation: it must not panic, a refusal must be a ValidationException,
// and an accepted schedule must have a timing the engine can walk.
func FuzzScheduleInput(f *testing.F) {
	for _, s := range []string{
		`{"ScheduleExpression":"rate(1 minute)","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{"Arn":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r"}}`,
		`{"ScheduleExpression":"at(2030-01-01T00:00:00)","ScheduleExpressionTimezone":"Europe/Berlin","FlexibleTimeWindow":{"Mode":"FLEXIBLE","MaximumWindowInMinutes":5},"Target":{"Arn":"arn:aws:scheduler:::aws-sdk:sqs:sendMessage","RoleArn":"arn:aws:iam::123456789012:role/r","Input":"{}"}}`,
		`{"ScheduleExpression":"cron(0 9 ? * MON-FRI *)","StartDate":1.9e9,"EndDate":"2031-01-01T00:00:00Z","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{"Arn":"arn:aws:events:us-east-1:123456789012:event-bus/default","RoleArn":"arn:aws:iam::123456789012:role/r","EventBridgeParameters":{"DetailType":"d","Source":"s"}}}`,
		`{"ScheduleExpression":"cron(0 9 * * ? *)","ScheduleExpressionTimezone":"Local","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{}}`,
		`{"Target":{"EcsParameters":{"TaskDefinitionArn":"x","Tags":[{"a":"b"}]}}}`,
		`null`, `[]`, `{"FlexibleTimeWindow":null}`,
	} {
		f.Add(s, "name")
	}
	f.Fuzz(func(t *testing.T, body, name string) {
		var in scheduleInput
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		_, err := in.check(name)
		if err != nil {
			if e, ok := awserr.As(err); !ok || e.Code != awserr.CodeValidation {
				t.Fatalf("%s: not a ValidationException: %v", body, err)
			}
			return
		}
		sc := build(name, &in)
		sc.Arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/" + name
		sc.CreationDate, sc.LastModificationDate = now(), now()
		tm, err := timingOf(sc, time.Minute)
		if err != nil {
			t.Fatalf("%s: accepted but no timing: %v", body, err)
		}
		at := tm.from
		for range 3 {
			n := tm.next(at)
			if n.IsZero() {
				break
			}
			if !n.After(at) {
				t.Fatalf("%s: occurrence %v not after %v", body, n, at)
			}
			_ = tm.offset(n)
			at = n
		}
		task, _ := taskOf(sc, scopeOf(sc), at, at)
		if task == nil {
			t.Fatal("no task")
		}
	})
}

func scopeOf(sc *Schedule) control.Scope {
	return control.Scope{Account: "123456789012", Region: "us-east-1"}
}
