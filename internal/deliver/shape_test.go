package deliver

import (
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
)

func TestShapeInput(t *testing.T) {
	event := []byte(`{"version":"0","id":"1","detail-type":"t","source":"s","account":"1","time":"2020-01-01T00:00:00Z","region":"r","resources":[],"detail":{"a":"x"}}`)
	tmpl := func(s string) *control.InputTransformer {
		return &control.InputTransformer{InputPathsMap: map[string]string{"a": "$.detail.a"}, InputTemplate: &s}
	}
	target := &control.Target{Id: "t", Arn: "http://x"}
	inv := func() *Invocation {
		return &Invocation{RuleArn: "arn:aws:events:r:1:rule/shape-test", RuleName: "shape-test", Target: target,
			Event: event, Input: event, Ingested: time.Unix(0, 0)}
	}
	shape := func() string {
		t.Helper()
		i := inv()
		if err := shapeInput(i); err != nil {
			t.Fatal(err)
		}
		return string(i.Input)
	}
	if got := shape(); got != string(event) {
		t.Errorf("no shaping: %s", got)
	}
	target.InputTransformer = tmpl(`{"a": <a>, "r": <aws.events.rule-name>}`)
	if got := shape(); got != `{"a":"x","r":"shape-test"}` {
		t.Errorf("transformer: %s", got)
	}
	first, _ := shapers.get(inv().RuleArn, target)
	if again, _ := shapers.get(inv().RuleArn, target); again != first {
		t.Error("an unchanged target was compiled again")
	}
	// PutTargets may change a target between two events of one rule.
	target.InputTransformer = tmpl(`"a is <a>"`)
	if got := shape(); got != `"a is x"` {
		t.Errorf("after the target changed: %s", got)
	}
	target.InputTransformer, target.InputPath = nil, shapeTestString("$.detail")
	if got := shape(); got != `{"a":"x"}` {
		t.Errorf("input path: %s", got)
	}

	i := inv()
	i.Event = []byte(`{"detail":`)
	var e *Error
	if err := shapeInput(i); !errors.As(err, &e) || !e.Permanent {
		t.Errorf("malformed event: %v, want a permanent error", err)
	}
}

func shapeTestString(s string) *string { return &s }
