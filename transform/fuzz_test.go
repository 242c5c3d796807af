package transform

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzPath: any string either fails to parse or evaluates over any event
// without panicking, to nothing or to valid JSON.
func FuzzPath(f *testing.F) {
	for _, p := range []string{"$", "$.detail", "$.detail.a-b", "$.resources[0]", "$.detail.items[*].id", "$.*", "$[*][*]", "$..a", "$.a['b']", "$[", "$.a[99999999999]"} {
		f.Add(p, valuesEvent)
	}
	f.Add("$.detail.obj.q", `{"detail":{"obj":{"q":"x"}}}`)
	f.Fuzz(func(t *testing.T, p, event string) {
		pp, ok := parsePath(p)
		if !ok {
			return
		}
		start := skipWS([]byte(event), 0)
		end, err := scanValue([]byte(event), start)
		if err != nil {
			return
		}
		v, err := pp.eval([]byte(event)[start:end])
		if err != nil {
			t.Fatalf("eval(%q) over a scanned value: %v", p, err)
		}
		if v != nil && !json.Valid(v) {
			t.Fatalf("eval(%q) = %q, not JSON", p, v)
		}
	})
}

// FuzzTemplate: a template either fails to compile or applies to any event
// without panicking, and a JSON template always gives valid JSON.
func FuzzTemplate(f *testing.F) {
	for _, c := range shapeCases {
		if c.spec.Transformer != nil {
			f.Add(c.spec.Transformer.Template, c.event, "$.detail.str", `ru"le\`)
		}
	}
	f.Add(`{"a": <a>, "b": "<a>"}`, `{"detail":{"str":"a\"b\\c\n"}}`, "$.detail.str", "r")
	f.Add(`"<a>\\"`, `{"detail":{"str":{"q":"\"\\"}}}`, "$.detail.str", "r")
	f.Fuzz(func(t *testing.T, tmpl, event, p, ruleName string) {
		s, err := Compile(Spec{ID: "t", Transformer: &Transformer{PathsMap: map[string]string{"a": p}, Template: tmpl}})
		if err != nil {
			return
		}
		got, err := s.Apply([]byte(event), Meta{RuleArn: "arn:" + ruleName, RuleName: ruleName, IngestionTime: time.Unix(0, 0)})
		if err != nil {
			if json.Valid([]byte(event)) {
				t.Fatalf("Apply over valid JSON %q: %v", event, err)
			}
			return
		}
		if s.tmpl.json && !json.Valid(got) {
			t.Fatalf("JSON template %q over %q gave %q, not JSON", tmpl, event, got)
		}
	})
}
