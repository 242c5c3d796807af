package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/internal/ingest"
)

const (
	arcAccount = "123456789012"
	arcRegion  = "eu-west-1"
)

func arcBusARN(bus string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", arcRegion, arcAccount, bus)
}

// replayed is a delivered event with the member a replay adds.
type replayed struct {
	event
	ReplayName string `json:"replay-name"`
}

// archiveSetup makes a bus with an archive of all its events and puts n
// events with times one second apart from t0 (in reverse order, ten a
// call); it returns the archive's ARN and the event ids by index. With
// rule, a rule with a target at rcv exists before the events are put.
func archiveSetup(t *testing.T, c *eventbridge.Client, bus string, n int, t0 time.Time) (string, []string) {
	t.Helper()
	if _, err := c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateArchive(ctx(t), &eventbridge.CreateArchiveInput{ArchiveName: aws.String(bus + "-arc"),
		EventSourceArn: aws.String(arcBusARN(bus))})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for k := n; k > 0; k -= 10 {
		var entries []types.PutEventsRequestEntry
		var idx []int
		for i := k - 1; i >= max(k-10, 0); i-- {
			entries = append(entries, types.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("app"),
				DetailType: aws.String("t"), Detail: aws.String(fmt.Sprintf(`{"i":%d}`, i)), Time: aws.Time(t0.Add(time.Duration(i) * time.Second))})
			idx = append(idx, i)
		}
		res, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: entries})
		if err != nil || res.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, res)
		}
		for j, e := range res.Entries {
			ids[idx[j]] = *e.EventId
		}
	}
	waitArchived(t, c, bus+"-arc", int64(n))
	return *out.ArchiveArn, ids
}

func waitArchived(t *testing.T, c *eventbridge.Client, name string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.DescribeArchive(ctx(t), &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if d.EventCount == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("archive %s holds %d events, want %d", name, d.EventCount, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func addRule(t *testing.T, c *eventbridge.Client, bus, name, url string) string {
	t.Helper()
	r, err := c.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["app"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus),
		Targets: []types.Target{{Id: aws.String("1"), Arn: aws.String(url)}}}); err != nil {
		t.Fatal(err)
	}
	return *r.RuleArn
}

func startReplay(t *testing.T, c *eventbridge.Client, name, archiveARN, bus string, from, to time.Time, filter ...string) {
	t.Helper()
	out, err := c.StartReplay(ctx(t), &eventbridge.StartReplayInput{ReplayName: aws.String(name), EventSourceArn: aws.String(archiveARN),
		EventStartTime: aws.Time(from), EventEndTime: aws.Time(to),
		Destination: &types.ReplayDestination{Arn: aws.String(arcBusARN(bus)), FilterArns: filter}})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != types.ReplayStateStarting {
		t.Fatalf("StartReplay state %s", out.State)
	}
}

func waitReplay(t *testing.T, c *eventbridge.Client, name string, within time.Duration) *eventbridge.DescribeReplayOutput {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		d, err := c.DescribeReplay(ctx(t), &eventbridge.DescribeReplayInput{ReplayName: aws.String(name)})
		if err == nil {
			switch d.State {
			case types.ReplayStateCompleted, types.ReplayStateCancelled, types.ReplayStateFailed:
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay %s not over within %v: %+v %v", name, within, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func decodeReplayed(t *testing.T, bodies [][]byte) []replayed {
	t.Helper()
	out := make([]replayed, len(bodies))
	for i, b := range bodies {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A replay sends exactly the archived events of its window, in time order,
// each with "replay-name" as the envelope's last member, to the bus's rules
// (only those of FilterArns when given), and none of them is archived again.
func TestReplayWindowOrderAndFilter(t *testing.T) {
	s := startServer(t, "--delivery-workers", "1")
	c := s.client(arcAccount, arcRegion)
	t0 := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	arc, ids := archiveSetup(t, c, "orders", 40, t0)
	a, b := newReceiver(t), newReceiver(t)
	ruleA := addRule(t, c, "orders", "a", a.URL)
	addRule(t, c, "orders", "b", b.URL)

	startReplay(t, c, "all-rules", arc, "orders", t0.Add(5*time.Second), t0.Add(25*time.Second))
	a.waitFor(t, 20, 30*time.Second)
	d := waitReplay(t, c, "all-rules", 30*time.Second)
	if d.State != types.ReplayStateCompleted || !d.EventLastReplayedTime.Equal(t0.Add(24*time.Second)) {
		t.Fatalf("DescribeReplay: %s, last replayed %v", d.State, d.EventLastReplayedTime)
	}
	b.waitFor(t, 20, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	// Deliveries to one target may overtake each other (the deliverer
	// defers tasks behind a busy target), so the set is checked here and
	// the replay's own order in TestReplayTwoProcessesExternalNATS.
	got := decodeReplayed(t, a.received())
	if len(got) != 20 {
		t.Fatalf("rule a got %d events, want 20", len(got))
	}
	want := map[string]bool{}
	for _, id := range ids[5:25] {
		want[id] = true
	}
	for k, e := range got {
		if !want[e.ID] || e.ReplayName != "all-rules" {
			t.Fatalf("event %d: id %s replay-name %q, want one of the window's and all-rules", k, e.ID, e.ReplayName)
		}
		delete(want, e.ID)
		raw := a.received()[k]
		if suffix := `,"replay-name":"all-rules"}`; string(raw[len(raw)-len(suffix):]) != suffix {
			t.Fatalf("replay-name is not the last member: %s", raw)
		}
	}

	startReplay(t, c, "only-a", arc, "orders", t0, t0.Add(time.Hour), ruleA)
	a.waitFor(t, 60, 30*time.Second)
	if d := waitReplay(t, c, "only-a", 30*time.Second); d.State != types.ReplayStateCompleted {
		t.Fatalf("only-a: %s", d.State)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(b.received()); n != 20 {
		t.Errorf("rule b got %d events, want only the first replay's 20", n)
	}
	if n := len(a.received()); n != 60 {
		t.Errorf("rule a got %d events, want 60", n)
	}
	waitArchived(t, c, "orders-arc", 40) // replayed events are not archived again
}

// slowReceiver accepts one request at a time, each after a delay, and
// records the event ids it got.
type slowReceiver struct {
	URL  string
	mu   sync.Mutex
	ids  map[string]int
	reqs int
}

func newSlowReceiver(t *testing.T, delay time.Duration) *slowReceiver {
	r := &slowReceiver{ids: map[string]int{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var e replayed
		_ = json.NewDecoder(req.Body).Decode(&e)
		time.Sleep(delay)
		r.mu.Lock()
		r.ids[e.ID]++
		r.reqs++
		r.mu.Unlock()
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "http://" + lis.Addr().String() + "/slow"
	return r
}

func (r *slowReceiver) counts() (distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids), r.reqs
}

func (r *slowReceiver) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if d, _ := r.counts(); d >= n {
			return
		}
		if time.Now().After(deadline) {
			d, _ := r.counts()
			t.Fatalf("slow receiver got %d distinct events, want %d", d, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A replay cancelled while it runs stops: CANCELLING, then CANCELLED, with
// only part of the window sent.
func TestReplayCancelMidway(t *testing.T) {
	s := startServer(t, "--delivery-workers", "1", "--replay-max-pending", "20")
	c := s.client(arcAccount, arcRegion)
	t0 := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	arc, _ := archiveSetup(t, c, "slow", 2000, t0)
	rcv := newSlowReceiver(t, 2*time.Millisecond)
	addRule(t, c, "slow", "r", rcv.URL)
	startReplay(t, c, "cancel-me", arc, "slow", t0, t0.Add(time.Hour))
	rcv.waitFor(t, 100, 30*time.Second)
	out, err := c.CancelReplay(ctx(t), &eventbridge.CancelReplayInput{ReplayName: aws.String("cancel-me")})
	if err != nil || out.State != types.ReplayStateCancelling {
		d, _ := c.DescribeReplay(ctx(t), &eventbridge.DescribeReplayInput{ReplayName: aws.String("cancel-me")})
		n, _ := rcv.counts()
		t.Fatalf("CancelReplay: %v %+v; replay %s %s after %d events", err, out, d.State, aws.ToString(d.StateReason), n)
	}
	d := waitReplay(t, c, "cancel-me", 15*time.Second)
	if d.State != types.ReplayStateCancelled || d.ReplayEndTime == nil {
		t.Fatalf("after cancel: %s", d.State)
	}
	time.Sleep(500 * time.Millisecond)
	if n, _ := rcv.counts(); n >= 2000 {
		t.Errorf("a cancelled replay sent the whole window (%d events)", n)
	}
}

// kill -9 in the middle of a replay: after a restart the replay is resumed
// (once its owner's lease lapses) and completes; every event of the window
// arrives, and nothing is archived twice.
func TestReplayKill9Resumes(t *testing.T) {
	s := startServer(t, "--delivery-workers", "1", "--replay-max-pending", "20")
	c := s.client(arcAccount, arcRegion)
	t0 := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	arc, _ := archiveSetup(t, c, "crash", 2000, t0)
	rcv := newSlowReceiver(t, 2*time.Millisecond)
	addRule(t, c, "crash", "r", rcv.URL)
	startReplay(t, c, "survive", arc, "crash", t0, t0.Add(time.Hour))
	rcv.waitFor(t, 200, 30*time.Second)
	s.kill9()
	before, _ := rcv.counts()
	s.restart()
	c = s.client(arcAccount, arcRegion)
	d := waitReplay(t, c, "survive", 60*time.Second)
	if d.State != types.ReplayStateCompleted {
		t.Fatalf("after kill -9 and restart: %s (%s)", d.State, aws.ToString(d.StateReason))
	}
	rcv.waitFor(t, 2000, 60*time.Second)
	distinct, total := rcv.counts()
	t.Logf("delivered before the kill: %d; after: %d distinct, %d requests", before, distinct, total)
	waitArchived(t, c, "crash-arc", 2000)
}

// On an external NATS server shared by two processes, a replay started
// through one is run once: every event of its window arrives exactly once.
func TestReplayTwoProcessesExternalNATS(t *testing.T) {
	url := natsServer(t)
	ps := startCluster(t, url, 2)
	a, b := ps[0], ps[1]
	ca, cb := a.client(arcAccount, arcRegion), b.client(arcAccount, arcRegion)
	t0 := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	arc, ids := archiveSetup(t, ca, "shared", 300, t0)
	waitArchived(t, cb, "shared-arc", 300)
	rcv := newSlowReceiver(t, 0)
	addRule(t, cb, "shared", "r", rcv.URL)
	// The replay's messages as they enter the events stream: its order.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(fmt.Sprintf("sy.events.%s.%s.shared", arcAccount, arcRegion))
	if err != nil {
		t.Fatal(err)
	}
	startReplay(t, cb, "once", arc, "shared", t0.Add(100*time.Second), t0.Add(200*time.Second))
	if d := waitReplay(t, ca, "once", 30*time.Second); d.State != types.ReplayStateCompleted {
		t.Fatalf("replay: %s", d.State)
	}
	var order []string
	for len(order) < 100 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("after %d replayed events: %v", len(order), err)
		}
		if m.Header.Get("Sy-Replay") != "once" {
			continue
		}
		evs, err := ingest.Events(m.Header.Get(ingest.HeaderEvents), m.Header.Get("Nats-Msg-Id"), m.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			var env replayed
			if err := json.Unmarshal(e.Envelope, &env); err != nil {
				t.Fatal(err)
			}
			order = append(order, env.ID)
		}
	}
	// archiveSetup put the events latest first: time order is the reverse.
	for k, id := range order {
		if id != ids[100+k] {
			t.Fatalf("replayed event %d is %s, want %s: not in time order", k, id, ids[100+k])
		}
	}
	rcv.waitFor(t, 100, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.reqs != 100 || len(rcv.ids) != 100 {
		t.Fatalf("got %d requests for %d events, want 100 once each", rcv.reqs, len(rcv.ids))
	}
	for _, id := range ids[100:200] {
		if rcv.ids[id] != 1 {
			t.Fatalf("event %s delivered %d times", id, rcv.ids[id])
		}
	}
}
