package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/peer"
)

// The keys of the two-deployment tests: a user of account acct, known to
// both deployments, and one key per deployment for calling the other,
// which the other's credentials file lists with peer_regions.
const (
	peerUserKey, peerUserSecret = "AKIDGLOBALUSER0001", "global-user-secret"
	eastPeerKey, eastPeerSecret = "AKIDPEEREAST000001", "east-peer-secret"
	westPeerKey, westPeerSecret = "AKIDPEERWEST000001", "west-peer-secret"
	peerAccount                 = "999988887777"
	// limitedKey's identity policy denies PutEvents to us-west-2's buses.
	limitedKey, limitedSecret = "AKIDLIMITED0000001", "limited-secret"
)

// writeSecret writes a file of mode 0600 in dir.
func writeSecret(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// peerCredentials is a deployment's credentials file: the user, and the
// other deployment's key with the region that deployment serves.
func peerCredentials(t testing.TB, dir, peerKey, peerSecret, peerRegion string) string {
	return writeSecret(t, dir, "credentials.yaml", fmt.Sprintf(`keys:
  - access_key_id: %s
    secret_access_key: %s
    account: "%s"
  - access_key_id: %s
    secret_access_key: %s
    account: "%s"
    peer_regions: [%s]
  - access_key_id: %s
    secret_access_key: %s
    account: "%s"
    policies:
      - {Effect: Allow, Action: "events:*", Resource: "*"}
      - {Effect: Deny, Action: "events:PutEvents", Resource: "arn:aws:events:us-west-2:%s:event-bus/*"}
`, peerUserKey, peerUserSecret, acct, peerKey, peerSecret, peerAccount, peerRegion, limitedKey, limitedSecret, acct, acct))
}

func peerKeyFile(t testing.TB, dir, id, secret string) string {
	return writeSecret(t, dir, "peer-key.yaml", fmt.Sprintf("access_key_id: %s\nsecret_access_key: %s\n", id, secret))
}

// userClient is an EventBridge client of the user key, one attempt a call.
func userClient(s *server, region string) *eventbridge.Client {
	return keyClient(s, peerUserKey, peerUserSecret, region)
}

func keyClient(s *server, id, secret, region string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{Region: region, BaseEndpoint: aws.String("http://" + s.addr),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""), RetryMaxAttempts: 1})
}

// peerPair is two deployments, each its own process, embedded NATS and data
// directory: east serves us-east-1, west us-west-2, and each names the
// other with --region-peer. Each has a bus of one name with a rule sending
// every app.ge event to its own receiver.
type peerPair struct {
	east, west       *server
	ce, cw           *eventbridge.Client // the user's clients of east (us-east-1) and west (us-west-2)
	rcvEast, rcvWest *receiver
}

func startPeerPair(t testing.TB, motoURL string) *peerPair {
	t.Helper()
	eastDir, westDir := t.TempDir(), t.TempDir()
	common := []string{"--auth", "sigv4", "--aws-endpoint", "route53=" + motoURL, "--health-check-interval", "300ms"}
	west := startServer(t, append([]string{"--credentials-file", peerCredentials(t, westDir, eastPeerKey, eastPeerSecret, "us-east-1"),
		"--regions", "us-west-2", "--region-peer-key-file", peerKeyFile(t, westDir, westPeerKey, westPeerSecret)}, common...)...)
	east := startServer(t, append([]string{"--credentials-file", peerCredentials(t, eastDir, westPeerKey, westPeerSecret, "us-west-2"),
		"--regions", "us-east-1", "--region-peer-key-file", peerKeyFile(t, eastDir, eastPeerKey, eastPeerSecret),
		"--region-peer", "us-west-2=http://" + west.addr}, common...)...)
	// west learns east's address now that east listens: a restart on the
	// same address and data directory.
	west.stop()
	west.args = append(west.args, "--region-peer", "us-east-1=http://"+east.addr)
	west.restart()
	p := &peerPair{east: east, west: west, ce: userClient(east, "us-east-1"), cw: userClient(west, "us-west-2"),
		rcvEast: newReceiver(t), rcvWest: newReceiver(t)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("east log:\n%s\nwest log:\n%s", east.logs(), west.logs())
		}
	})
	return p
}

// buses creates bus in both deployments, each with its rule, and returns
// the endpoint's EventBuses.
func (p *peerPair) buses(t testing.TB, bus string) []types.EndpointEventBus {
	t.Helper()
	var out []types.EndpointEventBus
	for _, side := range []struct {
		c   *eventbridge.Client
		rcv *receiver
	}{{p.ce, p.rcvEast}, {p.cw, p.rcvWest}} {
		b, err := side.c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
		if err != nil {
			t.Fatal(err)
		}
		mustRule(t, side.c, bus, "all", `{"source":["app.ge"]}`, side.rcv.URL)
		out = append(out, types.EndpointEventBus{EventBusArn: b.EventBusArn})
	}
	return out
}

// endpoint creates a global endpoint in east (primary us-east-1, secondary
// us-west-2), waits until it is ACTIVE there and west has its copy, ACTIVE
// too, and returns its id and ARN.
func (p *peerPair) endpoint(t testing.TB, name, bus, hc string, replicate bool) (string, string) {
	t.Helper()
	in := &eventbridge.CreateEndpointInput{Name: aws.String(name), EventBuses: p.buses(t, bus),
		RoutingConfig: &types.RoutingConfig{FailoverConfig: &types.FailoverConfig{
			Primary: &types.Primary{HealthCheck: aws.String(hc)}, Secondary: &types.Secondary{Route: aws.String("us-west-2")}}},
		ReplicationConfig: &types.ReplicationConfig{State: types.ReplicationStateDisabled}}
	if replicate {
		in.ReplicationConfig.State = types.ReplicationStateEnabled
		in.RoleArn = aws.String("arn:aws:iam::" + acct + ":role/replication")
	}
	if _, err := p.ce.CreateEndpoint(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	d := waitEndpointState(t, p.ce, name, types.EndpointStateActive)
	eventually(t, "west's copy of "+name, func() bool {
		w, err := p.cw.DescribeEndpoint(ctx(t), &eventbridge.DescribeEndpointInput{Name: aws.String(name), HomeRegion: aws.String("us-east-1")})
		return err == nil && w.State == types.EndpointStateActive && aws.ToString(w.EndpointId) == aws.ToString(d.EndpointId) &&
			aws.ToString(w.Arn) == aws.ToString(d.Arn)
	})
	return aws.ToString(d.EndpointId), aws.ToString(d.Arn)
}

// received returns the events a receiver holds, by id.
func receivedByID(t *testing.T, r *receiver) map[string]event {
	t.Helper()
	out := map[string]event{}
	for _, b := range r.received() {
		ev := geEvent(t, b)
		out[ev.ID] = ev
	}
	return out
}

// waitEvent waits until r has the event id and returns it.
func waitEvent(t *testing.T, r *receiver, id string, within time.Duration) event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ev, ok := receivedByID(t, r)[id]; ok {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s not received within %v (%d others)", id, within, len(r.received()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGlobalEndpointAcrossDeployments: the two regions of a global
// endpoint are served by two Switchyard deployments. Healthy, the events
// of PutEvents with its EndpointId land in the primary's bus (east), sent
// to either deployment; with the health check failing, in the
// secondary's (west), with the id PutEvents answered, the account, time
// and source they were sent with. It measures the failover time: from the
// health target failing to the first event routed to west.
func TestGlobalEndpointAcrossDeployments(t *testing.T) {
	m := startMoto(t)
	target := newHealthTarget(t)
	hc := createHealthCheck(t, m, target, 2)
	p := startPeerPair(t, m)
	id, _ := p.endpoint(t, "orders-2dc", "orders-2dc", hc, false)
	waitHealthy(t, p.east, "orders-2dc", true)
	waitHealthy(t, p.west, "orders-2dc", true)

	// Healthy: east's bus, whichever deployment the publisher reaches.
	e1 := putThrough(t, p.ce, id, "orders-2dc", `{"n":1}`)
	if ev := waitEvent(t, p.rcvEast, e1, 10*time.Second); ev.Region != "us-east-1" || ev.Account != acct {
		t.Fatalf("event %+v, want us-east-1 of %s", ev, acct)
	}
	e2 := putThrough(t, p.cw, id, "orders-2dc", `{"n":2}`) // west forwards it to east
	if ev := waitEvent(t, p.rcvEast, e2, 10*time.Second); ev.Region != "us-east-1" || ev.Account != acct || ev.Source != "app.ge" {
		t.Fatalf("forwarded event %+v", ev)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(p.rcvWest.received()); n != 0 {
		t.Fatalf("west received %d events while the primary is healthy", n)
	}

	// The health target fails: east routes to west's bus. Events are
	// sent every 50 ms from the moment the target fails; the failover
	// time is until the first one west's bus takes.
	target.status.Store(http.StatusServiceUnavailable)
	failed := time.Now()
	var toWest string
	var sentAt time.Time
	for toWest == "" {
		if time.Since(failed) > 20*time.Second {
			t.Fatal("no event routed to west within 20s of the health target failing")
		}
		at := time.Now()
		eid := putThrough(t, p.ce, id, "orders-2dc", `{"n":"probe"}`)
		time.Sleep(50 * time.Millisecond)
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if _, ok := receivedByID(t, p.rcvWest)[eid]; ok {
				toWest, sentAt = eid, at
				break
			}
			if _, ok := receivedByID(t, p.rcvEast)[eid]; ok {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ev := waitEvent(t, p.rcvWest, toWest, time.Second)
	t.Logf("failover: health target failing → first event routed to the other deployment: %v (FailureThreshold 2, interval 300ms); delivered %v after its PutEvents",
		sentAt.Sub(failed).Round(time.Millisecond), time.Since(sentAt).Round(time.Millisecond))
	if ev.Region != "us-west-2" || ev.Account != acct || ev.Source != "app.ge" || ev.DetailType != "GE" || !slices.Equal(ev.Resources, []string{"arn:aws:s3:::orders"}) {
		t.Fatalf("failed-over event %+v", ev)
	}
	waitHealthy(t, p.west, "orders-2dc", false)
	e3 := putThrough(t, p.cw, id, "orders-2dc", `{"n":3}`) // west stores it itself
	if ev := waitEvent(t, p.rcvWest, e3, 10*time.Second); ev.Region != "us-west-2" {
		t.Fatalf("event %+v", ev)
	}
	// Explicit time kept across the forward.
	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	out, err := p.ce.PutEvents(ctx(t), &eventbridge.PutEventsInput{EndpointId: aws.String(id), Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{"n":4}`), EventBusName: aws.String("orders-2dc"), Time: &when}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	if ev := waitEvent(t, p.rcvWest, aws.ToString(out.Entries[0].EventId), 10*time.Second); ev.Time != "2026-03-04T05:06:07Z" {
		t.Fatalf("forwarded event's time %s", ev.Time)
	}

	// Healthy again: back to east.
	target.status.Store(http.StatusOK)
	waitHealthy(t, p.east, "orders-2dc", true)
	e5 := putThrough(t, p.ce, id, "orders-2dc", `{"n":5}`)
	waitEvent(t, p.rcvEast, e5, 10*time.Second)

	// A bus the endpoint does not have is refused per entry by west, the
	// deployment that would store it.
	target.status.Store(http.StatusServiceUnavailable)
	waitHealthy(t, p.east, "orders-2dc", false)
	out, err = p.ce.PutEvents(ctx(t), &eventbridge.PutEventsInput{EndpointId: aws.String(id), Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{}`), EventBusName: aws.String("no-such-bus")},
		{Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{"n":6}`), EventBusName: aws.String("orders-2dc")}}})
	if err != nil || out.FailedEntryCount != 1 || out.Entries[0].ErrorCode == nil || aws.ToString(out.Entries[1].EventId) == "" {
		t.Fatalf("PutEvents with an unknown bus: %v %+v", err, out)
	}
	if got := aws.ToString(out.Entries[0].ErrorCode); got != "AccessDeniedException" && got != "ResourceNotFoundException" {
		t.Errorf("unknown bus: %s", got)
	}
	waitEvent(t, p.rcvWest, aws.ToString(out.Entries[1].EventId), 10*time.Second)

	// West's copy is east's to change: refused in west (in the home
	// region's scope, where it is recorded), removed when east deletes
	// the endpoint, after which west refuses the EndpointId too.
	_, err = userClient(p.west, "us-east-1").UpdateEndpoint(ctx(t), &eventbridge.UpdateEndpointInput{Name: aws.String("orders-2dc"), Description: aws.String("x")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "managed by the deployment serving its home Region us-east-1") {
		t.Errorf("UpdateEndpoint of west's copy: %v", err)
	}
	if _, err := p.ce.DeleteEndpoint(ctx(t), &eventbridge.DeleteEndpointInput{Name: aws.String("orders-2dc")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "west's copy removed", func() bool {
		_, err := p.cw.DescribeEndpoint(ctx(t), &eventbridge.DescribeEndpointInput{Name: aws.String("orders-2dc"), HomeRegion: aws.String("us-east-1")})
		return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
	})
	_, err = p.cw.PutEvents(ctx(t), &eventbridge.PutEventsInput{EndpointId: aws.String(id), Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{}`), EventBusName: aws.String("orders-2dc")}}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("PutEvents to west through a deleted endpoint: %v", err)
	}
}

// TestGlobalEndpointReplicationAcrossDeployments: with replication
// ENABLED, each event stored in east through the endpoint reaches west
// too, as AWS's replicated event (region us-east-1, the endpoint's ARN in
// resources, an id of its own), asynchronously: PutEvents does not wait
// for west. West killed (-9) while events are sent, then started again:
// the replicas waited in east's JetStream and arrive, each once. With the
// primary unhealthy, west stores the events and east gets the replicas.
// It measures the replication lag.
func TestGlobalEndpointReplicationAcrossDeployments(t *testing.T) {
	m := startMoto(t)
	target := newHealthTarget(t)
	hc := createHealthCheck(t, m, target, 1)
	p := startPeerPair(t, m)
	id, arn := p.endpoint(t, "orders-rep2", "orders-rep2", hc, true)
	waitHealthy(t, p.east, "orders-rep2", true)

	check := func(orig, rep event, from string) {
		t.Helper()
		if rep.ID == orig.ID || rep.Region != from || rep.Account != acct || rep.Source != orig.Source || rep.Time != orig.Time ||
			!slices.Equal(rep.Resources, append(slices.Clone(orig.Resources), arn)) || string(rep.Detail) != string(orig.Detail) {
			t.Fatalf("replica %+v of %+v", rep, orig)
		}
	}
	// The replica is found by its detail, which each event has its own of.
	byDetail := func(r *receiver, detail string) (event, bool) {
		for _, b := range r.received() {
			if ev := geEvent(t, b); string(ev.Detail) == detail {
				return ev, true
			}
		}
		return event{}, false
	}
	var lags []time.Duration
	for i := range 20 {
		detail := fmt.Sprintf(`{"lag":%d}`, i)
		sent := time.Now()
		eid := putThrough(t, p.ce, id, "orders-rep2", detail)
		var rep event
		for ok := false; !ok; {
			if rep, ok = byDetail(p.rcvWest, detail); !ok {
				if time.Since(sent) > 15*time.Second {
					t.Fatalf("no replica of %s within 15s", eid)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		lags = append(lags, time.Since(sent))
		check(waitEvent(t, p.rcvEast, eid, 10*time.Second), rep, "us-east-1")
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("replication lag (PutEvents sent in east → replica at west's target), 20 events one at a time: median %v, max %v",
		lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))

	// West dies (kill -9) with events being sent: every PutEvents is
	// acknowledged by east, the replicas wait.
	before := len(p.rcvWest.received())
	const down = 30
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(100 * time.Millisecond)
		p.west.kill9()
	}()
	var acked []string
	for i := range down {
		eid := putThrough(t, p.ce, id, "orders-rep2", fmt.Sprintf(`{"down":%d}`, i))
		acked = append(acked, eid)
		time.Sleep(10 * time.Millisecond)
	}
	<-done
	for _, eid := range acked {
		waitEvent(t, p.rcvEast, eid, 10*time.Second)
	}
	time.Sleep(2 * time.Second) // the outbox retries meanwhile
	if f := metricSum(t, p.east, "switchyard_peer_replication_failures_total", `region="us-west-2"`); f == 0 {
		t.Error("no failed replication call counted while west was down")
	}
	restarted := time.Now()
	p.west.restart()
	eventually(t, "the replicas sent while west was down", func() bool {
		n := 0
		for i := range down {
			if _, ok := byDetail(p.rcvWest, fmt.Sprintf(`{"down":%d}`, i)); ok {
				n++
			}
		}
		return n == down
	})
	t.Logf("catch-up: %d replicas queued while west was down arrived %v after its restart",
		down, time.Since(restarted).Round(time.Millisecond))
	time.Sleep(time.Second)
	// Each replica is one event: one id however often it arrives. West
	// killed between storing a replica and answering is sent it again,
	// with its id, which west's JetStream deduplicates within two
	// minutes; west killed between calling its target and recording the
	// call calls it again — EventBridge's at-least-once delivery ("consumers
	// should also be designed with idempotency in mind", global endpoints
	// best practices) — with the same id too.
	ids := map[string]map[string]bool{}
	redelivered := 0
	for _, b := range p.rcvWest.received()[before:] {
		ev := geEvent(t, b)
		d := string(ev.Detail)
		if ids[d] == nil {
			ids[d] = map[string]bool{}
		}
		if ids[d][ev.ID] {
			redelivered++
		}
		ids[d][ev.ID] = true
	}
	for d, set := range ids {
		if len(set) != 1 {
			t.Errorf("replica %s arrived as %d events: %v", d, len(set), set)
		}
	}
	t.Logf("%d replicas delivered again by west's targets after its kill -9 (same id: at-least-once delivery)", redelivered)

	// East dies (kill -9) with replicas waiting in its outbox (west is
	// stopped meanwhile, so none can have been sent): they were stored
	// before PutEvents answered, and go out once both are back.
	p.west.stop()
	for i := range down {
		putThrough(t, p.ce, id, "orders-rep2", fmt.Sprintf(`{"east-killed":%d}`, i))
	}
	p.east.kill9()
	p.west.restart()
	p.east.restart()
	eventually(t, "the replicas queued when east was killed", func() bool {
		n := 0
		for i := range down {
			if _, ok := byDetail(p.rcvWest, fmt.Sprintf(`{"east-killed":%d}`, i)); ok {
				n++
			}
		}
		return n == down
	})

	// Unhealthy: west's bus takes the events (forwarded synchronously),
	// east gets the replicas, region us-west-2.
	target.status.Store(http.StatusServiceUnavailable)
	waitHealthy(t, p.east, "orders-rep2", false)
	eid := putThrough(t, p.ce, id, "orders-rep2", `{"failed-over":1}`)
	orig := waitEvent(t, p.rcvWest, eid, 10*time.Second)
	var rep event
	eventually(t, "replica in east", func() bool {
		var ok bool
		rep, ok = byDetail(p.rcvEast, `{"failed-over":1}`)
		return ok
	})
	check(orig, rep, "us-west-2")

	// The primary site down: east killed, its health check failing.
	// Publishers sent to west keep publishing through the endpoint; the
	// replicas for us-east-1 wait in west's outbox and reach east when it
	// is back, so that it has them when it recovers.
	p.east.kill9()
	waitHealthy(t, p.west, "orders-rep2", false)
	var whileDown []event
	for i := range 5 {
		eid := putThrough(t, p.cw, id, "orders-rep2", fmt.Sprintf(`{"east-down":%d}`, i))
		whileDown = append(whileDown, waitEvent(t, p.rcvWest, eid, 10*time.Second))
	}
	p.east.restart()
	for i, orig := range whileDown {
		var rep event
		eventually(t, "replica in east of an event put in west while east was down", func() bool {
			var ok bool
			rep, ok = byDetail(p.rcvEast, fmt.Sprintf(`{"east-down":%d}`, i))
			return ok
		})
		check(orig, rep, "us-west-2")
	}
}

// TestGlobalEndpointPeerMisconfigured: a --region-peer that names a
// deployment serving another region, or one that refuses this
// deployment's key, stops the start with a message saying so.
func TestGlobalEndpointPeerMisconfigured(t *testing.T) {
	westDir := t.TempDir()
	west := startServer(t, "--auth", "sigv4", "--credentials-file", peerCredentials(t, westDir, eastPeerKey, eastPeerSecret, "us-east-1"),
		"--regions", "us-west-2")
	dir := t.TempDir()
	for _, c := range []struct {
		name, peer, key, want string
	}{
		{"wrong region", "eu-west-1=http://" + west.addr, eastPeerKey, "that deployment does not serve eu-west-1 (it serves us-west-2)"},
		{"key refused", "us-west-2=http://" + west.addr, "AKIDNOTLISTED00001", "the peer refused this deployment's key AKIDNOTLISTED00001"},
		{"region served here too", "us-east-1=http://" + west.addr, eastPeerKey, "region us-east-1 is in --regions and also --region-peer's"},
		{"not a URL", "us-west-2=" + west.addr, eastPeerKey, "is not the http(s)://host:port URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := writeSecret(t, dir, c.name+".yaml", fmt.Sprintf("access_key_id: %s\nsecret_access_key: %s\n", c.key, eastPeerSecret))
			cx, cancel := context.WithTimeout(ctx(t), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(cx, binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--auth", "none",
				"--regions", "us-east-1", "--region-peer", c.peer, "--region-peer-key-file", key).CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Fatalf("started with %s (%v):\n%s\nwant %q", c.peer, err, out, c.want)
			}
		})
	}
	// A key file others can read is refused.
	loose := filepath.Join(dir, "loose.yaml")
	if err := os.WriteFile(loose, []byte("access_key_id: a\nsecret_access_key: b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--auth", "none",
		"--region-peer", "us-west-2=http://"+west.addr, "--region-peer-key-file", loose).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "lets others read the key") {
		t.Fatalf("started with a readable key file (%v):\n%s", err, out)
	}
}

// TestGlobalEndpointPeerAuthority: who may hand a deployment events with
// their own account and id. Only a peer key (peer_regions), and only into
// a bus of a global endpoint joining it to one of the key's regions, with
// an envelope of the account and id it claims; a user's key may not call
// the peer API at all, and a peer key may not call EventBridge.
func TestGlobalEndpointPeerAuthority(t *testing.T) {
	m := startMoto(t)
	target := newHealthTarget(t)
	hc := createHealthCheck(t, m, target, 2)
	p := startPeerPair(t, m)
	p.endpoint(t, "orders-auth", "orders-auth", hc, false)
	if _, err := userClient(p.west, "us-west-2").CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("unlinked")}); err != nil {
		t.Fatal(err)
	}
	envelope := func(id, account, region string) []byte {
		return fmt.Appendf(nil, `{"version":"0","id":"%s","detail-type":"GE","source":"app.ge","account":"%s","time":"2026-01-02T03:04:05Z","region":"%s","resources":[],"detail":{"forged":true}}`,
			id, account, region)
	}
	ev := func(id, account, region, bus, envRegion string) ingest.PeerEvent {
		return ingest.PeerEvent{Account: account, Region: region, Bus: bus, ID: id, Envelope: envelope(id, account, envRegion)}
	}
	westURL := "http://" + p.west.addr
	asEast := peer.NewClient("us-west-2", westURL, peer.Key{AccessKeyID: eastPeerKey, SecretAccessKey: eastPeerSecret})
	cases := []struct {
		name string
		ev   ingest.PeerEvent
		want string // "" stored
	}{
		{"linked bus, forwarded", ev("11111111-0000-4000-8000-000000000001", acct, "us-west-2", "orders-auth", "us-west-2"), ""},
		{"linked bus, replicated from the key's region", ev("11111111-0000-4000-8000-000000000002", acct, "us-west-2", "orders-auth", "us-east-1"), ""},
		{"a bus no endpoint joins to us-east-1", ev("11111111-0000-4000-8000-000000000003", acct, "us-west-2", "unlinked", "us-west-2"), "AccessDeniedException"},
		{"a region the key does not serve in the envelope", ev("11111111-0000-4000-8000-000000000004", acct, "us-west-2", "orders-auth", "eu-west-1"), "AccessDeniedException"},
		{"a region not served here", ev("11111111-0000-4000-8000-000000000005", acct, "eu-west-1", "orders-auth", "eu-west-1"), "AccessDeniedException"},
		{"another account's (no endpoint there)", ev("11111111-0000-4000-8000-000000000006", "444455556666", "us-west-2", "orders-auth", "us-west-2"), "AccessDeniedException"},
		{"envelope of another id", ingest.PeerEvent{Account: acct, Region: "us-west-2", Bus: "orders-auth", ID: "x1",
			Envelope: envelope("x2", acct, "us-west-2")}, "AccessDeniedException"},
		{"envelope not JSON", ingest.PeerEvent{Account: acct, Region: "us-west-2", Bus: "orders-auth", ID: "x3", Envelope: []byte(`"x"`)}, "MalformedDetail"},
		{"a bus that does not exist", ev("11111111-0000-4000-8000-000000000007", acct, "us-west-2", "nope", "us-west-2"), "AccessDeniedException"},
	}
	for _, c := range cases {
		res, err := asEast.StoreEvents(ctx(t), []ingest.PeerEvent{c.ev})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res[0].ErrorCode != c.want {
			t.Errorf("%s: %+v, want %q", c.name, res[0], c.want)
		}
	}
	// More than a call may carry is refused as a whole.
	many := make([]ingest.PeerEvent, peer.MaxEvents+1)
	for i := range many {
		many[i] = ev(fmt.Sprintf("22222222-0000-4000-8000-%012d", i), acct, "us-west-2", "orders-auth", "us-west-2")
	}
	_, err := asEast.StoreEvents(ctx(t), many)
	var pe *peer.APIError
	if !errors.As(err, &pe) || pe.Code != "ValidationException" {
		t.Errorf("%d events in one call: %v", len(many), err)
	}
	got := waitEvent(t, p.rcvWest, "11111111-0000-4000-8000-000000000002", 10*time.Second)
	if got.Account != acct || got.Time != "2026-01-02T03:04:05Z" || got.Region != "us-east-1" {
		t.Errorf("stored as %+v", got)
	}

	// A user's key, and the wrong peer's key (west's own, which west's
	// file does not list as a peer), may not call the peer API.
	for _, k := range []peer.Key{{AccessKeyID: peerUserKey, SecretAccessKey: peerUserSecret}, {AccessKeyID: westPeerKey, SecretAccessKey: westPeerSecret}} {
		_, err := peer.NewClient("us-west-2", westURL, k).StoreEvents(ctx(t), []ingest.PeerEvent{cases[0].ev})
		var ae *peer.APIError
		if !errors.As(err, &ae) || ae.Retryable() {
			t.Errorf("key %s calling the peer API: %v", k.AccessKeyID, err)
		}
	}
	// A peer key may not call EventBridge.
	_, err = keyClient(p.west, eastPeerKey, eastPeerSecret, "us-west-2").ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("peer key calling ListEventBuses: %v", err)
	}
	// An identity policy holds for events forwarded to the peer as for
	// events stored here: limitedKey may not put events to us-west-2's
	// buses, so not through the endpoint once it routes there.
	id, _ := p.endpoint(t, "orders-auth2", "orders-auth2", hc, false)
	limited := keyClient(p.east, limitedKey, limitedSecret, "us-east-1")
	waitHealthy(t, p.east, "orders-auth2", true)
	putThrough(t, limited, id, "orders-auth2", `{"allowed":true}`)
	target.status.Store(http.StatusServiceUnavailable)
	waitHealthy(t, p.east, "orders-auth2", false)
	_, err = limited.PutEvents(ctx(t), &eventbridge.PutEventsInput{EndpointId: aws.String(id), Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{}`), EventBusName: aws.String("orders-auth2")}}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(ae.ErrorMessage(), "event-bus/orders-auth2") {
		t.Errorf("limited key through the endpoint to us-west-2: %v", err)
	}
	putThrough(t, p.ce, id, "orders-auth2", `{"user":true}`)

	// Nor may a peer key describe endpoints of a region it does not
	// serve, or whose secondary region is not served here.
	for _, e := range []*control.Endpoint{
		{Scope: control.Scope{Account: acct, Region: "eu-west-1"}, Name: "x", ID: "abcdefghij.xyz", SecondaryRegion: "us-west-2"},
		{Scope: control.Scope{Account: acct, Region: "us-east-1"}, Name: "x", ID: "abcdefghij.xyz", SecondaryRegion: "eu-west-1"},
		// Buses of another account, which would let east's events into it.
		{Scope: control.Scope{Account: acct, Region: "us-east-1"}, Name: "x", ID: "abcdefghij.xyz", SecondaryRegion: "us-west-2",
			Replication: control.ReplicationDisabled, EventBuses: []string{"arn:aws:events:us-east-1:444455556666:event-bus/b", "arn:aws:events:us-west-2:444455556666:event-bus/b"}},
		{Scope: control.Scope{Account: acct, Region: "us-east-1"}, Name: "x", ID: "abcdefghij.xyz", SecondaryRegion: "us-west-2",
			Replication: control.ReplicationDisabled, EventBuses: []string{"arn:aws:events:us-east-1:" + acct + ":event-bus/b"}},
	} {
		err := asEast.SyncEndpoints(ctx(t), []*control.Endpoint{e})
		var ae *peer.APIError
		if !errors.As(err, &ae) || ae.Code != "ValidationException" {
			t.Errorf("syncing %s/%s → %s: %v", e.Region, e.Name, e.SecondaryRegion, err)
		}
	}
}

// flakyPeer stands in for a peer deployment that is down in one of three
// ways: answering 503, accepting connections and never answering, or
// refusing this deployment's key.
func flakyPeer(t *testing.T, mode string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode {
		case "hanging":
			<-r.Context().Done()
		case "key refused":
			// Refused at start only once it has been up: the start checks
			// the key of a peer that answers.
			w.Header().Set("x-amzn-ErrorType", "UnrecognizedClientException")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"Message":"The security token included in the request is invalid."}`))
		default:
			w.Header().Set("x-amzn-ErrorType", "ServiceUnavailableException")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"Message":"down"}`))
		}
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + lis.Addr().String()
}

// servePeerAt proxies the address of url to the server at to.
func servePeerAt(t *testing.T, url, to string) {
	t.Helper()
	lis, err := net.Listen("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	target, _ := neturl.Parse(to)
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// TestGlobalEndpointPeerDown: the deployment serving the secondary region
// answers 503, hangs, or refuses this deployment's key. Replicated events are acknowledged at once
// (they wait in the outbox, counted as failing calls); events routed to
// the secondary fail the PutEvents call retryably within the forward's 5 s
// bound, so that the SDK tries again, and nothing is acknowledged that was
// not stored.
func TestGlobalEndpointPeerDown(t *testing.T) {
	m := startMoto(t)
	for _, mode := range []string{"5xx", "hanging", "key refused"} {
		t.Run(mode, func(t *testing.T) {
			target := newHealthTarget(t)
			hc := createHealthCheck(t, m, target, 1)
			dir := t.TempDir()
			var peerURL string
			if mode == "key refused" {
				// A peer that refuses the key from the start stops the
				// start (TestGlobalEndpointPeerMisconfigured); here it is
				// unreachable then and refuses the key once it is up.
				lis, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				peerURL = "http://" + lis.Addr().String()
				_ = lis.Close()
			} else {
				peerURL = flakyPeer(t, mode)
			}
			east := startServer(t, "--auth", "sigv4", "--credentials-file", peerCredentials(t, dir, westPeerKey, westPeerSecret, "us-west-2"),
				"--regions", "us-east-1", "--region-peer-key-file", peerKeyFile(t, dir, eastPeerKey, eastPeerSecret),
				"--region-peer", "us-west-2="+peerURL, "--aws-endpoint", "route53="+m, "--health-check-interval", "300ms")
			c := userClient(east, "us-east-1")
			rcv := newReceiver(t)
			b, err := c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("orders-down")})
			if err != nil {
				t.Fatal(err)
			}
			mustRule(t, c, "orders-down", "all", `{"source":["app.ge"]}`, rcv.URL)
			_, err = c.CreateEndpoint(ctx(t), &eventbridge.CreateEndpointInput{Name: aws.String("down"),
				EventBuses: []types.EndpointEventBus{{EventBusArn: b.EventBusArn}, {EventBusArn: aws.String("arn:aws:events:us-west-2:" + acct + ":event-bus/orders-down")}},
				RoutingConfig: &types.RoutingConfig{FailoverConfig: &types.FailoverConfig{
					Primary: &types.Primary{HealthCheck: aws.String(hc)}, Secondary: &types.Secondary{Route: aws.String("us-west-2")}}},
				RoleArn: aws.String("arn:aws:iam::" + acct + ":role/replication")})
			if err != nil {
				t.Fatal(err)
			}
			d := waitEndpointState(t, c, "down", types.EndpointStateActive)
			id := aws.ToString(d.EndpointId)
			waitHealthy(t, east, "down", true)
			if mode == "key refused" {
				servePeerAt(t, peerURL, flakyPeer(t, mode))
			}
			start := time.Now()
			for i := range 5 {
				waitEvent(t, rcv, putThrough(t, c, id, "orders-down", fmt.Sprintf(`{"n":%d}`, i)), 10*time.Second)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("5 PutEvents with replication to a peer that is down took %v", el)
			}
			eventually(t, "failing replication calls counted", func() bool {
				return metricSum(t, east, "switchyard_peer_replication_failures_total", `region="us-west-2"`) > 0
			})
			if q := metricSum(t, east, "switchyard_peer_replication_queued_total", ""); q != 5 {
				t.Errorf("%v replicas queued, want 5", q)
			}
			target.status.Store(http.StatusServiceUnavailable)
			waitHealthy(t, east, "down", false)
			start = time.Now()
			_, err = c.PutEvents(ctx(t), &eventbridge.PutEventsInput{EndpointId: aws.String(id), Entries: []types.PutEventsRequestEntry{{
				Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{}`), EventBusName: aws.String("orders-down")}}})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailableException" {
				t.Fatalf("PutEvents routed to a peer that is down: %v", err)
			}
			if el := time.Since(start); el > 7*time.Second {
				t.Errorf("refused after %v", el)
			}
			t.Logf("routed to a peer that is down: refused with %s after %v", ae.ErrorCode(), time.Since(start).Round(time.Millisecond))
		})
	}
}

// BenchmarkGlobalEndpointReplication measures replication between two
// deployments: "off", PutEvents of 10 entries through an endpoint without
// replication, for comparison; "live", PutEvents of 10 entries through an endpoint with
// replication ENABLED in east until every replica has reached west's
// target; "catch-up", the same with west stopped while the events are
// put, from its restart until the backlog has arrived. Each reports
// replicated events per second.
//
//	go test -run '^$' -bench BenchmarkGlobalEndpointReplication -benchtime 2000x ./test/e2e/
func BenchmarkGlobalEndpointReplication(b *testing.B) {
	for _, mode := range []string{"off", "live", "catch-up"} {
		b.Run(mode, func(b *testing.B) { benchReplication(b, mode) })
	}
}

func benchReplication(b *testing.B, mode string) {
	m := startMoto(b)
	hc := createHealthCheck(b, m, newHealthTarget(b), 2)
	p := startPeerPair(b, m)
	id, _ := p.endpoint(b, "bench-rep", "bench-rep", hc, mode != "off")
	catchUp := mode == "catch-up"
	entries := make([]types.PutEventsRequestEntry, 10)
	for i := range entries {
		entries[i] = types.PutEventsRequestEntry{Source: aws.String("app.ge"), DetailType: aws.String("GE"),
			Detail: aws.String(`{"order":{"id":12345,"items":[1,2,3]}}`), EventBusName: aws.String("bench-rep")}
	}
	calls := (b.N + 9) / 10
	if catchUp {
		p.west.stop()
	}
	b.ResetTimer()
	start := time.Now()
	for range calls {
		out, err := p.ce.PutEvents(context.Background(), &eventbridge.PutEventsInput{EndpointId: aws.String(id), Entries: entries})
		if err != nil || out.FailedEntryCount != 0 {
			b.Fatalf("PutEvents: %v", err)
		}
	}
	put := time.Since(start)
	if catchUp {
		start = time.Now()
		p.west.restart()
	}
	want := calls * 10
	if mode == "off" {
		b.ReportMetric(float64(want)/put.Seconds(), "put-events/s")
		return
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(p.rcvWest.received()) < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d replicas", len(p.rcvWest.received()), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/el.Seconds(), "replicas/s")
	b.ReportMetric(float64(want)/put.Seconds(), "put-events/s")
}
