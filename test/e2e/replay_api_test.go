package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// TestReplayAPI: what DescribeReplay and ListReplays answer, as the API
// reference's DescribeReplay and Replay shapes have it, ListReplays'
// filters and pages, and the errors of StartReplay, DescribeReplay and
// CancelReplay with AWS's codes and messages.
func TestReplayAPI(t *testing.T) {
	s := startServer(t)
	c := s.client(arcAccount, arcRegion)
	cx := ctx(t)
	t0 := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	arcA, _ := archiveSetup(t, c, "rp-a", 5, t0)
	arcB, _ := archiveSetup(t, c, "rp-b", 2, t0)
	rule := addRule(t, c, "rp-a", "r", newReceiver(t).URL)

	start := func(name, arc, bus string, from, to time.Time, filter ...string) {
		t.Helper()
		if _, err := c.StartReplay(cx, &eventbridge.StartReplayInput{ReplayName: aws.String(name), Description: aws.String("replay " + name),
			EventSourceArn: aws.String(arc), EventStartTime: aws.Time(from), EventEndTime: aws.Time(to),
			Destination: &types.ReplayDestination{Arn: aws.String(arcBusARN(bus)), FilterArns: filter}}); err != nil {
			t.Fatal(err)
		}
	}
	start("a-1", arcA, "rp-a", t0, t0.Add(3*time.Second))
	start("a-2", arcA, "rp-a", t0.Add(time.Second), t0.Add(time.Hour), rule)
	start("b-1", arcB, "rp-b", t0, t0.Add(time.Hour))
	for _, n := range []string{"a-1", "a-2", "b-1"} {
		if d := waitReplay(t, c, n, 30*time.Second); d.State != types.ReplayStateCompleted {
			t.Fatalf("replay %s: %s (%s)", n, d.State, aws.ToString(d.StateReason))
		}
	}

	d, err := c.DescribeReplay(cx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("a-2")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.ReplayName) != "a-2" || aws.ToString(d.ReplayArn) != "arn:aws:events:"+arcRegion+":"+arcAccount+":replay/a-2" ||
		aws.ToString(d.Description) != "replay a-2" || aws.ToString(d.EventSourceArn) != arcA ||
		d.Destination == nil || aws.ToString(d.Destination.Arn) != arcBusARN("rp-a") || len(d.Destination.FilterArns) != 1 || d.Destination.FilterArns[0] != rule ||
		!d.EventStartTime.Equal(t0.Add(time.Second)) || !d.EventEndTime.Equal(t0.Add(time.Hour)) ||
		!d.EventLastReplayedTime.Equal(t0.Add(4*time.Second)) || d.ReplayStartTime == nil || d.ReplayEndTime == nil ||
		d.ReplayEndTime.Before(*d.ReplayStartTime) || d.StateReason != nil {
		t.Errorf("DescribeReplay a-2: %+v", d)
	}

	list := func(in *eventbridge.ListReplaysInput) []string {
		t.Helper()
		out, err := c.ListReplays(cx, in)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range out.Replays {
			names = append(names, aws.ToString(r.ReplayName))
			if r.State != types.ReplayStateCompleted || r.EventStartTime == nil || r.EventEndTime == nil || r.ReplayStartTime == nil ||
				r.ReplayEndTime == nil || r.EventLastReplayedTime == nil || r.EventSourceArn == nil {
				t.Errorf("ListReplays entry %s: %+v", aws.ToString(r.ReplayName), r)
			}
		}
		if out.NextToken != nil {
			names = append(names, "next")
		}
		return names
	}
	for _, c := range []struct {
		name string
		in   eventbridge.ListReplaysInput
		want []string
	}{
		{"all", eventbridge.ListReplaysInput{}, []string{"a-1", "a-2", "b-1"}},
		{"NamePrefix", eventbridge.ListReplaysInput{NamePrefix: aws.String("a-")}, []string{"a-1", "a-2"}},
		{"EventSourceArn", eventbridge.ListReplaysInput{EventSourceArn: aws.String(arcB)}, []string{"b-1"}},
		{"State COMPLETED", eventbridge.ListReplaysInput{State: types.ReplayStateCompleted}, []string{"a-1", "a-2", "b-1"}},
		{"State RUNNING", eventbridge.ListReplaysInput{State: types.ReplayStateRunning}, nil},
		{"a page of two", eventbridge.ListReplaysInput{Limit: aws.Int32(2)}, []string{"a-1", "a-2", "next"}},
	} {
		if got := list(&c.in); !slices.Equal(got, c.want) {
			t.Errorf("ListReplays %s: %v, want %v", c.name, got, c.want)
		}
	}
	var pages []string
	var token *string
	for {
		out, err := c.ListReplays(cx, &eventbridge.ListReplaysInput{Limit: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Replays {
			pages = append(pages, aws.ToString(r.ReplayName))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(pages, []string{"a-1", "a-2", "b-1"}) {
		t.Errorf("ListReplays a page at a time: %v", pages)
	}

	// An EventEndTime in the future is accepted, as by AWS (LocalStack's
	// AWS-validated replay tests end their windows a minute ahead).
	start("future", arcB, "rp-b", t0, time.Now().Add(time.Hour))
	if d := waitReplay(t, c, "future", 30*time.Second); d.State != types.ReplayStateCompleted {
		t.Errorf("replay with a future EventEndTime: %s", d.State)
	}

	// Errors, as AWS answers them (LocalStack's recordings of AWS,
	// tests/aws/services/events/test_archive_and_replay.snapshot.json).
	valid := func(mod func(*eventbridge.StartReplayInput)) func() error {
		in := &eventbridge.StartReplayInput{ReplayName: aws.String("new"), EventSourceArn: aws.String(arcA),
			EventStartTime: aws.Time(t0), EventEndTime: aws.Time(t0.Add(time.Minute)),
			Destination: &types.ReplayDestination{Arn: aws.String(arcBusARN("rp-a"))}}
		mod(in)
		return func() error { _, err := c.StartReplay(cx, in); return err }
	}
	for _, e := range []struct {
		name, code, msg string
		call            func() error
	}{
		{"StartReplay with a name in use", "ResourceAlreadyExistsException", "Replay a-1 already exists.",
			valid(func(in *eventbridge.StartReplayInput) { in.ReplayName = aws.String("a-1") })},
		{"StartReplay with EventEndTime before EventStartTime", "ValidationException",
			"Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
			valid(func(in *eventbridge.StartReplayInput) { in.EventEndTime = aws.Time(t0.Add(-time.Second)) })},
		{"StartReplay with EventEndTime equal to EventStartTime", "ValidationException",
			"Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
			valid(func(in *eventbridge.StartReplayInput) { in.EventEndTime = aws.Time(t0) })},
		{"StartReplay to another bus", "ValidationException",
			"Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
			valid(func(in *eventbridge.StartReplayInput) { in.Destination.Arn = aws.String(arcBusARN("rp-b")) })},
		{"StartReplay to a bus that does not exist", "ResourceNotFoundException", "Event bus nope does not exist.",
			valid(func(in *eventbridge.StartReplayInput) { in.Destination.Arn = aws.String(arcBusARN("nope")) })},
		{"StartReplay to no bus", "ValidationException",
			"Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.",
			valid(func(in *eventbridge.StartReplayInput) {
				in.Destination.Arn = aws.String("arn:aws:sqs:" + arcRegion + ":" + arcAccount + ":q")
			})},
		{"StartReplay of an archive that does not exist", "ValidationException",
			"Parameter EventSourceArn is not valid. Reason: Archive gone does not exist.",
			valid(func(in *eventbridge.StartReplayInput) {
				in.EventSourceArn = aws.String("arn:aws:events:" + arcRegion + ":" + arcAccount + ":archive/gone")
			})},
		{"DescribeReplay of a replay that does not exist", "ResourceNotFoundException", "Replay gone does not exist.",
			func() error {
				_, err := c.DescribeReplay(cx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("gone")})
				return err
			}},
		{"CancelReplay of a replay that does not exist", "ResourceNotFoundException", "Replay gone does not exist.",
			func() error {
				_, err := c.CancelReplay(cx, &eventbridge.CancelReplayInput{ReplayName: aws.String("gone")})
				return err
			}},
		{"CancelReplay of a completed replay", "IllegalStatusException", "Replay a-1 is not in a valid state for this operation.",
			func() error {
				_, err := c.CancelReplay(cx, &eventbridge.CancelReplayInput{ReplayName: aws.String("a-1")})
				return err
			}},
		{"ListReplays with two filters", "ValidationException",
			"At most one filter is allowed for ListReplays. Use either : State, EventSourceArn, or NamePrefix.",
			func() error {
				_, err := c.ListReplays(cx, &eventbridge.ListReplaysInput{NamePrefix: aws.String("a"), State: types.ReplayStateCompleted})
				return err
			}},
	} {
		wantAPIError(t, e.name, e.call(), e.code, e.msg)
	}
}
