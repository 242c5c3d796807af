package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

// An account's API requests are held to its quotas, PutEvents apart from
// the other operations, each account and region its own: over its quota,
// a request gets AWS's ThrottlingException ("Rate exceeded", HTTP 400),
// which the SDKs retry.
func TestQuotas(t *testing.T) {
	s := startServer(t, "--quota-control", "5", "--quota-putevents", "8")
	a := s.client("111111111111", "us-east-1")

	ok, throttled := burst(t, 30, func() error {
		_, err := a.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
		return err
	})
	// 30 requests within a second or two: at most 5 in each second.
	if throttled == 0 || ok > 10 || ok < 5 {
		t.Fatalf("30 ListEventBuses at a quota of 5/s: %d OK, %d throttled", ok, throttled)
	}
	t.Logf("control quota 5/s: %d OK, %d throttled", ok, throttled)

	// PutEvents has its own quota; other accounts and regions theirs.
	put := func(c *eventbridge.Client) error {
		_, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			{Source: aws.String("q"), DetailType: aws.String("q"), Detail: aws.String("{}")}}})
		return err
	}
	if err := put(a); err != nil {
		t.Fatalf("PutEvents after the control quota was used up: %v", err)
	}
	for _, c := range []*eventbridge.Client{s.client("222222222222", "us-east-1"), s.client("111111111111", "eu-west-1")} {
		if _, err := c.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
			t.Fatalf("another scope throttled with the first: %v", err)
		}
	}
	ok, throttled = burst(t, 40, func() error { return put(a) })
	if throttled == 0 || ok > 16 {
		t.Fatalf("40 PutEvents at a quota of 8/s: %d OK, %d throttled", ok, throttled)
	}

	// The next second has room again.
	time.Sleep(1100 * time.Millisecond)
	if _, err := a.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
		t.Fatalf("a second later: %v", err)
	}
	if got := metricSum(t, s, "switchyard_api_quota_throttled_total", `quota="control"`); got < 1 {
		t.Errorf("switchyard_api_quota_throttled_total{quota=control} = %v", got)
	}
	if got := metricSum(t, s, "switchyard_api_requests_total", `code="ThrottlingException",operation="PutEvents"`); got < 1 {
		t.Errorf("switchyard_api_requests_total{code=ThrottlingException,operation=PutEvents} = %v", got)
	}
}

// Two processes on one NATS cluster give an account its quota once, not
// once each: requests spread over both for three seconds get at most the
// quota in each second, together.
func TestQuotasSharedByCluster(t *testing.T) {
	url := natsServer(t)
	const quota = 10
	key := newKeyFile(t, "cluster.key") // one cluster, one secrets key
	var clients []*eventbridge.Client
	for range 2 {
		s := startServer(t, "--nats-url", url, "--secrets-key-file", key, "--quota-control", "10")
		clients = append(clients, s.client("333333333333", "us-east-1"))
	}
	ok, throttled := 0, 0
	start := time.Now()
	for i := 0; time.Since(start) < 3*time.Second; i++ {
		_, err := clients[i%2].ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
		if isThrottled(t, err) {
			throttled++
		} else {
			ok++
		}
	}
	// Three seconds span at most four windows.
	if ok > 4*quota || ok < 2*quota || throttled == 0 {
		t.Fatalf("3s over two processes at a quota of %d/s: %d OK, %d throttled", quota, ok, throttled)
	}
	t.Logf("two processes, 3s at %d/s: %d OK, %d throttled", quota, ok, throttled)
}

// burst makes n calls one after another and counts those answered and
// those throttled; any other error fails the test.
func burst(t *testing.T, n int, call func() error) (ok, throttled int) {
	t.Helper()
	for range n {
		if isThrottled(t, call()) {
			throttled++
		} else {
			ok++
		}
	}
	return ok, throttled
}

// isThrottled reports whether err is AWS's ThrottlingException, as AWS
// sends it; nil is false, and any other error fails the test.
func isThrottled(t *testing.T, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" || ae.ErrorMessage() != "Rate exceeded" ||
		!errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Fatalf("want ThrottlingException \"Rate exceeded\" (400): %v", err)
	}
	return true
}
