package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// /metrics counts API requests per operation and outcome, times them, and
// says which build is running.
func TestAPIMetrics(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	for i := 0; i < 3; i++ {
		if _, err := c.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("missing")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeRule of a missing rule: %v", err)
	}
	if got := metricSum(t, s, "switchyard_api_requests_total", `code="OK",operation="ListEventBuses"`); got != 3 {
		t.Errorf("ListEventBuses OK = %v, want 3", got)
	}
	if got := metricSum(t, s, "switchyard_api_requests_total", `code="ResourceNotFoundException",operation="DescribeRule"`); got != 1 {
		t.Errorf("DescribeRule ResourceNotFoundException = %v, want 1", got)
	}
	if got := metricSum(t, s, "switchyard_api_request_duration_seconds_count", `operation="ListEventBuses"`); got != 3 {
		t.Errorf("ListEventBuses duration count = %v, want 3", got)
	}
	if got := metricSum(t, s, "switchyard_build_info", `version=`); got != 1 {
		t.Errorf("switchyard_build_info = %v, want 1", got)
	}

	// Target metrics carry the target's Id.
	rcv := newReceiver(t)
	mustRule(t, c, "default", "labelled", `{"source":["m"]}`, rcv.URL)
	if _, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("m"), DetailType: aws.String("t"), Detail: aws.String("{}")}}}); err != nil {
		t.Fatal(err)
	}
	rcv.waitFor(t, 1, 15*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for metricSum(t, s, "switchyard_Invocations_total", `rule="labelled",target="t1"`) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("switchyard_Invocations_total{rule=labelled,target=t1} = %v, want 1", metricSum(t, s, "switchyard_Invocations_total", `rule="labelled",target="t1"`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
