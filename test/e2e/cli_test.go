package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchyard/switchyard/internal/testpeer"
)

// cli runs `switchyard args...` against s as the suite's account (with no
// server when s is nil) and returns its stdout, stderr and exit code.
func cli(t *testing.T, s *server, env []string, args ...string) (string, string, int) {
	t.Helper()
	if s != nil {
		args = append(args, "--endpoint", "http://"+s.addr, "--account", acct)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// cleanEnv is the environment without AWS_ and SWITCHYARD_ settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "SWITCHYARD_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
}

// TestCLITail: switchyard tail follows a bus, filtered by a pattern, ends
// after --limit events, and says AWS's error for a bus that does not exist
// and for a bad pattern.
func TestCLITail(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("tailed")}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "tail", "--endpoint", "http://"+s.addr, "--account", acct, "--event-bus-name", "tailed",
		"--pattern", `{"source":["keep"]}`, "--limit", "2")
	cmd.Env = cleanEnv()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			ready <- sc.Text()
		}
		close(ready)
	}()
	select {
	case line := <-ready:
		if !strings.Contains(line, "tailing") {
			t.Fatalf("tail said %q", line)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("tail never became ready")
	}
	var want []string
	for i, src := range []string{"keep", "drop", "keep", "keep"} {
		out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			EventBusName: aws.String("tailed"), Source: aws.String(src), DetailType: aws.String("t"), Detail: aws.String(fmt.Sprintf(`{"i":%d}`, i))}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v", err)
		}
		if src == "keep" {
			want = append(want, aws.ToString(out.Entries[0].EventId))
		}
	}
	data, _ := io.ReadAll(stdout)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tail exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("tail did not stop after --limit 2")
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("tail printed %q, want 2 events", data)
	}
	for i, l := range lines {
		var ev event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.ID != want[i] || ev.Source != "keep" {
			t.Errorf("line %d %q, want the event %s", i, l, want[i])
		}
	}

	_, errOut, code := cli(t, s, nil, "tail", "--event-bus-name", "missing")
	if code == 0 || !strings.Contains(errOut, "ResourceNotFoundException: Event bus missing does not exist.") {
		t.Fatalf("tail of a missing bus: exit %d, %q", code, errOut)
	}
	_, errOut, code = cli(t, s, nil, "tail", "--event-bus-name", "tailed", "--pattern", `{"source":"x"}`)
	if code == 0 || !strings.Contains(errOut, "InvalidEventPatternException") {
		t.Fatalf("tail with a bad pattern: exit %d, %q", code, errOut)
	}
}

// TestCLIPutAndTestPattern: switchyard put sends one event or many (with a
// summary), and test-pattern answers locally, exit 1 for no match.
func TestCLIPutAndTestPattern(t *testing.T) {
	s := startServer(t)
	rcv := newReceiver(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("cli"), EventPattern: aws.String(`{"source":["cli"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("cli"), Targets: []types.Target{{Id: aws.String("r"), Arn: aws.String(rcv.URL)}}}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, s, nil, "put", "--source", "cli", "--detail-type", "One", "--detail", `{"n":1}`)
	if code != 0 || len(strings.TrimSpace(out)) != 36 {
		t.Fatalf("put: exit %d, %q %q", code, out, errOut)
	}
	got := rcv.waitFor(t, 1, 15*time.Second)
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil || ev.ID != strings.TrimSpace(out) || ev.DetailType != "One" {
		t.Fatalf("delivered %s, want the event %s", got[0], out)
	}
	out, _, code = cli(t, s, nil, "put", "--source", "cli", "--detail-type", "Many", "--count", "95", "--concurrency", "3")
	if code != 0 || !strings.Contains(out, "95 events sent, 0 refused") {
		t.Fatalf("put --count 95: exit %d, %q", code, out)
	}
	rcv.waitFor(t, 96, 30*time.Second)
	file := t.TempDir() + "/events.jsonl"
	lines := `{"Source":"cli","DetailType":"FromFile","Detail":{"a":1}}` + "\n" + `{"Source":"","DetailType":"x","Detail":"{}"}` + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, s, nil, "put", "--file", file)
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "refused:") {
		t.Fatalf("put --file with a bad entry: exit %d, %q %q", code, out, errOut)
	}

	for _, tc := range []struct {
		pattern, event, out string
		code                int
	}{
		{`{"source":["a"]}`, `{"source":"a"}`, "match", 0},
		{`{"source":["a"]}`, `{"source":"b"}`, "no match", 1},
		{`{"detail":{"n":[{"numeric":[">",1]}]}}`, `{"detail":{"n":2}}`, "match", 0},
	} {
		out, _, code := cli(t, nil, nil, "test-pattern", "--pattern", tc.pattern, "--event", tc.event)
		if code != tc.code || strings.TrimSpace(out) != tc.out {
			t.Errorf("test-pattern %s %s: exit %d %q, want %d %q", tc.pattern, tc.event, code, out, tc.code, tc.out)
		}
	}
	_, errOut, code = cli(t, nil, nil, "test-pattern", "--pattern", `{"source":"a"}`, "--event", `{}`)
	if code != 1 || !strings.Contains(errOut, "InvalidEventPatternException") {
		t.Errorf("test-pattern with a bad pattern: exit %d %q", code, errOut)
	}
}

// TestCLIDLQ: a target that fails dead-letters into SQS (moto); dlq list
// shows the dead letter with EventBridge's attributes and leaves it, and
// dlq redrive puts it again on the rule's bus, where the fixed target gets
// it, and empties the queue.
func TestCLIDLQ(t *testing.T) {
	moto := testpeer.Moto(t)
	q := testpeer.SQS(moto, "us-east-1")
	dlqArn, dlqURL := testpeer.CreateQueue(t, q, "cli-dlq")
	s := startServer(t, "--retry-base-delay", "100ms", "--aws-endpoint", "sqs="+moto)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	dead := newScripted(t, func(int) int { return 500 })
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("dlqbus")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("dlqbus"), EventPattern: aws.String(`{"source":["d"]}`)}); err != nil {
		t.Fatal(err)
	}
	target := func(url string) {
		out, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), EventBusName: aws.String("dlqbus"), Targets: []types.Target{{
			Id: aws.String("t"), Arn: aws.String(url), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutTargets: %v %+v", err, out)
		}
	}
	target(dead.URL)
	put, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String("dlqbus"), Source: aws.String("d"), DetailType: aws.String("t"), Detail: aws.String(`{"k":"v"}`)}}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatal(err)
	}
	env := []string{"AWS_ENDPOINT_URL_SQS=" + moto, "AWS_REGION=us-east-1"}
	var listed string
	eventually(t, "the dead letter", func() bool {
		out, _, _ := cli(t, nil, env, "dlq", "list", "--queue-url", dlqURL)
		listed = out
		return strings.Contains(out, aws.ToString(put.Entries[0].EventId))
	})
	var dl struct {
		Attributes map[string]string
		Event      event
	}
	if err := json.Unmarshal([]byte(strings.SplitN(listed, "\n", 2)[0]), &dl); err != nil {
		t.Fatalf("dlq list: %q: %v", listed, err)
	}
	if dl.Attributes["ERROR_CODE"] == "" || !strings.HasSuffix(dl.Attributes["RULE_ARN"], ":rule/dlqbus/r") || dl.Event.Source != "d" {
		t.Fatalf("dead letter %+v", dl)
	}
	ok := newReceiver(t)
	target(ok.URL)
	out, errOut, code := cli(t, s, env, "dlq", "redrive", "--queue-url", dlqURL)
	if code != 0 || !strings.Contains(out, "1 redriven, 0 left") {
		t.Fatalf("redrive: exit %d %q %q", code, out, errOut)
	}
	got := ok.waitFor(t, 1, 15*time.Second)
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil || ev.Source != "d" || !jsonEqual(ev.Detail, []byte(`{"k":"v"}`)) {
		t.Fatalf("redriven event %s", got[0])
	}
	attrs, err := q.GetQueueAttributes(cx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlqURL), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("queue after the redrive: %v %v", attrs, err)
	}
}
