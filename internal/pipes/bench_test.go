package pipes

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

// BenchmarkPipeOverhead is the pipe's own cost per SQS record, between
// the source's ReceiveMessage and the target's call: the record in AWS's
// shape, its JSON body decoded for the filter, the filter, the input
// template and the Invocation, over a batch of 10 (9 pass the filter).
// The target accepts at once, in-process: what a real target costs (a
// network call) is the e2e benchmark's, BenchmarkPipeSQSToHTTP.
func BenchmarkPipeOverhead(b *testing.B) {
	for _, tc := range []struct {
		name, filter, tmpl string
	}{
		{"raw", "", ""},
		{"filter", `{"body":{"kind":["order"]}}`, ""},
		{"filter+template", `{"body":{"kind":["order"]}}`, `{"id": <$.body.id>, "pipe": <aws.pipes.pipe-name>, "who": "<$.body.customer.name>"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sp := `{"SqsQueueParameters":{"BatchSize":10}}`
			if tc.filter != "" {
				sp = fmt.Sprintf(`{"SqsQueueParameters":{"BatchSize":10},"FilterCriteria":{"Filters":[{"Pattern":%q}]}}`, tc.filter)
			}
			tp := ""
			if tc.tmpl != "" {
				tp = fmt.Sprintf(`{"InputTemplate":%q}`, tc.tmpl)
			}
			p := &Pipe{Name: "bench", Arn: "arn:aws:pipes:us-east-1:123456789012:pipe/bench", Source: "arn:aws:sqs:us-east-1:123456789012:src",
				Target: "arn:aws:events:us-east-1:123456789012:api-destination/d/x", SourceParameters: []byte(sp),
				Scope: control.Scope{Account: "123456789012", Region: "us-east-1"}}
			if tp != "" {
				p.TargetParameters = []byte(tp)
			}
			var calls int
			r := &Runner{Invoke: deliver.InvokerFunc(func(context.Context, *deliver.Invocation) error { calls++; return nil }),
				Backoff: time.Second, Log: slog.Default()}
			run := &pipeRun{r: r, p: p, pl: &poller{}, log: r.Log}
			if err := run.prepare(); err != nil {
				b.Fatal(err)
			}
			msgs := make([]sqstypes.Message, 10)
			for i := range msgs {
				kind := "order"
				if i == 9 {
					kind = "refund"
				}
				msgs[i] = sqstypes.Message{MessageId: aws.String(fmt.Sprintf("m-%d", i)), ReceiptHandle: aws.String("rh"),
					Body:       aws.String(fmt.Sprintf(`{"kind":%q,"id":%d,"customer":{"name":"Ann","tier":"gold"},"lines":[{"sku":"a","n":2},{"sku":"b","n":1}]}`, kind, i)),
					Attributes: map[string]string{"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "1"}, MD5OfBody: aws.String("x")}
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				recs := make([]record, len(msgs))
				for i, m := range msgs {
					recs[i] = sqsRecord(m, p.Source, "us-east-1")
				}
				run.deliverBatch(ctx, recs, retryPolicy{attempts: 3}, 1)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/record")
		})
	}
}
