package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// startCluster starts n processes on the NATS server at url, with one
// secrets key file, as every process of a cluster must have.
func startCluster(t *testing.T, url string, n int) []*server {
	key := newKeyFile(t, "secrets.key")
	var ps []*server
	for range n {
		ps = append(ps, startServer(t, "--nats-url", url, "--secrets-key-file", key))
	}
	return ps
}

// An API destination's InvocationRateLimitPerSecond holds for the cluster:
// two processes on one NATS server deliver to it at the rate together, not
// each. 24 events at 4 per second take six one-second windows, so the first
// and the last arrive more than 4 seconds apart; with a limit per process
// (8 per second together) they would within 3.
func TestAPIDestinationRateLimitIsClusterWide(t *testing.T) {
	ps := startCluster(t, natsServer(t), 2)
	a, b := ps[0], ps[1]
	rcv := newHTTPPeer(t, func(*http.Request) int { return http.StatusOK })
	c, cx := a.client(acct, "us-east-2"), ctx(t)

	conn, err := c.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String("key"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := c.CreateApiDestination(cx, &eventbridge.CreateApiDestinationInput{Name: aws.String("limited"),
		ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(rcv.URL + "/limited"),
		HttpMethod: types.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(4)})
	if err != nil {
		t.Fatal(err)
	}
	mustRule(t, c, "default", "limited", `{"source":["app.limited"]}`, aws.ToString(dest.ApiDestinationArn))
	// The second process knows the rule before the events come.
	bc := b.client(acct, "us-east-2")
	eventually(t, "the rule to reach the second process", func() bool {
		out, err := bc.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("limited")})
		return err == nil && len(out.Targets) == 1
	})

	for batch := 0; batch < 3; batch++ {
		var entries []types.PutEventsRequestEntry
		for i := 0; i < 8; i++ {
			entries = append(entries, types.PutEventsRequestEntry{Source: aws.String("app.limited"), DetailType: aws.String("x"),
				Detail: aws.String(fmt.Sprintf(`{"n":%d}`, batch*8+i))})
		}
		if out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries}); err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v", err)
		}
	}
	hits := rcv.wait(t, 24, 60*time.Second, func(h hit) bool { return h.path == "/limited" })
	span := hits[len(hits)-1].at.Sub(hits[0].at)
	t.Logf("24 deliveries over %v", span)
	if span < 4*time.Second {
		t.Errorf("24 events at 4/s for the cluster arrived within %v: the limit was applied per process", span)
	}
	// Both processes delivered: the limit was shared, not one process's.
	na, nb := invocations(t, a, "limited"), invocations(t, b, "limited")
	t.Logf("invocations: %v by the first process, %v by the second", na, nb)
	if na+nb != 24 || na == 0 || nb == 0 {
		t.Errorf("invocations %v + %v, want 24 from both processes", na, nb)
	}
}

// A process started with another secrets key than the cluster's would fail
// every delivery to an API destination; it is refused at start instead.
func TestSecretsKeyMustMatchTheCluster(t *testing.T) {
	url := natsServer(t)
	first, other := newKeyFile(t, "first.key"), newKeyFile(t, "other.key")
	startServer(t, "--nats-url", url, "--secrets-key-file", first)
	cmd := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--nats-url", url, "--secrets-key-file", other, "--auth", "none")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("a process with another secrets key kept running:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "must use the same --secrets-key-file") {
		t.Errorf("exit %v, output:\n%s", err, out)
	}
	// The same key file is accepted.
	startServer(t, "--nats-url", url, "--secrets-key-file", first)
	// The cluster's key lost: --secrets-key-reset adopts another, and from
	// then on it is the one required.
	startServer(t, "--nats-url", url, "--secrets-key-file", other, "--secrets-key-reset")
	startServer(t, "--nats-url", url, "--secrets-key-file", other)
}

// invocations is the process's switchyard_Invocations_total for the rule,
// from its /metrics.
func invocations(t *testing.T, s *server, rule string) float64 {
	t.Helper()
	return metricSum(t, s, "switchyard_Invocations_total", `rule="`+rule+`"`)
}

// metricSum sums the series of the process's metric name whose labels
// contain label (all of them when label is empty), from its /metrics.
func metricSum(t *testing.T, s *server, name, label string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		if series := f[0]; (series == name || strings.HasPrefix(series, name+"{")) && strings.Contains(series, label) {
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}
