package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/uuid"
)

// busLogRecord is what the tests read of a bus log record ("Amazon
// EventBridge event bus log schema", EventBridge User Guide).
type busLogRecord struct {
	ResourceArn  string         `json:"resource_arn"`
	EventID      string         `json:"event_id"`
	InvocationID string         `json:"invocation_id"`
	MessageType  string         `json:"message_type"`
	LogLevel     string         `json:"log_level"`
	Details      map[string]any `json:"details"`
	Error        map[string]any `json:"error"`
}

// busLogCase is a bus of the test with its LogConfig.
type busLogCase struct {
	name, level, detail string
}

var busLogCases = []busLogCase{
	{"full", "INFO", "FULL"},
	{"none", "INFO", "NONE"},
	{"off", "OFF", "FULL"},
}

// setUpBusLogs creates, on c, a bus per case with a rule sending to a
// target that takes the event and one that fails it (500, no retries),
// and puts one event on each; it returns the event ids by case name.
func setUpBusLogs(t *testing.T, c *eventbridge.Client, prefix string) map[string]string {
	t.Helper()
	ok, bad := newReceiver(t), newReceiver(t)
	bad.mu.Lock()
	bad.status = http.StatusInternalServerError
	bad.mu.Unlock()
	ids := map[string]string{}
	for _, bc := range busLogCases {
		bus := prefix + "-" + bc.name
		if _, err := c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String(bus),
			LogConfig: &types.LogConfig{Level: types.Level(bc.level), IncludeDetail: types.IncludeDetail(bc.detail)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String(bus),
			EventPattern: aws.String(`{"source":["app"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("r"), EventBusName: aws.String(bus),
			Targets: []types.Target{
				{Id: aws.String("ok"), Arn: aws.String(ok.URL)},
				{Id: aws.String("bad"), Arn: aws.String(bad.URL), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)}},
			}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			EventBusName: aws.String(bus), Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{"k":"` + bc.name + `"}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put events: %v %+v", err, out)
		}
		ids[bc.name] = *out.Entries[0].EventId
	}
	return ids
}

// checkBusLogs checks the records read (by read, until they are all there)
// for the buses of setUpBusLogs.
func checkBusLogs(t *testing.T, prefix string, ids map[string]string, read func() []busLogRecord) {
	t.Helper()
	arn := func(name string) string {
		return "arn:aws:events:us-east-1:111111111111:event-bus/" + prefix + "-" + name
	}
	// INFO has the receipt, the rule match, the success and the failures
	// (ERROR steps are in INFO: "errors, as well as major steps").
	want := []string{"EVENT_RECEIPT", "RULE_MATCH", "INVOCATION_SUCCESS", "INVOCATION_ATTEMPT_RETRYABLE_FAILURE", "INVOCATION_FAILURE"}
	var recs []busLogRecord
	byBus := func(name string) map[string][]busLogRecord {
		m := map[string][]busLogRecord{}
		for _, r := range recs {
			if r.ResourceArn == arn(name) {
				m[r.MessageType] = append(m[r.MessageType], r)
			}
		}
		return m
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs = read()
		done := true
		for _, name := range []string{"full", "none"} {
			m := byBus(name)
			for _, w := range want {
				if len(m[w]) == 0 {
					done = false
				}
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bus log records incomplete; have %+v", recs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, name := range []string{"full", "none"} {
		m := byBus(name)
		full := name == "full"
		for typ, rs := range m {
			for _, r := range rs {
				if r.EventID != ids[name] || r.LogLevel != "INFO" {
					t.Errorf("%s %s: event %q level %q, want %q INFO", name, typ, r.EventID, r.LogLevel, ids[name])
				}
				// TRACE steps stay out of an INFO bus's log.
				if strings.Contains(typ, "_START") || typ == "EVENT_INGEST_SUCCESS" || typ == "INVOCATION_ATTEMPT_SUCCESS" {
					t.Errorf("%s: TRACE record %s at INFO", name, typ)
				}
			}
		}
		rc := m["EVENT_RECEIPT"][0].Details
		if rc["source"] != "app" || rc["detail_type"] != "t" {
			t.Errorf("%s receipt details %v", name, rc)
		}
		// FULL adds the event itself and what the target was sent.
		if _, has := rc["event_detail"]; has != full {
			t.Errorf("%s receipt event_detail present=%v, want %v: %v", name, has, full, rc)
		}
		succ := m["INVOCATION_SUCCESS"][0]
		if in, _ := succ.Details["target_input"].(string); full != strings.Contains(in, ids[name]) {
			t.Errorf("%s success target_input %q", name, in)
		}
		match := m["RULE_MATCH"][0].Details
		if ids, _ := match["invocation_ids"].([]any); len(ids) != 2 {
			t.Errorf("%s rule match details %v", name, match)
		} else if succ.InvocationID == "" || (ids[0] != succ.InvocationID && ids[1] != succ.InvocationID) {
			t.Errorf("%s success invocation %q not among the rule match's %v", name, succ.InvocationID, ids)
		}
		fail := m["INVOCATION_FAILURE"][0]
		if fail.Error == nil || fail.Error["error_message"] == "" || fail.Details["final_invocation_status"] != "FAILURE" {
			t.Errorf("%s failure record %+v", name, fail)
		}
	}
	// Level OFF writes nothing: by now its event was delivered as the
	// others were.
	if m := byBus("off"); len(m) != 0 {
		t.Errorf("bus with Level OFF logged %v", m)
	}
}

func readBusLogFile(t *testing.T, path string) []busLogRecord {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []busLogRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r busLogRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bus log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestBusLogFile: a file destination gets the documented records of a
// delivered and a failed invocation, with and without detail, and none
// for a bus whose Level is OFF.
func TestBusLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.log")
	s := startServer(t, "--bus-log-destination", "file:"+path)
	c := s.client("111111111111", "us-east-1")
	ids := setUpBusLogs(t, c, "bl")
	checkBusLogs(t, "bl", ids, func() []busLogRecord { return readBusLogFile(t, path) })
}

// TestBusLogCloudWatch: the same through CloudWatch Logs (moto), a log
// stream per bus in the bus's region.
func TestBusLogCloudWatch(t *testing.T) {
	moto := startMoto(t)
	group := "/switchyard/buslogs/" + uuid.NewString()[:8]
	s := startServer(t, "--bus-log-destination", "logs:"+group, "--aws-endpoint", "logs="+moto)
	c := s.client("111111111111", "us-east-1")
	prefix := "cw" + uuid.NewString()[:6]
	ids := setUpBusLogs(t, c, prefix)
	cw := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	checkBusLogs(t, prefix, ids, func() []busLogRecord {
		var out []busLogRecord
		for _, bc := range busLogCases {
			stream := "111111111111/us-east-1/" + prefix + "-" + bc.name
			res, err := cw.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group),
				LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)})
			if err != nil {
				continue // not created yet (and never, for the OFF bus)
			}
			for _, e := range res.Events {
				var r busLogRecord
				if err := json.Unmarshal([]byte(*e.Message), &r); err != nil {
					t.Fatalf("log event %q: %v", *e.Message, err)
				}
				out = append(out, r)
			}
		}
		return out
	})
}

// TestBusLogDestinationDown: with CloudWatch Logs unreachable, PutEvents
// neither blocks nor fails, events are delivered, and the records that
// cannot be written are counted as dropped.
func TestBusLogDestinationDown(t *testing.T) {
	// A port nothing listens on.
	s := startServerEnv(t, []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"},
		"--bus-log-destination", "logs:/down", "--aws-endpoint", "logs=http://127.0.0.1:1", "--bus-log-queue", "16")
	c := s.client("111111111111", "us-east-1")
	rcv := newReceiver(t)
	if _, err := c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("down"),
		LogConfig: &types.LogConfig{Level: types.LevelTrace, IncludeDetail: types.IncludeDetailFull}}); err != nil {
		t.Fatal(err)
	}
	mustRule(t, c, "down", "all", `{"source":["app"]}`, rcv.URL)
	const n = 200
	start := time.Now()
	for i := 0; i < n/10; i++ {
		entries := make([]types.PutEventsRequestEntry, 10)
		for k := range entries {
			entries[k] = types.PutEventsRequestEntry{EventBusName: aws.String("down"), Source: aws.String("app"),
				DetailType: aws.String("t"), Detail: aws.String(`{}`)}
		}
		out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: entries})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put events: %v", err)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("PutEvents took %v with the log destination down", d)
	}
	rcv.waitFor(t, n, 60*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for metricSum(t, s, "switchyard_bus_log_dropped_total", "") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no bus log records counted as dropped")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
