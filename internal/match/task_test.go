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
	head, event, trace, ingested, ok := SplitTask(m.Data)
	if !ok || !bytes.Equal(event, task.Event) || ingested != task.Ingested || trace != "" {
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

// TestTracedTask: a task of an event with a trace header stores it in its
// data (so that re-publications keep it), in the second form; a task
// without one keeps the first form, byte for byte what earlier versions
// wrote and read.
func TestTracedTask(t *testing.T) {
	head := []byte(`{"ruleArn":"arn:aws:events:us-east-1:123456789012:rule/r","ruleName":"r","target":{"Id":"t","Arn":"http://h/"}}`)
	event := []byte(`{"id":"e1","detail":{}}`)
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"

	plain := EncodeTask(head, event, "", 42)
	if !bytes.HasPrefix(plain, []byte("SYT\x01")) || len(plain) != taskFixed+len(head)+len(event) {
		t.Fatalf("a task without a trace header is not in the first form: %q", plain[:4])
	}
	traced := EncodeTask(head, event, trace, 42)
	if !bytes.HasPrefix(traced, []byte("SYT\x02")) {
		t.Fatalf("a traced task starts %q", traced[:4])
	}
	for name, c := range map[string]struct {
		data  []byte
		trace string
	}{"plain": {plain, ""}, "traced": {traced, trace}} {
		h, ev, tr, ing, ok := SplitTask(c.data)
		if !ok || !bytes.Equal(h, head) || !bytes.Equal(ev, event) || tr != c.trace || ing != 42 {
			t.Errorf("%s: split %v %s %s %q %d", name, ok, h, ev, tr, ing)
		}
		task, err := DecodeTask(c.data)
		if err != nil || task.Trace != c.trace || !bytes.Equal(task.Event, event) || task.RuleName != "r" {
			t.Errorf("%s: decoded %+v, %v", name, task, err)
		}
	}
	// A task message built from a Task carries its trace, and the JSON
	// form of earlier versions reads as untraced.
	m, err := TaskMsg(control.Scope{Account: "123456789012", Region: "us-east-1"}, "default", "e1",
		&Task{RuleArn: "arn:aws:events:us-east-1:123456789012:rule/r", RuleName: "r", Target: control.Target{Id: "t", Arn: "http://h/"},
			Event: event, Trace: trace, Ingested: 42})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, tr, _, ok := SplitTask(m.Data); !ok || tr != trace {
		t.Errorf("TaskMsg lost the trace: %q", tr)
	}
	if task, err := DecodeTask([]byte(`{"ruleArn":"a","ruleName":"r","target":{"Id":"t","Arn":"http://h/"},"event":{},"ingested":1}`)); err != nil || task.Trace != "" {
		t.Errorf("JSON task: %+v, %v", task, err)
	}
	// Truncated anywhere in the trace field: not a task.
	at := taskFixed + len(head)
	for _, n := range []int{at, at + 1, at + 2, at + 2 + len(trace) - 1} {
		if _, _, _, _, ok := SplitTask(traced[:n]); ok {
			t.Errorf("a traced task cut at %d bytes split", n)
		}
	}
}
