package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/switchyard/switchyard/internal/testpeer"
)

// scripted is a real HTTP target whose answer depends on how many calls of
// the same event came before.
type scripted struct {
	URL    string
	mu     sync.Mutex
	calls  map[string]int
	ok     map[string]int
	answer func(n int) int
}

func newScripted(t *testing.T, answer func(n int) int) *scripted {
	s := &scripted{calls: map[string]int{}, ok: map[string]int{}, answer: answer}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev event
		b, _ := io.ReadAll(req.Body)
		_ = json.Unmarshal(b, &ev)
		s.mu.Lock()
		n := s.calls[ev.ID]
		s.calls[ev.ID]++
		status := s.answer(n)
		if status < 300 {
			s.ok[ev.ID]++
		}
		s.mu.Unlock()
		w.WriteHeader(status)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.URL = "http://" + lis.Addr().String() + "/hook"
	return s
}

func (s *scripted) counts() (calls, ok map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls, ok = map[string]int{}, map[string]int{}
	for k, v := range s.calls {
		calls[k] = v
	}
	for k, v := range s.ok {
		ok[k] = v
	}
	return calls, ok
}

// TestKill9DuringRetries kills switchyard while events are in backoff for
// two targets: one that recovers after three failures per event, and one
// that always fails and dead-letters into SQS (moto) after three retries.
// After the restart every event reaches the first target, and every event
// is dead-lettered for the second with the attributes of its policy; no
// event of the first target is dead-lettered.
func TestKill9DuringRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9")
	}
	moto := testpeer.Moto(t)
	q := testpeer.SQS(moto, "us-east-1")
	dlqArn, dlqURL := testpeer.CreateQueue(t, q, "kill9-dlq")
	s := startServer(t, "--retry-base-delay", "300ms", "--aws-endpoint", "sqs="+moto)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)

	flaky := newScripted(t, func(n int) int {
		if n < 3 {
			return 500
		}
		return 200
	})
	dead := newScripted(t, func(int) int { return 503 })
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("retries"), EventPattern: aws.String(`{"source":["kill9"]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("retries"), Targets: []types.Target{
		{Id: aws.String("flaky"), Arn: aws.String(flaky.URL),
			RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(10), MaximumEventAgeInSeconds: aws.Int32(3600)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}},
		{Id: aws.String("dead"), Arn: aws.String(dead.URL),
			RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(3600)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}

	var ids []string
	for i := 0; i < 10; i++ {
		entries := make([]types.PutEventsRequestEntry, 10)
		for j := range entries {
			entries[j] = types.PutEventsRequestEntry{Source: aws.String("kill9"), DetailType: aws.String("t"),
				Detail: aws.String(fmt.Sprintf(`{"n":%d}`, i*10+j))}
		}
		out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v", err)
		}
		for _, e := range out.Entries {
			ids = append(ids, aws.ToString(e.EventId))
		}
	}
	// Wait until every event failed at least twice on both targets: all
	// of them are then waiting in backoff.
	deadline := time.Now().Add(30 * time.Second)
	for {
		fc, _ := flaky.counts()
		dc, _ := dead.counts()
		n := 0
		for _, id := range ids {
			if fc[id] >= 2 && dc[id] >= 2 {
				n++
			}
		}
		if n == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events reached their second retry\n%s", n, len(ids), s.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill9()
	time.Sleep(500 * time.Millisecond)
	s.restart()

	msgs := testpeer.Drain(t, q, dlqURL, len(ids), 60*time.Second)
	deadline = time.Now().Add(60 * time.Second)
	for {
		_, ok := flaky.counts()
		missing := 0
		for _, id := range ids {
			if ok[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never delivered to the recovering target\n%s", missing, len(ids), s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	msgs = append(msgs, testpeer.Drain(t, q, dlqURL, 0, time.Second)...)

	letters := map[string]int{}
	for _, m := range msgs {
		var ev event
		if err := json.Unmarshal([]byte(m.Body), &ev); err != nil {
			t.Fatalf("dead letter is not an event: %s", m.Body)
		}
		a := m.Attrs
		if a["TARGET_ARN"] != dead.URL {
			t.Errorf("event %s dead-lettered for %s, which recovers and must receive it", ev.ID, a["TARGET_ARN"])
			continue
		}
		if a["RULE_ARN"] != "arn:aws:events:us-east-1:"+acct+":rule/retries" || a["ERROR_CODE"] != "SDK_CLIENT_ERROR" ||
			a["EXHAUSTED_RETRY_CONDITION"] != "MaximumRetryAttempts" || a["RETRY_ATTEMPTS"] != "3" {
			t.Errorf("event %s: dead-letter attributes %v", ev.ID, a)
		}
		letters[ev.ID]++
	}
	dups := 0
	for _, id := range ids {
		switch n := letters[id]; {
		case n == 0:
			t.Errorf("event %s never dead-lettered", id)
		case n > 1:
			dups += n - 1
		}
	}
	calls, _ := dead.counts()
	repeated := 0
	for _, id := range ids {
		// Four calls (one and three retries); the attempt cut short by the
		// kill may be made again.
		if n := calls[id]; n < 4 || n > 5 {
			t.Errorf("event %s: %d calls of the failing target, want 4 (5 if the kill cut one short)", id, n)
		} else if n == 5 {
			repeated++
		}
	}
	fc, _ := flaky.counts()
	for _, id := range ids {
		if n := fc[id]; n < 4 {
			t.Errorf("event %s: accepted after %d calls, want at least 4", id, n)
		}
	}
	t.Logf("%d events: all delivered to the recovering target, all dead-lettered for the failing one (%d duplicate letters, %d attempts repeated after the kill)",
		len(ids), dups, repeated)
}
