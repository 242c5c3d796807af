package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/archive"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

// newTestHandler runs the real handler on an embedded store in a temporary
// directory.
func newTestHandler(t testing.TB) *Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, ctl := controltest.Open(t, store.Config{Sync: 0, Logger: log})
	ctl.ScheduleValid = func(string) error { return nil }
	ctl.ArchiveStorage = &archive.Storage{JS: st.JS, Log: log}
	return New(ctl, ingest.NewService(st.JS, ctl, log), log, 0, nil)
}

func call(h http.Handler, op string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSEvents."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// seeds are one well-formed request per operation, mutated by the fuzzer.
var seeds = map[string]string{
	"CreateEventBus":        `{"Name":"b","Description":"d","Tags":[{"Key":"k","Value":"v"}]}`,
	"DescribeEventBus":      `{"Name":"b"}`,
	"ListEventBuses":        `{"NamePrefix":"b","Limit":1}`,
	"UpdateEventBus":        `{"Name":"b","Description":"e"}`,
	"DeleteEventBus":        `{"Name":"b"}`,
	"PutRule":               `{"Name":"r","EventPattern":"{\"source\":[\"a\"]}","State":"ENABLED"}`,
	"DescribeRule":          `{"Name":"r"}`,
	"ListRules":             `{"NamePrefix":"r","Limit":2,"NextToken":"cg"}`,
	"DeleteRule":            `{"Name":"r","Force":true}`,
	"EnableRule":            `{"Name":"r"}`,
	"DisableRule":           `{"Name":"r"}`,
	"PutTargets":            `{"Rule":"r","Targets":[{"Id":"t","Arn":"http://127.0.0.1:1/","RetryPolicy":{"MaximumRetryAttempts":1}}]}`,
	"RemoveTargets":         `{"Rule":"r","Ids":["t"]}`,
	"ListTargetsByRule":     `{"Rule":"r"}`,
	"ListRuleNamesByTarget": `{"TargetArn":"http://127.0.0.1:1/"}`,
	"TagResource":           `{"ResourceARN":"arn:aws:events:us-east-1:123456789012:rule/r","Tags":[{"Key":"a","Value":"b"}]}`,
	"UntagResource":         `{"ResourceARN":"arn:aws:events:us-east-1:123456789012:event-bus/default","TagKeys":["a"]}`,
	"ListTagsForResource":   `{"ResourceARN":"arn:aws:events:us-east-1:123456789012:rule/r"}`,
	"PutEvents":             `{"Entries":[{"Source":"s","DetailType":"d","Detail":"{\"a\":[1,{\"b\":null}]}","Time":1700000000.5}]}`,
	"TestEventPattern":      `{"EventPattern":"{\"source\":[\"a\"]}","Event":"{\"id\":\"1\",\"account\":\"1\",\"source\":\"a\",\"time\":\"t\",\"region\":\"r\",\"detail-type\":\"d\"}"}`,
	"CreateArchive":         `{"ArchiveName":"a","EventSourceArn":"arn:aws:events:us-east-1:123456789012:event-bus/default","EventPattern":"{\"source\":[\"s\"]}","RetentionDays":1}`,
	"DescribeArchive":       `{"ArchiveName":"a"}`,
	"ListArchives":          `{"NamePrefix":"a","Limit":1}`,
	"UpdateArchive":         `{"ArchiveName":"a","Description":"d"}`,
	"StartReplay":           `{"ReplayName":"p","EventSourceArn":"arn:aws:events:us-east-1:123456789012:archive/a","EventStartTime":1700000000,"EventEndTime":1700000001.5,"Destination":{"Arn":"arn:aws:events:us-east-1:123456789012:event-bus/default"}}`,
	"DescribeReplay":        `{"ReplayName":"p"}`,
	"ListReplays":           `{"State":"STARTING"}`,
	"CancelReplay":          `{"ReplayName":"p"}`,
	"DeleteArchive":         `{"ArchiveName":"a"}`,
}

func opNames() []string {
	names := make([]string, 0, len(seeds))
	for n := range seeds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FuzzRequest: no request body makes the server panic, answer 500, or
// answer anything but JSON; errors always carry AWS's shape.
func FuzzRequest(f *testing.F) {
	names := opNames()
	for i, n := range names {
		f.Add(uint8(i), []byte(seeds[n]))
	}
	f.Add(uint8(0), []byte(`{"Name":`))
	f.Add(uint8(3), []byte(`[]`))
	f.Add(uint8(5), []byte(`{"Limit":"x"}`))
	// Rules on another account's (or region's) bus by its ARN
	// (crossaccount.go).
	for _, c := range []struct{ op, body string }{
		{"PutRule", `{"Name":"x","EventBusName":"arn:aws:events:us-east-1:111122223333:event-bus/central","EventPattern":"{\"source\":[{\"prefix\":\"\"}]}"}`},
		{"PutTargets", `{"Rule":"x","EventBusName":"arn:aws:events:eu-west-1:123456789012:event-bus/default","Targets":[{"Id":"t","Arn":"http://127.0.0.1:1/"}]}`},
		{"DescribeRule", `{"Name":"x","EventBusName":"arn:aws:events:us-east-1:111122223333:event-bus/"}`},
	} {
		f.Add(uint8(sort.SearchStrings(names, c.op)), []byte(c.body))
	}
	h := newTestHandler(f)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := names[int(op)%len(names)]
		start := time.Now()
		rec := call(h, name, body)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("%s %q took %v: requests must never hang", name, body, d)
		}
		checkResponse(t, name, body, rec)
	})
}

func checkResponse(t *testing.T, op string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %q: status %d: %s", op, body, rec.Code, rec.Body.Bytes())
	}
	if rec.Header().Get("x-amzn-RequestId") == "" {
		t.Fatalf("%s: no request id", op)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %q: response is not a JSON object: %q", op, body, rec.Body.Bytes())
	}
	if rec.Code >= 400 {
		if typ, _ := out["__type"].(string); typ == "" {
			t.Fatalf("%s %q: error without __type: %s", op, body, rec.Body.Bytes())
		}
		if msg, _ := out["message"].(string); msg == "" {
			t.Fatalf("%s %q: error without message: %s", op, body, rec.Body.Bytes())
		}
	}
}

// TestSeedsSucceed: every seed request is well formed and accepted, so the
// fuzzer starts from requests that reach the operations' logic.
func TestSeedsSucceed(t *testing.T) {
	h := newTestHandler(t)
	order := []string{"CreateEventBus", "DescribeEventBus", "ListEventBuses", "UpdateEventBus", "PutRule", "DescribeRule",
		"ListRules", "EnableRule", "DisableRule", "PutTargets", "ListTargetsByRule", "ListRuleNamesByTarget", "TagResource",
		"ListTagsForResource", "UntagResource", "PutEvents", "TestEventPattern", "RemoveTargets", "DeleteRule", "DeleteEventBus",
		"CreateArchive", "DescribeArchive", "ListArchives", "UpdateArchive", "StartReplay", "DescribeReplay", "ListReplays",
		"CancelReplay", "DeleteArchive"}
	for _, op := range order {
		rec := call(h, op, []byte(seeds[op]))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d: %s", op, rec.Code, rec.Body.String())
		}
	}
	rec := call(h, "CreateEndpoint", []byte(`{}`))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("CreateEndpoint (not yet supported) status %d", rec.Code)
	}
	rec = call(h, "NoSuchOperation", []byte(`{}`))
	if rec.Code != http.StatusBadRequest || !bytes.Contains(rec.Body.Bytes(), []byte("UnknownOperationException")) {
		t.Errorf("unknown operation: %d %s", rec.Code, rec.Body.String())
	}
}

func httptestRequest(auth string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}
