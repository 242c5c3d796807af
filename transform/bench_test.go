package transform

import "testing"

func benchApply(b *testing.B, spec Spec, event string) {
	s, err := Compile(spec)
	if err != nil {
		b.Fatal(err)
	}
	ev := []byte(event)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Apply(ev, exampleMeta); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyInputPath(b *testing.B) {
	benchApply(b, Spec{ID: "t", InputPath: ptr("$.detail")}, ec2Event)
}

func BenchmarkApplyJSONTemplate(b *testing.B) {
	benchApply(b, tr(ec2Paths, `{"instance": <instance>, "state": <state>, "at": <timestamp>, "resource": <resource>, "rule": <aws.events.rule-name>}`), ec2Event)
}

func BenchmarkApplyStringTemplate(b *testing.B) {
	benchApply(b, tr(ec2Paths, `"instance <instance> is in <state>"`), ec2Event)
}

func BenchmarkApplyEventJSON(b *testing.B) {
	benchApply(b, tr(nil, `{"rule": <aws.events.rule-arn>, "event": <aws.events.event.json>}`), ec2Event)
}

func BenchmarkApplyTenPathsLargeEvent(b *testing.B) {
	paths := map[string]string{}
	tmpl := "{"
	for i, p := range []string{"str", "quote", "int", "float", "obj", "arr", "unicode", "html", "nil", "missing"} {
		k := string(rune('a' + i))
		paths[k] = "$.detail." + p
		if i > 0 {
			tmpl += ","
		}
		tmpl += `"` + k + `": <` + k + `>`
	}
	benchApply(b, tr(paths, tmpl+"}"), valuesEvent)
}
