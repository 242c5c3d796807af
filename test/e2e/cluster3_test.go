package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/switchyard/switchyard/internal/devcluster"
)

// startCluster3 runs a 3-node NATS JetStream cluster and three switchyard
// processes on it (package devcluster, as make cluster does).
func startCluster3(t *testing.T, args ...string) *devcluster.Cluster {
	t.Helper()
	natsBin, err := devcluster.BuildNATS(context.Background(), "../..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := newKeyFile(t, "secrets.key")
	args = append([]string{"--auth", "none", "--quota-putevents", "0", "--quota-control", "0", "--secrets-key-file", key}, args...)
	c, err := devcluster.Start(ctx(t), devcluster.Config{Nodes: 3, Switchyard: binary, NATS: natsBin, Dir: t.TempDir(), Args: args})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range append(append([]*devcluster.Member{}, c.Switchyard...), c.NATS...) {
				out := m.Output()
				if len(out) > 6000 {
					out = out[len(out)-6000:]
				}
				t.Logf("--- %s (last lines):\n%s", m.Name, out)
			}
		}
		c.Close()
	})
	return c
}

func clusterClient(m *devcluster.Member) *eventbridge.Client {
	return (&server{addr: m.Addr}).client(acct, "us-east-1")
}

// successfulAttempts sums switchyard_SuccessfulInvocationAttempts_total on
// a member's /metrics: the deliveries it made.
func successfulAttempts(t *testing.T, m *devcluster.Member) float64 {
	resp, err := http.Get("http://" + m.Addr + "/metrics")
	if err != nil {
		t.Logf("%s /metrics: %v", m.Name, err)
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "switchyard_SuccessfulInvocationAttempts_total{") {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// TestFaultThreeNodeCluster: three switchyard processes on a 3-node NATS
// JetStream cluster, under sustained PutEvents through all three, while one
// NATS node and then one switchyard process are killed with kill -9 and
// started again, and then every switchyard is restarted in turn (a rolling
// restart; with SWITCHYARD_SOAK the rounds of faults repeat that long, as
// make soak runs it). Every acknowledged event is delivered (at least once; the
// duplicates are counted and reported), deliveries are shared by the
// processes, the archive counts every event, and the scheduled rule's
// minute tick is delivered exactly once.
func TestFaultThreeNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster under load, with kill -9")
	}
	c := startCluster3(t, "--retry-base-delay", "200ms")
	rcv := newReceiver(t)
	tick := newReceiver(t)
	admin := clusterClient(c.Switchyard[0])
	// One round of faults, on members chosen by round; with SWITCHYARD_SOAK
	// the rounds repeat until that long has passed (make soak), so the
	// test's context outlasts the soak.
	soak := soakDuration(t, 0)
	cx, cancel := context.WithTimeout(context.Background(), soak+5*time.Minute)
	defer cancel()
	if _, err := admin.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("load")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String("load"), EventPattern: aws.String(`{"source":["load"]}`)}); err != nil {
		t.Fatal(err)
	}
	if out, err := admin.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String("load"),
		Targets: []types.Target{{Id: aws.String("r"), Arn: aws.String(rcv.URL),
			RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(185), MaximumEventAgeInSeconds: aws.Int32(86400)}}}}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	arch, err := admin.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("load-archive"),
		EventSourceArn: aws.String("arn:aws:events:us-east-1:" + acct + ":event-bus/load")})
	if err != nil {
		t.Fatal(err)
	}
	_ = arch
	// Clear of a minute boundary, so that the first tick is the next one.
	if until := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); until < 5*time.Second {
		time.Sleep(until + time.Second)
	}
	created := time.Now()
	scheduledRule(t, admin, "minutely", "rate(1 minute)", tick.URL)
	firstTick := created.UTC().Truncate(time.Minute).Add(time.Minute)

	// The rule must be in every process's view before the load starts.
	for _, m := range c.Switchyard {
		cl := clusterClient(m)
		eventually(t, m.Name+" to see the rule", func() bool {
			_, err := cl.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("all"), EventBusName: aws.String("load")})
			return err == nil
		})
	}

	var (
		mu     sync.Mutex
		acked  = map[string]bool{}
		calls  atomic.Int64
		failed atomic.Int64
	)
	// One client per member: a client per request would open a connection
	// each, and the processes' per-client connection cap would refuse them.
	clients := make([]*eventbridge.Client, len(c.Switchyard))
	for i, m := range c.Switchyard {
		clients[i] = clusterClient(m)
	}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; loadCtx.Err() == nil; n++ {
				m := c.Switchyard[(w+n)%3]
				if !m.Running() {
					continue
				}
				cl := clients[(w+n)%3]
				entries := make([]types.PutEventsRequestEntry, 10)
				for i := range entries {
					entries[i] = types.PutEventsRequestEntry{EventBusName: aws.String("load"), Source: aws.String("load"),
						DetailType: aws.String("t"), Detail: aws.String(fmt.Sprintf(`{"w":%d,"n":%d,"i":%d}`, w, n, i))}
				}
				rctx, cancel := context.WithTimeout(loadCtx, 10*time.Second)
				out, err := cl.PutEvents(rctx, &eventbridge.PutEventsInput{Entries: entries})
				cancel()
				calls.Add(1)
				if err != nil {
					failed.Add(1)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				mu.Lock()
				for _, e := range out.Entries {
					if e.EventId != nil && e.ErrorCode == nil {
						acked[*e.EventId] = true
					}
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond) // a sustained, not a saturating, load
			}
		}()
	}
	var steps []faultStep
	step := func(what string, f func()) {
		t.Logf("%s: %s", time.Since(created).Round(100*time.Millisecond), what)
		steps = append(steps, faultStep{what, time.Now()})
		f()
	}
	for round := 0; round == 0 || time.Since(created) < soak; round++ {
		n, sy := c.NATS[(1+round)%3], c.Switchyard[(2+round)%3]
		time.Sleep(4 * time.Second)
		step("kill -9 "+n.Name, n.Kill9)
		time.Sleep(5 * time.Second)
		step("start "+n.Name, func() {
			if err := n.Start(); err != nil {
				t.Fatal(err)
			}
		})
		time.Sleep(4 * time.Second)
		step("kill -9 "+sy.Name, sy.Kill9)
		time.Sleep(3 * time.Second)
		step("start "+sy.Name, func() {
			if err := sy.Start(); err != nil {
				t.Fatal(err)
			}
			if err := sy.WaitReady(cx, 60*time.Second); err != nil {
				t.Fatal(err)
			}
		})
		for _, m := range c.Switchyard {
			step("rolling restart: "+m.Name, func() {
				m.Stop(30 * time.Second)
				if err := m.Start(); err != nil {
					t.Fatal(err)
				}
				if err := m.WaitReady(cx, 60*time.Second); err != nil {
					t.Fatal(err)
				}
			})
			time.Sleep(2 * time.Second)
		}
	}
	// Past the first tick, with a few seconds for its delivery.
	if d := time.Until(firstTick.Add(5 * time.Second)); d > 0 {
		time.Sleep(d)
	}
	stopLoad()
	wg.Wait()

	mu.Lock()
	want := len(acked)
	mu.Unlock()
	t.Logf("load: %d PutEvents calls, %d failed (retryable: refused while a member was down), %d events acknowledged", calls.Load(), failed.Load(), want)
	if want < 1000 {
		t.Fatalf("only %d events acknowledged: the cluster hardly served", want)
	}
	deadline := time.Now().Add(90 * time.Second)
	var seen map[string]int
	for {
		seen = countByID(t, rcv)
		missing := 0
		for id := range acked {
			if seen[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events not delivered within 90 s of the end of the load", missing, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("delivered: %d acknowledged events, all delivered; %d duplicate deliveries (%.2f%%) so far", want, dups, 100*float64(dups)/float64(want))
	if soak > 0 {
		// The router's messages in flight at a kill -9 come again after
		// its AckWait (a minute): wait for those copies too, to count
		// every duplicate the faults cause.
		time.Sleep(65 * time.Second)
		dups = 0
		for _, n := range countByID(t, rcv) {
			dups += n - 1
		}
		t.Logf("a minute later: %d duplicate deliveries (%.2f%%)", dups, 100*float64(dups)/float64(want))
	}
	logDuplicates(t, rcv, steps)

	var shares []string
	for _, m := range c.Switchyard {
		n := successfulAttempts(t, m)
		shares = append(shares, fmt.Sprintf("%s %.0f", m.Name, n))
		if n == 0 {
			t.Errorf("%s made no deliveries since its last start: deliveries are not shared", m.Name)
		}
	}
	t.Logf("deliveries since each process's last start: %s", strings.Join(shares, ", "))

	var archived int64
	eventually(t, "the archive to count every acknowledged event", func() bool {
		d, err := admin.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("load-archive")})
		if err == nil {
			archived = d.EventCount
		}
		return err == nil && d.EventCount >= int64(want)
	})

	t.Logf("archived: %d events", archived)
	ticks := 0
	for _, body := range tick.received() {
		if decodeEvent(t, body).Time == firstTick.Format("2006-01-02T15:04:05Z") {
			ticks++
		}
	}
	if ticks != 1 {
		t.Errorf("the %s tick was delivered %d times by the cluster, want once", firstTick.Format(time.TimeOnly), ticks)
	}
}

// faultStep is a fault or restart of TestFaultThreeNodeCluster, and when
// it began.
type faultStep struct {
	what string
	at   time.Time
}

// logDuplicates says, for the duplicate deliveries rcv received (each
// copy of an event after its first), after which step they arrived and
// how long after the first copy: a copy a minute later is a router's
// message redelivered after its AckWait, one within a second a call
// repeated at once.
func logDuplicates(t *testing.T, rcv *receiver, steps []faultStep) {
	bodies, at := rcv.receivedAt()
	first := map[string]time.Time{}
	type tally struct {
		n      int
		delays []time.Duration
	}
	by := make([]tally, len(steps)+1) // by[0]: before the first step
	for i, b := range bodies {
		id := decodeEvent(t, b).ID
		f, ok := first[id]
		if !ok {
			first[id] = at[i]
			continue
		}
		k := 0
		for k < len(steps) && !at[i].Before(steps[k].at) {
			k++
		}
		by[k].n++
		by[k].delays = append(by[k].delays, at[i].Sub(f))
	}
	for k, b := range by {
		if b.n == 0 {
			continue
		}
		slices.Sort(b.delays)
		after := "before the first step"
		if k > 0 {
			after = "after " + steps[k-1].what
		}
		t.Logf("duplicates %s: %d, after the first copy by median %s, max %s", after, b.n,
			b.delays[len(b.delays)/2].Round(time.Millisecond), b.delays[len(b.delays)-1].Round(time.Millisecond))
	}
}

// countByID counts the copies of each event rcv received.
func countByID(t *testing.T, rcv *receiver) map[string]int {
	seen := map[string]int{}
	for _, body := range rcv.received() {
		seen[decodeEvent(t, body).ID]++
	}
	return seen
}
