package stack

import (
	"fmt"
	"strings"
	"testing"
)

// bigTemplate is a template at the resource quota: 100 buses, each with
// an archive and three rules with two targets each (500 resources).
func bigTemplate() []byte {
	var b strings.Builder
	b.WriteString("Parameters:\n  Queue: {Type: String, Default: arn:aws:sqs:us-east-1:123456789012:q}\nResources:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  Bus%d:\n    Type: AWS::Events::EventBus\n    Properties:\n      Name: !Sub '${AWS::StackName}-bus-%d'\n      Tags: [{Key: n, Value: '%d'}]\n", i, i, i)
		fmt.Fprintf(&b, "  Archive%d:\n    Type: AWS::Events::Archive\n    Properties: {SourceArn: !GetAtt Bus%d.Arn, RetentionDays: 7}\n", i, i)
		for j := range 3 {
			fmt.Fprintf(&b, `  Rule%d x%d:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus%d
      EventPattern: {source: [app.%d], detail-type: [T%d], detail: {n: [{numeric: [">", %d]}]}}
      Targets:
        - Id: q
          Arn: !Ref Queue
          InputTransformer: {InputPathsMap: {id: $.detail.id}, InputTemplate: '{"id": <id>}'}
          RetryPolicy: {MaximumRetryAttempts: 3}
        - Id: b
          Arn: !GetAtt Bus%d.Arn
`, i, j, i, i, j, j, (i+1)%100)
		}
	}
	return []byte(strings.ReplaceAll(b.String(), " x", "x"))
}

func benchOpts() Options {
	return Options{Stack: "bench", Region: "us-east-1", Account: "123456789012", Partition: "aws"}
}

// BenchmarkReadTemplate reads a template of 500 resources.
func BenchmarkReadTemplate(b *testing.B) {
	data := bigTemplate()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(data, benchOpts()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompare plans that template against the state it describes
// (the no-op plan of a second apply).
func BenchmarkCompare(b *testing.B) {
	doc, err := Read(bigTemplate(), benchOpts())
	if err != nil {
		b.Fatal(err)
	}
	opts := PlanOptions{Prune: true, Region: "us-east-1", Account: "123456789012"}
	actual := appliedState(Compare(doc, &Document{}, opts))
	if p := Compare(doc, actual, opts); !p.Empty() {
		b.Fatalf("not a no-op: %d changes", len(p.Changes))
	}
	b.ReportAllocs()
	for b.Loop() {
		Compare(doc, actual, opts)
	}
}

// appliedState is the state a plan against nothing leaves, as the API
// would list it.
func appliedState(p *Plan) *Document {
	actual := &Document{}
	rules := map[*Rule]int{}
	for _, ch := range p.Changes {
		switch d := ch.desired.(type) {
		case *EventBus:
			actual.EventBuses = append(actual.EventBuses, *d)
		case *Rule:
			r := *d
			r.Targets = nil
			if r.State == "" {
				r.State = "ENABLED"
			}
			rules[d] = len(actual.Rules)
			actual.Rules = append(actual.Rules, r)
		case targetChange:
			i := rules[d.rule]
			actual.Rules[i].Targets = append(actual.Rules[i].Targets, d.target)
		case *Archive:
			actual.Archives = append(actual.Archives, *d)
		}
	}
	return actual
}
