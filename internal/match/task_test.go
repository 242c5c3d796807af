package match

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/switchyard/switchyard/internal/control"
)

// A task round-trips through its stored form with its event byte for byte,
// and a task stored as JSON by earlier versions still decodes.
func TestTaskForms(t *testing.T) {
	in := "in"
	task := &Task{RuleArn: "arn:aws:events:us-east-1:123456789012:rule/r", RuleName: "r",
		Target: control.Target{Id: "t", Arn: "http://127.0.0.1:1/x", Input: &in},
		Event:  json.RawMessage(`{"id":"e1",  "detail":{"a":[1, 2]}}`), Ingested: 1700000000123}
	m, err := TaskMsg(control.Scope{Account: "123456789012", Region: "us-east-1"}, "default", "e1", task)
	if err != nil {
		t.Fatal(err)
	}
	head, event, ingested, ok := SplitTask(m.Data)
	if !ok || !bytes.Equal(event, task.Event) || ingested != task.Ingested || TaskTrace(m.Header) != "" {
		t.Fatalf("split: ok %v, event %s, ingested %d", ok, event, ingested)
	}
	want, _ := EncodeHead(task.RuleArn, task.RuleName, &task.Target)
	if !bytes.Equal(head, want) {
		t.Fatalf("head %s, want %s", head, want)
	}
	jsonForm, _ := json.Marshal(task)
	for name, data := range map[string][]byte{"stored": m.Data, "json": jsonForm} {
		got, err := DecodeTask(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.RuleArn != task.RuleArn || got.RuleName != task.RuleName || got.Target.Arn != task.Target.Arn ||
			got.Target.Input == nil || *got.Target.Input != in || got.Ingested != task.Ingested {
			t.Errorf("%s: decoded %+v", name, got)
		}
		var a, b any
		_ = json.Unmarshal(got.Event, &a)
		_ = json.Unmarshal(task.Event, &b)
		if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
			t.Errorf("%s: event %s, want %s", name, got.Event, task.Event)
		}
	}
	if _, err := DecodeTask([]byte("SYT\x01short")); err == nil {
		t.Error("a truncated task decoded")
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestTracedTask: a task of an event with a trace header carries it in
// the message's header, not the data, which stays in the form every
// version reads; a task without one has no such header.
func TestTracedTask(t *testing.T) {
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	task := &Task{RuleArn: "arn:aws:events:us-east-1:123456789012:rule/r", RuleName: "r", Target: control.Target{Id: "t", Arn: "http://h/"},
		Event: json.RawMessage(`{"id":"e1","detail":{}}`), Trace: trace, Ingested: 42}
	traced, err := TaskMsg(sc, "default", "e1", task)
	if err != nil {
		t.Fatal(err)
	}
	task.Trace = ""
	plain, err := TaskMsg(sc, "default", "e1", task)
	if err != nil {
		t.Fatal(err)
	}
	if TaskTrace(traced.Header) != trace || TaskTrace(plain.Header) != "" || len(plain.Header) != 1 {
		t.Errorf("trace headers %v and %v, want %q and none", traced.Header, plain.Header, trace)
	}
	if !bytes.Equal(traced.Data, plain.Data) || !bytes.HasPrefix(traced.Data, []byte("SYT\x01")) {
		t.Errorf("a traced task's data differs from the untraced one's: %q", traced.Data)
	}
	if d, err := DecodeTask(traced.Data); err != nil || d.Trace != "" || d.Ingested != 42 {
		t.Errorf("decoded %+v, %v", d, err)
	}
}
