package e2e

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard/switchyard/internal/testpeer"
)

// TestSSRFRefusedAtCreation: with the default --deny-target-cidrs, the
// cloud metadata service given as a literal address is refused by
// PutTargets, CreateApiDestination and CreateConnection (OAuth) with a
// ValidationException that says why; a name is accepted, to be judged
// when it is dialled.
func TestSSRFRefusedAtCreation(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("meta"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	validation := func(what string, err error, addr string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
			t.Errorf("%s: %v, want a ValidationException", what, err)
			return
		}
		if msg := ae.ErrorMessage(); !strings.Contains(msg, addr) || !strings.Contains(msg, "--deny-target-cidrs") {
			t.Errorf("%s: message %q does not name %s and the flag", what, msg, addr)
		}
	}
	for _, tc := range []struct{ url, reason string }{
		{"http://169.254.169.254/latest/meta-data", "169.254.169.254 is in 169.254.0.0/16"},
		{"http://169.254.170.2/v2/credentials", "169.254.170.2 is in 169.254.0.0/16"},
		{"http://[fd00:ec2::254]/latest/meta-data", "fd00:ec2::254 is in fd00:ec2::254/128"},
		{"http://[::ffff:169.254.169.254]/latest/meta-data", "::ffff:169.254.169.254 is in 169.254.0.0/16"},
		{"http://100.100.100.200/latest/meta-data", "100.100.100.200 is in 100.100.100.200/32"},
	} {
		_, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("meta"),
			Targets: []types.Target{{Id: aws.String("m"), Arn: aws.String(tc.url)}}})
		validation("PutTargets "+tc.url, err, tc.reason)
	}

	key, err := c.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String("key"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateApiDestination(cx, &eventbridge.CreateApiDestinationInput{Name: aws.String("meta"), ConnectionArn: key.ConnectionArn,
		InvocationEndpoint: aws.String("http://169.254.169.254/latest/meta-data"), HttpMethod: types.ApiDestinationHttpMethodGet})
	validation("CreateApiDestination", err, "169.254.169.254 is in 169.254.0.0/16")
	_, err = c.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String("oauth"), AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{OAuthParameters: &types.CreateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String("http://100.100.100.200/latest/api/token"), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters: &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("id"), ClientSecret: aws.String("s")}}}})
	validation("CreateConnection", err, "100.100.100.200 is in 100.100.100.200/32")

	// A name cannot be judged until it is dialled.
	if _, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("meta"),
		Targets: []types.Target{{Id: aws.String("m"), Arn: aws.String("http://metadata.google.internal/computeMetadata/v1/")}}}); err != nil {
		t.Errorf("PutTargets with a name: %v", err)
	}
}

// countingReceiver is a real HTTP endpoint on host that counts the
// connections it accepts and the events it is given.
type countingReceiver struct {
	URL           string
	port          string
	conns, events atomic.Int32
}

func newCountingReceiver(t *testing.T, host string) *countingReceiver {
	t.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s (Linux routes all of 127/8 to loopback; this system may not): %v", host, err)
	}
	r := &countingReceiver{}
	_, r.port, _ = net.SplitHostPort(lis.Addr().String())
	r.URL = "http://" + lis.Addr().String() + "/events"
	srv := &http.Server{
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { r.events.Add(1) }),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				r.conns.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

// TestSSRFDeniedAtConnectTime: the guard is on the address dialled, not on
// the URL. With loopback's 127.0.0.1 and ::1 denied, a target
// http://localhost:PORT/ passes PutTargets (a name), but its receiver on
// 127.0.0.1 never gets a connection: localhost resolves to a denied
// address, so the delivery fails at once, without retries, into the
// dead-letter queue with ERROR_CODE TARGET_ADDRESS_DENIED, and is counted
// in switchyard_http_denied_total. A receiver on 127.0.0.2, outside the
// denied ranges, gets the same event: the ordinary path is unchanged.
// With the guard off (SWITCHYARD_DENY_TARGET_CIDRS=""), the same
// localhost target gets its event, so it is the guard, not the name, that
// kept it away.
func TestSSRFDeniedAtConnectTime(t *testing.T) {
	denied := newCountingReceiver(t, "127.0.0.1")
	allowed := newCountingReceiver(t, "127.0.0.2")
	byName := "http://localhost:" + denied.port + "/events"

	motoURL := startMoto(t)
	q := testpeer.SQS(motoURL, "us-east-1")
	dlqArn, dlqURL := testpeer.CreateQueue(t, q, "ssrf-dlq")
	s := startServer(t, "--deny-target-cidrs=127.0.0.1/32,::1/128", "--retry-base-delay=100ms", "--aws-endpoint", "sqs="+motoURL)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("ssrf"), EventPattern: aws.String(`{"source":["ssrf"]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("ssrf"), Targets: []types.Target{
		{Id: aws.String("by-name"), Arn: aws.String(byName),
			RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(5)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}},
		{Id: aws.String("allowed"), Arn: aws.String(allowed.URL)},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets of a name and an allowed literal: %v %+v", err, out)
	}
	// The literal itself is refused at once.
	_, err = c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("ssrf"),
		Targets: []types.Target{{Id: aws.String("literal"), Arn: aws.String("http://127.0.0.1:" + denied.port + "/events")}}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Errorf("PutTargets of the denied literal: %v", err)
	}

	if o, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("ssrf"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil || o.FailedEntryCount != 0 {
		t.Fatal(err, o)
	}
	msgs := testpeer.Drain(t, q, dlqURL, 1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d dead letters, want 1\n%s", len(msgs), s.logs())
	}
	a := msgs[0].Attrs
	if a["ERROR_CODE"] != "TARGET_ADDRESS_DENIED" || a["TARGET_ARN"] != byName || a["RETRY_ATTEMPTS"] != "0" || a["EXHAUSTED_RETRY_CONDITION"] != "" ||
		!strings.Contains(a["ERROR_MESSAGE"], "--deny-target-cidrs") || !strings.Contains(a["ERROR_MESSAGE"], "localhost") {
		t.Errorf("dead-letter attributes %v", a)
	}
	deadline := time.Now().Add(10 * time.Second)
	for allowed.events.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := allowed.events.Load(); n != 1 {
		t.Errorf("the allowed receiver got %d events, want 1", n)
	}
	// Long enough for retries at a 100 ms base, had there been any.
	time.Sleep(2 * time.Second)
	if n := denied.conns.Load(); n != 0 {
		t.Errorf("the receiver on the denied address accepted %d connections", n)
	}
	if n := metricSum(t, s, "switchyard_http_denied_total", ""); n != 1 {
		t.Errorf("switchyard_http_denied_total = %v, want 1 (one call, not retried)", n)
	}
	if n := metricSum(t, s, "switchyard_RetryInvocationAttempts_total", `rule="ssrf"`); n != 0 {
		t.Errorf("%v retries, want none", n)
	}
	if n := metricSum(t, s, "switchyard_InvocationsSentToDlq_total", `rule="ssrf"`); n != 1 {
		t.Errorf("InvocationsSentToDlq = %v, want 1", n)
	}
	s.stop()

	// The guard off: the same target, by the same name, is called.
	t.Setenv("SWITCHYARD_DENY_TARGET_CIDRS", "")
	off := startServer(t)
	if !strings.Contains(off.logs(), "deny-target-cidrs is empty") {
		t.Errorf("no warning that the guard is off:\n%s", off.logs())
	}
	oc := off.client(acct, "us-east-1")
	mustRule(t, oc, "default", "open", `{"source":["ssrf"]}`, byName)
	if o, err := oc.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("ssrf"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil || o.FailedEntryCount != 0 {
		t.Fatal(err, o)
	}
	deadline = time.Now().Add(10 * time.Second)
	for denied.events.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := denied.events.Load(); n != 1 {
		t.Errorf("with the guard off, the localhost target got %d events, want 1\n%s", n, off.logs())
	}
}
