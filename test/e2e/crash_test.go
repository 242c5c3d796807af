package e2e

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// TestKill9LosesNoAcknowledgedEvent puts events from several clients,
// kills switchyard with SIGKILL in the middle of the load, restarts it, and
// checks that every event whose PutEvents call was acknowledged reaches the
// target. Delivery is at least once: duplicates are allowed, losses are not.
func TestKill9LosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("sustained load")
	}
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	rcv := newReceiver(t)
	mustRule(t, c, "default", "all", `{"source":["load"]}`, rcv.URL)

	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				entries := make([]types.PutEventsRequestEntry, 10)
				for j := range entries {
					entries[j] = types.PutEventsRequestEntry{Source: aws.String("load"), DetailType: aws.String("tick"),
						Detail: aws.String(fmt.Sprintf(`{"w":%d,"i":%d,"j":%d}`, w, i, j))}
				}
				out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries})
				if err != nil {
					continue // the server is down: nothing was acknowledged
				}
				mu.Lock()
				for _, e := range out.Entries {
					if e.EventId != nil {
						acked[*e.EventId] = true
					}
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(2 * time.Second)
	s.kill9()
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 100 {
		t.Fatalf("only %d events acknowledged before the kill; the load did not run", n)
	}
	t.Logf("%d events acknowledged before kill -9", n)

	s.restart()
	deadline := time.Now().Add(90 * time.Second)
	for {
		seen := map[string]int{}
		for _, b := range rcv.received() {
			var ev event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("receiver got a non-event: %s", b)
			}
			seen[ev.ID]++
		}
		missing := 0
		for id := range acked {
			if seen[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			dups := 0
			for _, k := range seen {
				dups += k - 1
			}
			t.Logf("all %d acknowledged events delivered (%d received, %d duplicates)", n, len(rcv.received()), dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events never delivered after restart\n%s", missing, n, s.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
