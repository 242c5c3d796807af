package api

import (
	"encoding/json"
	"strconv"
	"testing"
)

// TestEventPatternDottedAndComplex: TestEventPattern answers with the
// matcher's semantics for dotted field names (EventBridge joins field names
// with dots), and a too-complex wildcard is an InvalidEventPatternException
// carrying AWS's reason, for TestEventPattern and PutRule alike.
func TestEventPatternDottedAndComplex(t *testing.T) {
	h := newTestHandler(t)
	env := func(detail string) string {
		return `{"id":"1","account":"123456789012","source":"s","time":"2026-01-01T00:00:00Z","region":"us-east-1","detail-type":"t","detail":` + detail + `}`
	}
	for _, c := range []struct {
		pattern, detail string
		want            bool
	}{
		{`{"detail":{"state.status":["running"]}}`, `{"state":{"status":"running"}}`, true},
		{`{"detail":{"state.status":["running"]}}`, `{"state.status":"running"}`, true},
		{`{"detail":{"state":{"status":["running"]}}}`, `{"state.status":"running"}`, true},
		{`{"detail.state.status":["running"]}`, `{"state":{"status":"running"}}`, true},
		{`{"detail":{"state.status":["running"]}}`, `{"state":"running"}`, false},
		{`{"detail":{"state":{"status":[{"exists":false}]}}}`, `{"state.status":1}`, false},
		{`{"detail":{"state":{"status":["running"]}}}`, `{"state":{"x":1},"state.status":"running"}`, true},
	} {
		body, _ := json.Marshal(map[string]string{"EventPattern": c.pattern, "Event": env(c.detail)})
		rec := call(h, "TestEventPattern", body)
		if rec.Code != 200 || rec.Body.String() != `{"Result":`+strconv.FormatBool(c.want)+`}` {
			t.Errorf("TestEventPattern(%s, %s) = %d %s, want %v", c.pattern, c.detail, rec.Code, rec.Body, c.want)
		}
	}
	const reason = "Event pattern is not valid. Reason: Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"
	p := `{"detail":{"name":[{"wildcard":"*a*a*a*a*a*a*a*a*a*a*"}]}}`
	for op, body := range map[string]map[string]string{
		"TestEventPattern": {"EventPattern": p, "Event": env(`{}`)},
		"PutRule":          {"Name": "w", "EventPattern": p},
	} {
		b, _ := json.Marshal(body)
		rec := call(h, op, b)
		var out struct {
			Type    string `json:"__type"`
			Message string
		}
		json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code != 400 || out.Type != "InvalidEventPatternException" || out.Message != reason {
			t.Errorf("%s: %d %s", op, rec.Code, rec.Body)
		}
	}
}
