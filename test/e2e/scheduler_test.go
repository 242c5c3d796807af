package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// These tests drive EventBridge Scheduler (package schedules) through
// aws-sdk-go-v2's scheduler client, against real targets: an HTTP
// receiver behind an EventBridge bus target, and moto's SQS, DynamoDB and
// SNS.

const schedRole = "arn:aws:iam::111122223333:role/scheduler"

// scheduler returns a Scheduler client for the given account and region.
func (s *server) scheduler(account, region string) *scheduler.Client {
	return scheduler.New(scheduler.Options{
		Region:           region,
		BaseEndpoint:     aws.String("http://" + s.addr),
		Credentials:      credentials.NewStaticCredentialsProvider(account, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// schedErr returns err's AWS error code and message.
func schedErr(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// busTarget routes the events a schedule puts on the default bus of
// account acct in region to a receiver, and returns the schedule target
// that puts them there.
func busTarget(t *testing.T, s *server, region, source, input string) (*receiver, *types.Target) {
	t.Helper()
	rcv := newReceiver(t)
	eb := s.client(acct, region)
	if _, err := eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("from-" + source),
		EventPattern: aws.String(fmt.Sprintf(`{"source":[%q]}`, source))}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("from-" + source),
		Targets: []ebtypes.Target{{Id: aws.String("rcv"), Arn: aws.String(rcv.URL)}}}); err != nil {
		t.Fatal(err)
	}
	return rcv, &types.Target{
		Arn:                   aws.String(fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", region, acct)),
		RoleArn:               aws.String(schedRole),
		Input:                 aws.String(input),
		EventBridgeParameters: &types.EventBridgeParameters{DetailType: aws.String("Tick"), Source: aws.String(source)},
	}
}

func logOnFailure(t *testing.T, servers ...*server) {
	t.Cleanup(func() {
		if t.Failed() {
			for i, s := range servers {
				t.Logf("switchyard %d log:\n%s", i, s.logs())
			}
		}
	})
}

// TestSchedulerAPI covers the operations, their validation and errors,
// pagination, tags, isolation between accounts, and a group's deletion
// taking its schedules.
func TestSchedulerAPI(t *testing.T) {
	s := startServer(t)
	logOnFailure(t, s)
	c := s.scheduler(acct, "eu-west-1")
	cx := ctx(t)
	target := &types.Target{Arn: aws.String("arn:aws:sqs:eu-west-1:111122223333:q"), RoleArn: aws.String(schedRole), Input: aws.String("hello")}
	off := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}

	// The default group exists without being created.
	g, err := c.GetScheduleGroup(cx, &scheduler.GetScheduleGroupInput{Name: aws.String("default")})
	if err != nil || aws.ToString(g.Arn) != "arn:aws:scheduler:eu-west-1:111122223333:schedule-group/default" || g.State != types.ScheduleGroupStateActive {
		t.Fatalf("default group: %+v %v", g, err)
	}

	out, err := c.CreateSchedule(cx, &scheduler.CreateScheduleInput{Name: aws.String("daily"), ScheduleExpression: aws.String("cron(0 9 * * ? *)"),
		ScheduleExpressionTimezone: aws.String("Europe/Paris"), FlexibleTimeWindow: off, Target: target,
		Description: aws.String("every morning"), KmsKeyArn: aws.String("arn:aws:kms:eu-west-1:111122223333:key/abc")})
	if err != nil || aws.ToString(out.ScheduleArn) != "arn:aws:scheduler:eu-west-1:111122223333:schedule/default/daily" {
		t.Fatalf("CreateSchedule: %+v %v", out, err)
	}
	got, err := c.GetSchedule(cx, &scheduler.GetScheduleInput{Name: aws.String("daily")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Paris" || got.State != types.ScheduleStateEnabled ||
		aws.ToString(got.KmsKeyArn) != "arn:aws:kms:eu-west-1:111122223333:key/abc" || aws.ToString(got.Target.Input) != "hello" ||
		got.ActionAfterCompletion != types.ActionAfterCompletionNone || got.CreationDate == nil || time.Since(*got.CreationDate) > time.Minute {
		t.Fatalf("GetSchedule: %+v", got)
	}

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			in   scheduler.CreateScheduleInput
			code string
			msg  string // a part of the message
		}{
			{"exists", scheduler.CreateScheduleInput{Name: aws.String("daily"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target},
				"ConflictException", "Schedule daily already exists."},
			{"bad expression", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("cron(0 9 * *)"), FlexibleTimeWindow: off, Target: target},
				"ValidationException", "Invalid Schedule Expression cron(0 9 * *)."},
			{"bad at", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("at(2030-02-30T10:00:00)"), FlexibleTimeWindow: off, Target: target},
				"ValidationException", "Invalid Schedule Expression"},
			{"bad rate", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(0 minutes)"), FlexibleTimeWindow: off, Target: target},
				"ValidationException", "Invalid Schedule Expression"},
			{"bad zone", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), ScheduleExpressionTimezone: aws.String("Mars/Olympus_Mons"),
				FlexibleTimeWindow: off, Target: target}, "ValidationException", "Invalid time zone: Mars/Olympus_Mons."},
			{"host zone", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), ScheduleExpressionTimezone: aws.String("Local"),
				FlexibleTimeWindow: off, Target: target}, "ValidationException", "Invalid time zone"},
			{"path zone", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), ScheduleExpressionTimezone: aws.String("../../../etc/passwd"),
				FlexibleTimeWindow: off, Target: target}, "ValidationException", "Invalid time zone"},
			{"bad name and role", scheduler.CreateScheduleInput{Name: aws.String("bad name"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
				Target: &types.Target{Arn: target.Arn, RoleArn: aws.String("admin")}}, "ValidationException",
				"2 validation errors detected: Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$; Value 'admin' at 'target.roleArn'"},
			{"window range", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"),
				FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(1441)}, Target: target},
				"ValidationException", "Value '1441' at 'flexibleTimeWindow.maximumWindowInMinutes' failed to satisfy constraint: Member must have value less than or equal to 1440"},
			{"flexible without window", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"),
				FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible}, Target: target},
				"ValidationException", "MaximumWindowInMinutes is required"},
			{"retry policy", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
				Target: &types.Target{Arn: target.Arn, RoleArn: target.RoleArn, RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(186), MaximumEventAgeInSeconds: aws.Int32(59)}}},
				"ValidationException", "2 validation errors detected"},
			{"oversized input", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
				Target: &types.Target{Arn: target.Arn, RoleArn: target.RoleArn, Input: aws.String(strings.Repeat("x", 300<<10))}},
				"ValidationException", "Target Input must be at most 262144 bytes"},
			{"end before start", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target,
				StartDate: aws.Time(time.Now().Add(2 * time.Hour)), EndDate: aws.Time(time.Now().Add(time.Hour))}, "ValidationException", "The EndDate must be after the StartDate."},
			{"start in the past", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target,
				StartDate: aws.Time(time.Now().Add(-time.Hour))}, "ValidationException", "cannot be earlier than 5 minutes ago"},
			{"no group", scheduler.CreateScheduleInput{Name: aws.String("x"), GroupName: aws.String("nope"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target},
				"ResourceNotFoundException", "Schedule group nope does not exist."},
			{"eventbridge without parameters", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
				Target: &types.Target{Arn: aws.String("arn:aws:events:eu-west-1:111122223333:event-bus/default"), RoleArn: target.RoleArn, Input: aws.String("{}")}},
				"ValidationException", "EventBridgeParameters are required"},
			{"unsupported universal service", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
				Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:s3:putObject"), RoleArn: target.RoleArn, Input: aws.String("{}")}},
				"ValidationException", "Universal target service s3 is not supported"},
			{"read-only universal action", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
				Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:sqs:receiveMessage"), RoleArn: target.RoleArn, Input: aws.String("{}")}},
				"ValidationException", "read-only actions"},
			{"universal input not JSON", scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
				Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:sqs:sendMessage"), RoleArn: target.RoleArn, Input: aws.String("not json")}},
				"ValidationException", "well-formed JSON"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.CreateSchedule(cx, &tc.in)
				if err == nil {
					t.Fatal("accepted")
				}
				code, msg := schedErr(t, err)
				if code != tc.code || !strings.Contains(msg, tc.msg) {
					t.Fatalf("%s: %s, want %s: ...%s...", code, msg, tc.code, tc.msg)
				}
			})
		}
		_, err := c.GetSchedule(cx, &scheduler.GetScheduleInput{Name: aws.String("nope")})
		if code, msg := schedErr(t, err); code != "ResourceNotFoundException" || msg != "Schedule nope does not exist." {
			t.Errorf("GetSchedule nope: %s %s", code, msg)
		}
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
			t.Errorf("GetSchedule nope: status %v", err)
		}
		_, err = c.DeleteScheduleGroup(cx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("default")})
		if code, _ := schedErr(t, err); code != "ValidationException" {
			t.Errorf("DeleteScheduleGroup default: %v", err)
		}
		_, err = c.UpdateSchedule(cx, &scheduler.UpdateScheduleInput{Name: aws.String("nope"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target})
		if code, _ := schedErr(t, err); code != "ResourceNotFoundException" {
			t.Errorf("UpdateSchedule nope: %v", err)
		}
	})

	t.Run("IdempotentCreate", func(t *testing.T) {
		in := &scheduler.CreateScheduleInput{Name: aws.String("retried"), ScheduleExpression: aws.String("rate(1 hour)"),
			FlexibleTimeWindow: off, Target: target, ClientToken: aws.String("token-1")}
		for i := range 2 {
			if _, err := c.CreateSchedule(cx, in); err != nil {
				t.Fatalf("attempt %d with the same ClientToken: %v", i+1, err)
			}
		}
		in.ClientToken = aws.String("token-2")
		_, err := c.CreateSchedule(cx, in)
		if code, _ := schedErr(t, err); code != "ConflictException" {
			t.Fatalf("another ClientToken: %v", err)
		}
		if _, err := c.DeleteSchedule(cx, &scheduler.DeleteScheduleInput{Name: aws.String("retried")}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("UpdateKeepsCreation", func(t *testing.T) {
		if _, err := c.UpdateSchedule(cx, &scheduler.UpdateScheduleInput{Name: aws.String("daily"), ScheduleExpression: aws.String("rate(2 hours)"),
			FlexibleTimeWindow: off, Target: target, State: types.ScheduleStateDisabled}); err != nil {
			t.Fatal(err)
		}
		u, err := c.GetSchedule(cx, &scheduler.GetScheduleInput{Name: aws.String("daily")})
		if err != nil || aws.ToString(u.ScheduleExpression) != "rate(2 hours)" || u.State != types.ScheduleStateDisabled ||
			!u.CreationDate.Equal(*got.CreationDate) || u.ScheduleExpressionTimezone != nil {
			t.Fatalf("after update: %+v %v", u, err)
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		if _, err := c.CreateScheduleGroup(cx, &scheduler.CreateScheduleGroupInput{Name: aws.String("paged")}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := c.CreateSchedule(cx, &scheduler.CreateScheduleInput{Name: aws.String(fmt.Sprintf("p.%d", i)), GroupName: aws.String("paged"),
				ScheduleExpression: aws.String("rate(1 day)"), FlexibleTimeWindow: off, Target: target}); err != nil {
				t.Fatal(err)
			}
		}
		var names []string
		p := scheduler.NewListSchedulesPaginator(c, &scheduler.ListSchedulesInput{GroupName: aws.String("paged"), MaxResults: aws.Int32(2)})
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(cx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range out.Schedules {
				names = append(names, aws.ToString(s.Name))
			}
		}
		if strings.Join(names, ",") != "p.0,p.1,p.2,p.3,p.4" || pages != 3 {
			t.Fatalf("pages %d: %v", pages, names)
		}
		all, err := c.ListSchedules(cx, &scheduler.ListSchedulesInput{NamePrefix: aws.String("p.3")})
		if err != nil || len(all.Schedules) != 1 || aws.ToString(all.Schedules[0].GroupName) != "paged" {
			t.Fatalf("NamePrefix: %+v %v", all, err)
		}
		dis, err := c.ListSchedules(cx, &scheduler.ListSchedulesInput{State: types.ScheduleStateDisabled})
		if err != nil || len(dis.Schedules) != 1 || aws.ToString(dis.Schedules[0].Name) != "daily" {
			t.Fatalf("State DISABLED: %+v %v", dis, err)
		}
		if _, err := c.ListSchedules(cx, &scheduler.ListSchedulesInput{MaxResults: aws.Int32(101)}); err == nil {
			t.Fatal("MaxResults 101 accepted")
		}
		if _, err := c.ListSchedules(cx, &scheduler.ListSchedulesInput{GroupName: aws.String("nope")}); err == nil {
			t.Fatal("ListSchedules of a missing group answered")
		}
	})

	t.Run("Tags", func(t *testing.T) {
		arn := "arn:aws:scheduler:eu-west-1:111122223333:schedule-group/tagged"
		if _, err := c.CreateScheduleGroup(cx, &scheduler.CreateScheduleGroupInput{Name: aws.String("tagged"),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TagResource(cx, &scheduler.TagResourceInput{ResourceArn: aws.String(arn),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("b")}, {Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagResource(cx, &scheduler.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
			t.Fatal(err)
		}
		tags, err := c.ListTagsForResource(cx, &scheduler.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "b" {
			t.Fatalf("tags: %+v %v", tags, err)
		}
		_, err = c.ListTagsForResource(cx, &scheduler.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:scheduler:eu-west-1:111122223333:schedule-group/nope")})
		if code, _ := schedErr(t, err); code != "ResourceNotFoundException" {
			t.Errorf("tags of a missing group: %v", err)
		}
		_, err = c.CreateScheduleGroup(cx, &scheduler.CreateScheduleGroupInput{Name: aws.String("tagged")})
		if code, _ := schedErr(t, err); code != "ConflictException" {
			t.Errorf("group created twice: %v", err)
		}
	})

	t.Run("Isolation", func(t *testing.T) {
		other := s.scheduler("444455556666", "eu-west-1")
		if _, err := other.GetSchedule(cx, &scheduler.GetScheduleInput{Name: aws.String("daily")}); err == nil {
			t.Fatal("another account sees the schedule")
		}
		region := s.scheduler(acct, "us-east-2")
		l, err := region.ListSchedules(cx, &scheduler.ListSchedulesInput{})
		if err != nil || len(l.Schedules) != 0 {
			t.Fatalf("another region lists %+v %v", l, err)
		}
	})

	t.Run("DeleteGroupDeletesSchedules", func(t *testing.T) {
		if _, err := c.DeleteScheduleGroup(cx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("paged")}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the group and its schedules gone", func() bool {
			_, gerr := c.GetScheduleGroup(cx, &scheduler.GetScheduleGroupInput{Name: aws.String("paged")})
			_, serr := c.GetSchedule(cx, &scheduler.GetScheduleInput{Name: aws.String("p.0"), GroupName: aws.String("paged")})
			return gerr != nil && serr != nil
		})
		if _, err := c.DeleteSchedule(cx, &scheduler.DeleteScheduleInput{Name: aws.String("daily")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetSchedule(cx, &scheduler.GetScheduleInput{Name: aws.String("daily")}); err == nil {
			t.Fatal("deleted schedule still there")
		}
	})
}

// TestSchedulerAtFiresOnceAndDeletes: a one-time schedule fires once,
// with its context attributes filled in, through an EventBridge bus target
// to a rule's HTTP target, and deletes itself (ActionAfterCompletion
// DELETE). The at() time is in a time zone other than UTC.
func TestSchedulerAtFiresOnceAndDeletes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	logOnFailure(t, s)
	c := s.scheduler(acct, "eu-west-1")
	rcv, target := busTarget(t, s, "eu-west-1", "app.at",
		`{"arn":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>","attempt":"<aws.scheduler.attempt-number>","exec":"<aws.scheduler.execution-id>"}`)
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	when := time.Now().Add(3 * time.Second).Truncate(time.Second)
	if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("once"),
		ScheduleExpression:         aws.String("at(" + when.In(kolkata).Format("2006-01-02T15:04:05") + ")"),
		ScheduleExpressionTimezone: aws.String("Asia/Kolkata"), ActionAfterCompletion: types.ActionAfterCompletionDelete,
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}, Target: target}); err != nil {
		t.Fatal(err)
	}
	got := rcv.waitFor(t, 1, 15*time.Second)
	arrived := time.Now()
	if arrived.Before(when) {
		t.Fatalf("fired at %v, before its time %v", arrived, when)
	}
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil {
		t.Fatal(err)
	}
	var detail map[string]string
	_ = json.Unmarshal(ev.Detail, &detail)
	wantArn := "arn:aws:scheduler:eu-west-1:111122223333:schedule/default/once"
	if ev.Source != "app.at" || ev.DetailType != "Tick" || detail["arn"] != wantArn || detail["at"] != when.UTC().Format(time.RFC3339) ||
		detail["attempt"] != "1" || len(detail["exec"]) != 16 || len(ev.Resources) != 1 || ev.Resources[0] != wantArn {
		t.Fatalf("event %s", got[0])
	}
	eventually(t, "the schedule deleted after its only occurrence", func() bool {
		_, err := c.GetSchedule(ctx(t), &scheduler.GetScheduleInput{Name: aws.String("once")})
		return err != nil
	})
	time.Sleep(2 * time.Second)
	if n := len(rcv.received()); n != 1 {
		t.Fatalf("fired %d times", n)
	}
}

// TestSchedulerRateFires: rate(1 minute) fires at once and then every
// "minute", with the test's minute of one second (--scheduler-rate-minute),
// each occurrence with its own scheduled time; a disabled schedule stops.
func TestSchedulerRateFires(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--scheduler-rate-minute", "1s")
	logOnFailure(t, s)
	c := s.scheduler(acct, "eu-west-1")
	rcv, target := busTarget(t, s, "eu-west-1", "app.rate", `{"at":"<aws.scheduler.scheduled-time>"}`)
	off := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	created := time.Now()
	if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("minutely"),
		ScheduleExpression: aws.String("rate(1 minute)"), FlexibleTimeWindow: off, Target: target}); err != nil {
		t.Fatal(err)
	}
	got := rcv.waitFor(t, 4, 20*time.Second)
	// One a "minute" since creation, the first at once: no burst of
	// occurrences from before the schedule existed.
	if max := int(time.Since(created)/time.Second) + 2; len(got) > max {
		t.Fatalf("%d occurrences %v after creation, want at most %d", len(got), time.Since(created), max)
	}
	seen := map[string]bool{}
	for _, b := range got {
		var ev event
		_ = json.Unmarshal(b, &ev)
		var d map[string]string
		_ = json.Unmarshal(ev.Detail, &d)
		if seen[d["at"]] && d["at"] != "" {
			// Scheduled times are whole seconds here, so two
			// occurrences a second apart can share none.
			t.Fatalf("occurrence %s fired twice: %s", d["at"], b)
		}
		seen[d["at"]] = true
	}
	if _, err := c.UpdateSchedule(ctx(t), &scheduler.UpdateScheduleInput{Name: aws.String("minutely"), State: types.ScheduleStateDisabled,
		ScheduleExpression: aws.String("rate(1 minute)"), FlexibleTimeWindow: off, Target: target}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	n := len(rcv.received())
	time.Sleep(3 * time.Second)
	if m := len(rcv.received()); m != n {
		t.Fatalf("a disabled schedule fired %d more times", m-n)
	}
}

// TestSchedulerCronInZone fires a cron schedule at the next minute of
// Asia/Kathmandu's wall clock (UTC+05:45, so that a zone ignored, or
// rounded to the hour, misses it). It waits up to a minute.
func TestSchedulerCronInZone(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	logOnFailure(t, s)
	c := s.scheduler(acct, "eu-west-1")
	rcv, target := busTarget(t, s, "eu-west-1", "app.cron", `{"at":"<aws.scheduler.scheduled-time>"}`)
	ktm, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Skip(err)
	}
	next := time.Now().In(ktm).Truncate(time.Minute).Add(time.Minute)
	if time.Until(next) < 5*time.Second {
		next = next.Add(time.Minute)
	}
	expr := fmt.Sprintf("cron(%d %d %d %d ? %d)", next.Minute(), next.Hour(), next.Day(), int(next.Month()), next.Year())
	if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("kathmandu"), ScheduleExpression: aws.String(expr),
		ScheduleExpressionTimezone: aws.String("Asia/Kathmandu"), FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target: target}); err != nil {
		t.Fatal(err)
	}
	got := rcv.waitFor(t, 1, time.Until(next)+20*time.Second)
	if time.Now().Before(next) {
		t.Fatalf("fired before %v", next)
	}
	var ev event
	_ = json.Unmarshal(got[0], &ev)
	var d map[string]string
	_ = json.Unmarshal(ev.Detail, &d)
	if d["at"] != next.UTC().Format(time.RFC3339) {
		t.Fatalf("scheduled time %s, want %s", d["at"], next.UTC().Format(time.RFC3339))
	}
}

// TestSchedulerTwoProcessesFireOnce: two processes on one NATS server fire
// each occurrence of many schedules once between them.
func TestSchedulerTwoProcessesFireOnce(t *testing.T) {
	t.Parallel()
	url := natsServer(t)
	ps := startCluster(t, url, 2)
	a, b := ps[0], ps[1]
	logOnFailure(t, a, b)
	rcv, target := busTarget(t, a, "eu-west-1", "app.pair", `{"s":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>"}`)
	when := time.Now().Add(4 * time.Second).UTC().Truncate(time.Second)
	const n = 20
	for i := range n {
		c := a.scheduler(acct, "eu-west-1")
		if i%2 == 1 {
			c = b.scheduler(acct, "eu-west-1")
		}
		if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String(fmt.Sprintf("pair-%d", i)),
			ScheduleExpression: aws.String("at(" + when.Format("2006-01-02T15:04:05") + ")"),
			FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}, Target: target}); err != nil {
			t.Fatal(err)
		}
	}
	rcv.waitFor(t, n, 20*time.Second)
	time.Sleep(3 * time.Second)
	got := rcv.received()
	seen := map[string]int{}
	for _, body := range got {
		var ev event
		_ = json.Unmarshal(body, &ev)
		var d map[string]string
		_ = json.Unmarshal(ev.Detail, &d)
		seen[d["s"]]++
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("%d deliveries of %d schedules, want %d of %d: %v", len(got), len(seen), n, n, seen)
	}
}

// TestSchedulerMissedFireAfterRestart: a process down over an occurrence
// fires it late, once, when it is back; the occurrences missed before it
// are not caught up in a burst.
func TestSchedulerMissedFireAfterRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	logOnFailure(t, s)
	c := s.scheduler(acct, "eu-west-1")
	rcv, target := busTarget(t, s, "eu-west-1", "app.late", `{"at":"<aws.scheduler.scheduled-time>"}`)
	when := time.Now().Add(6 * time.Second).UTC().Truncate(time.Second)
	if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("late"),
		ScheduleExpression: aws.String("at(" + when.Format("2006-01-02T15:04:05") + ")"),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}, Target: target}); err != nil {
		t.Fatal(err)
	}
	s.kill9()
	time.Sleep(time.Until(when) + 2*time.Second)
	if n := len(rcv.received()); n != 0 {
		t.Fatalf("fired %d times while down", n)
	}
	s.restart()
	got := rcv.waitFor(t, 1, 15*time.Second)
	var ev event
	_ = json.Unmarshal(got[0], &ev)
	var d map[string]string
	_ = json.Unmarshal(ev.Detail, &d)
	if d["at"] != when.Format(time.RFC3339) {
		t.Fatalf("late occurrence %s, want %s", d["at"], when.Format(time.RFC3339))
	}
	if n := metricSum(t, s, "switchyard_scheduler_fired_total", ""); n != 1 {
		t.Fatalf("the restarted process fired %v occurrences, want 1", n)
	}
	// Restarted again: the occurrence is recorded, so it is not fired a
	// second time. (The pause lets the delivery's acknowledgements settle:
	// a delivery cut short by a stop is redelivered, at least once, which
	// is the deliverer's business, not the schedule's.)
	time.Sleep(2 * time.Second)
	s.stop()
	s.restart()
	time.Sleep(3 * time.Second)
	if n := metricSum(t, s, "switchyard_scheduler_fired_total", ""); n != 0 {
		t.Fatalf("the process restarted again fired %v occurrences, want 0", n)
	}
	if n := len(rcv.received()); n != 1 {
		t.Fatalf("delivered %d times across restarts", n)
	}
}

// motoScheduler is a switchyard calling moto for AWS targets.
func motoScheduler(t *testing.T, args ...string) (*server, aws.Config) {
	m := startMoto(t)
	s := startServer(t, append([]string{"--aws-endpoint", m}, args...)...)
	logOnFailure(t, s)
	return s, motoConfig(m)
}

// TestSchedulerTargetsMoto fires a templated SQS target and universal
// targets (sqs:sendMessage, dynamodb:putItem, sns:publish) against moto.
func TestSchedulerTargetsMoto(t *testing.T) {
	s, cfg := motoScheduler(t)
	c := s.scheduler(motoAccount, awsRegion)
	q := sqs.NewFromConfig(cfg)
	off := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	role := aws.String("arn:aws:iam::123456789012:role/scheduler")
	soon := func() *string {
		return aws.String("at(" + time.Now().Add(2*time.Second).UTC().Format("2006-01-02T15:04:05") + ")")
	}

	t.Run("TemplatedSQS", func(t *testing.T) {
		url, arn := createQueue(t, q, "sched-templated", nil)
		if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("sqs-templated"), ScheduleExpression: soon(),
			FlexibleTimeWindow: off, Target: &types.Target{Arn: aws.String(arn), RoleArn: role, Input: aws.String("plain text <aws.scheduler.attempt-number>")}}); err != nil {
			t.Fatal(err)
		}
		if body := aws.ToString(receive(t, q, url).Body); body != "plain text 1" {
			t.Fatalf("body %q", body)
		}
	})

	t.Run("UniversalSQS", func(t *testing.T) {
		url, _ := createQueue(t, q, "sched-universal", nil)
		in, _ := json.Marshal(map[string]any{"QueueUrl": url, "MessageBody": "at <aws.scheduler.scheduled-time>"})
		if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("sqs-universal"), ScheduleExpression: soon(),
			FlexibleTimeWindow: off, Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:sqs:sendMessage"), RoleArn: role, Input: aws.String(string(in))}}); err != nil {
			t.Fatal(err)
		}
		if body := aws.ToString(receive(t, q, url).Body); !strings.HasPrefix(body, "at 20") {
			t.Fatalf("body %q", body)
		}
	})

	t.Run("UniversalDynamoDB", func(t *testing.T) {
		d := dynamodb.NewFromConfig(cfg)
		if _, err := d.CreateTable(ctx(t), &dynamodb.CreateTableInput{TableName: aws.String("sched"), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
			t.Fatal(err)
		}
		in := `{"TableName":"sched","Item":{"id":{"S":"<aws.scheduler.schedule-arn>"},"n":{"N":"<aws.scheduler.attempt-number>"}}}`
		if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("ddb"), ScheduleExpression: soon(),
			FlexibleTimeWindow: off, Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:dynamodb:putItem"), RoleArn: role, Input: aws.String(in)}}); err != nil {
			t.Fatal(err)
		}
		key := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "arn:aws:scheduler:us-west-2:123456789012:schedule/default/ddb"}}
		eventually(t, "the item", func() bool {
			out, err := d.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("sched"), Key: key})
			if err != nil || out.Item == nil {
				return false
			}
			n, ok := out.Item["n"].(*ddbtypes.AttributeValueMemberN)
			return ok && n.Value == "1"
		})
	})

	t.Run("UniversalSNS", func(t *testing.T) {
		n := sns.NewFromConfig(cfg)
		topic, err := n.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("sched-topic")})
		if err != nil {
			t.Fatal(err)
		}
		url, qarn := createQueue(t, q, "sched-sns", nil)
		if _, err := n.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qarn),
			Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
			t.Fatal(err)
		}
		in, _ := json.Marshal(map[string]any{"TopicArn": aws.ToString(topic.TopicArn), "Message": "published by <aws.scheduler.schedule-arn>"})
		if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("sns"), ScheduleExpression: soon(),
			FlexibleTimeWindow: off, Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:sns:publish"), RoleArn: role, Input: aws.String(string(in))}}); err != nil {
			t.Fatal(err)
		}
		if body := aws.ToString(receive(t, q, url).Body); body != "published by arn:aws:scheduler:us-west-2:123456789012:schedule/default/sns" {
			t.Fatalf("body %q", body)
		}
	})
}

// TestSchedulerDeadLetterAfterRetries: a universal target whose endpoint
// answers 500 is retried MaximumRetryAttempts times, then the occurrence
// goes to the dead-letter queue (moto SQS) with Scheduler's attributes.
func TestSchedulerDeadLetterAfterRetries(t *testing.T) {
	m := startMoto(t)
	var calls atomic.Int64
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var targets []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		targets = append(targets, r.Header.Get("X-Amz-Target"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"down"}`))
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	s := startServer(t, "--aws-endpoint", "dynamodb=http://"+lis.Addr().String()+",*="+m, "--retry-base-delay", "10ms")
	logOnFailure(t, s)
	q := sqs.NewFromConfig(motoConfig(m))
	dlqURL, dlqArn := createQueue(t, q, "sched-dlq", nil)
	c := s.scheduler(motoAccount, awsRegion)
	if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("failing"),
		ScheduleExpression: aws.String("at(" + time.Now().Add(2*time.Second).UTC().Format("2006-01-02T15:04:05") + ")"),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:dynamodb:putItem"), RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
			Input:            aws.String(`{"TableName":"t","Item":{"id":{"S":"x"}}}`),
			RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(2), MaximumEventAgeInSeconds: aws.Int32(300)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}}); err != nil {
		t.Fatal(err)
	}
	var msg sqstypes.Message
	eventually(t, "the dead letter", func() bool {
		out, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return false
		}
		msg = out.Messages[0]
		return true
	})
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3 (one and two retries)", n)
	}
	mu.Lock()
	if targets[0] != "DynamoDB_20120810.PutItem" {
		t.Errorf("X-Amz-Target %q", targets[0])
	}
	mu.Unlock()
	attr := func(k string) string { return aws.ToString(msg.MessageAttributes[k].StringValue) }
	if attr("X-Amz-Scheduler-Schedule-Arn") != "arn:aws:scheduler:us-west-2:123456789012:schedule/default/failing" ||
		attr("X-Amz-Scheduler-Attempt") != "3" || attr("X-Amz-Scheduler-Error-Code") != "InternalServerError" ||
		attr("X-Amz-Scheduler-Target-Arn") != "arn:aws:scheduler:::aws-sdk:dynamodb:putItem" || attr("X-Amz-Scheduler-Group") != "default" {
		t.Fatalf("dead letter attributes %+v", msg.MessageAttributes)
	}
	if body := aws.ToString(msg.Body); body != `{"TableName":"t","Item":{"id":{"S":"x"}}}` {
		t.Fatalf("dead letter body %s", body)
	}
}

// TestSchedulerManySchedules creates schedules as fast as the API takes
// them and checks that the process keeps answering and lists them all.
// (The 100,000-schedule case is BenchmarkSchedules100k in package
// schedules, which measures the engine's memory and fire lateness.)
func TestSchedulerManySchedules(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	logOnFailure(t, s)
	c := s.scheduler(acct, "ap-south-1")
	const n = 2000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String(fmt.Sprintf("many-%05d", i)),
				ScheduleExpression: aws.String("rate(1 day)"), FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(60)},
				Target: &types.Target{Arn: aws.String("arn:aws:sqs:ap-south-1:111122223333:q"), RoleArn: aws.String(schedRole)}, State: types.ScheduleStateDisabled})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	count := 0
	p := scheduler.NewListSchedulesPaginator(c, &scheduler.ListSchedulesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		count += len(out.Schedules)
	}
	if count != n {
		t.Fatalf("listed %d of %d", count, n)
	}
}

// TestSchedulerHangingTarget: a universal target whose endpoint accepts
// the connection and never answers is given up after the call's timeout
// (10 s), not held forever, and dead-lettered (no retries here).
func TestSchedulerHangingTarget(t *testing.T) {
	m := startMoto(t)
	var calls atomic.Int64
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { close(release); _ = srv.Close() })
	s := startServer(t, "--aws-endpoint", "dynamodb=http://"+lis.Addr().String()+",*="+m)
	logOnFailure(t, s)
	q := sqs.NewFromConfig(motoConfig(m))
	dlqURL, dlqArn := createQueue(t, q, "sched-hang-dlq", nil)
	c := s.scheduler(motoAccount, awsRegion)
	fired := time.Now().Add(2 * time.Second).UTC()
	if _, err := c.CreateSchedule(ctx(t), &scheduler.CreateScheduleInput{Name: aws.String("hanging"),
		ScheduleExpression: aws.String("at(" + fired.Format("2006-01-02T15:04:05") + ")"),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target: &types.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:dynamodb:putItem"), RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
			Input:            aws.String(`{"TableName":"t","Item":{"id":{"S":"x"}}}`),
			RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		out, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			code := aws.ToString(out.Messages[0].MessageAttributes["X-Amz-Scheduler-Error-Code"].StringValue)
			if code != "CONNECTION_FAILURE" {
				t.Fatalf("error code %q", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter 40 s after the occurrence (%d calls)", calls.Load())
		}
	}
	if took := time.Since(fired); took < 9*time.Second {
		t.Errorf("given up %v after the occurrence, before the call's timeout", took)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}
