package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// TestPatternDottedFieldNames: EventBridge joins field names with dots when
// it compiles a pattern, so a key holding dots in a pattern or in an event
// is a path (EventBridge User Guide, "Event pattern syntax", "Considerations
// when creating event patterns"). Rules route that way, events reach their
// targets as sent, and TestEventPattern gives the same answers.
func TestPatternDottedFieldNames(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	running, stopped := newReceiver(t), newReceiver(t)
	patterns := map[string]string{
		// The user guide's two spellings of one pattern.
		"running": `{"source":["app.dots"],"detail":{"state.status":["running"]}}`,
		"stopped": `{"source":["app.dots"],"detail":{"state":{"status":["stopped"]}}}`,
	}
	for name, rcv := range map[string]*receiver{"running": running, "stopped": stopped} {
		if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(patterns[name])}); err != nil {
			t.Fatalf("PutRule(%s): %v", name, err)
		}
		out, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String(name),
			Targets: []types.Target{{Id: aws.String("http"), Arn: aws.String(rcv.URL)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutTargets(%s): %v %+v", name, err, out)
		}
	}
	details := []struct {
		detail string
		rule   string // "" for none
	}{
		{`{"n":1,"state":{"status":"running"}}`, "running"},
		{`{"n":2,"state.status":"running"}`, "running"},
		{`{"n":3,"state.status":"stopped"}`, "stopped"},
		{`{"n":4,"state":{"status":"stopped"}}`, "stopped"},
		{`{"n":5,"state":"running"}`, ""},
		{`{"n":6,"state.status.code":"running"}`, ""},
		{`{"n":7,"state":[{"status.x":"running"},{"status":"stopped"}]}`, "stopped"},
		// One path through two spellings, the dotted one last: the
		// router reads such events whole (ingest.CheckDetailPaths).
		{`{"n":8,"state":{"code":1},"state.status":"running"}`, "running"},
		{`{"n":9,"state":"x","state.status":"stopped"}`, "stopped"},
	}
	var entries []types.PutEventsRequestEntry
	for _, d := range details {
		entries = append(entries, types.PutEventsRequestEntry{Source: aws.String("app.dots"), DetailType: aws.String("t"), Detail: aws.String(d.detail)})
	}
	// All but the last in one call (one message of many events), the
	// last alone (the one-event message form).
	for _, batch := range [][]types.PutEventsRequestEntry{entries[:len(entries)-1], entries[len(entries)-1:]} {
		out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
	}
	want := map[string][]int{}
	for i, d := range details {
		if d.rule != "" {
			want[d.rule] = append(want[d.rule], i+1)
		}
	}
	for name, rcv := range map[string]*receiver{"running": running, "stopped": stopped} {
		rcv.waitFor(t, len(want[name]), 10*time.Second)
	}
	time.Sleep(300 * time.Millisecond) // nothing else may arrive
	for name, rcv := range map[string]*receiver{"running": running, "stopped": stopped} {
		got := map[int]bool{}
		for _, b := range rcv.received() {
			var ev event
			var detail struct{ N int }
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(ev.Detail, &detail); err != nil {
				t.Fatal(err)
			}
			// The detail arrives as sent, dotted keys and all.
			if string(ev.Detail) != details[detail.N-1].detail {
				t.Errorf("%s: detail %s, sent %s", name, ev.Detail, details[detail.N-1].detail)
			}
			got[detail.N] = true
		}
		if len(got) != len(want[name]) {
			t.Errorf("rule %s delivered events %v, want %v", name, got, want[name])
		}
		for _, n := range want[name] {
			if !got[n] {
				t.Errorf("rule %s did not deliver event %d", name, n)
			}
		}
	}

	// TestEventPattern answers as the rules route.
	for _, d := range details {
		ev := fmt.Sprintf(`{"id":"1","account":%q,"source":"app.dots","time":"2026-01-01T00:00:00Z","region":"us-east-1","detail-type":"t","detail":%s}`, acct, d.detail)
		for name, p := range patterns {
			res, err := c.TestEventPattern(cx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(p), Event: aws.String(ev)})
			if err != nil {
				t.Fatalf("TestEventPattern: %v", err)
			}
			if res.Result != (d.rule == name) {
				t.Errorf("TestEventPattern(%s, %s) = %v", p, d.detail, res.Result)
			}
		}
	}
}

// TestPatternWildcardTooComplex: a wildcard pattern that is too complex is
// refused where patterns are checked, with the InvalidEventPatternException
// AWS documents ("If a rule is too complex, EventBridge returns an
// InvalidEventPatternException", User Guide, "Wildcards and event pattern
// complexity") and the reason AWS gives.
func TestPatternWildcardTooComplex(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	const tooComplex = "Event pattern is not valid. Reason: Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"
	for _, p := range []string{
		`{"detail":{"name":[{"wildcard":"*a*a*a*a*a*a*a*a*a*a*"}]}}`,
		`{"detail":{"name":[{"wildcard":"*aaaaaaaaaaaa"}]}}`,
		// The case a user reported: four alternatives of two wildcards.
		`{"detail":{"stack":[{"wildcard":"*:stack/A/*"},{"wildcard":"*:stack/B/*"},{"wildcard":"*:stack/C/*"},{"wildcard":"*:stack/D/*"}]}}`,
		// Dotted keys are one field with the nested spelling: the
		// last of the two wins, and it is too complex.
		`{"detail":{"name":[{"wildcard":"x*"}]},"detail.name":[{"wildcard":"*a*a*a*a*a*a*a*a*a*a*"}]}`,
	} {
		_, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("w"), EventPattern: aws.String(p)})
		apiError[*types.InvalidEventPatternException](t, err, tooComplex)
		_, err = c.TestEventPattern(cx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(p),
			Event: aws.String(`{"id":"1","account":"` + acct + `","source":"s","time":"2026-01-01T00:00:00Z","region":"us-east-1","detail-type":"t","detail":{}}`)})
		apiError[*types.InvalidEventPatternException](t, err, tooComplex)
	}
	_, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("w"), EventPattern: aws.String(`{"a":[{"wildcard":"ab**"}]}`)})
	apiError[*types.InvalidEventPatternException](t, err, "Event pattern is not valid. Reason: Consecutive wildcard characters at pos 3")
	// Accepted: three alternatives (AWS accepted them in the same report),
	// and a hostile-looking one within the limit.
	for i, p := range []string{
		`{"detail":{"stack":[{"wildcard":"*:stack/A/*"},{"wildcard":"*:stack/B/*"},{"wildcard":"*:stack/C/*"}]}}`,
		`{"detail":{"name":[{"wildcard":"*a*a*a*a*a*a*b"}]}}`,
	} {
		if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(fmt.Sprint("ok", i)), EventPattern: aws.String(p)}); err != nil {
			t.Errorf("PutRule(%s): %v", p, err)
		}
	}
}
