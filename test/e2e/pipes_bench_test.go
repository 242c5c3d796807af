package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	ptypes "github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const benchBatch = 100

func sendBatch(b *testing.B, q *sqs.Client, url string, n int) {
	for i := 0; i < n; i += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for j := i; j < min(i+10, n); j++ {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)),
				MessageBody: aws.String(fmt.Sprintf(`{"kind":"order","id":%d,"customer":{"name":"Ann"}}`, j))})
		}
		if _, err := q.SendMessageBatch(ctx(b), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipeSQSToHTTP: messages through a running pipe, from an SQS
// queue (moto) through a filter and an input template to an API
// destination on a real HTTP receiver. Each iteration sends 100 messages
// and waits for their 100 calls; msgs/s is the pipe's end-to-end rate.
// BenchmarkMotoSQSDrain is what moto alone takes to hand out and delete
// as many messages, for the comparison: moto's SQS is the bottleneck.
func BenchmarkPipeSQSToHTTP(b *testing.B) {
	m := startMoto(b)
	s := startServer(b, "--aws-endpoint", m)
	cfg := motoConfig(m)
	q, p, eb := sqs.NewFromConfig(cfg), s.pipesClient(motoAccount, awsRegion), s.client(motoAccount, awsRegion)
	cx := ctx(b)
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	out, err := q.CreateQueue(cx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		b.Fatal(err)
	}
	url, arn := aws.ToString(out.QueueUrl), fmt.Sprintf("arn:aws:sqs:%s:%s:%s", awsRegion, motoAccount, name)
	rcv := newReceiver(b)
	conn, err := eb.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String(name), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
	if err != nil {
		b.Fatal(err)
	}
	dest, err := eb.CreateApiDestination(cx, &eventbridge.CreateApiDestinationInput{Name: aws.String(name), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(rcv.URL), HttpMethod: types.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(300)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.CreatePipe(cx, &pipes.CreatePipeInput{Name: aws.String(name), RoleArn: aws.String(pipeRole), Source: aws.String(arn),
		Target: aws.String(aws.ToString(dest.ApiDestinationArn)),
		SourceParameters: &ptypes.PipeSourceParameters{SqsQueueParameters: &ptypes.PipeSourceSqsQueueParameters{BatchSize: aws.Int32(10)},
			FilterCriteria: &ptypes.FilterCriteria{Filters: []ptypes.Filter{{Pattern: aws.String(`{"body":{"kind":["order"]}}`)}}}},
		TargetParameters: &ptypes.PipeTargetParameters{InputTemplate: aws.String(`{"id": <$.body.id>, "who": <$.body.customer.name>}`)}}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := p.DescribePipe(cx, &pipes.DescribePipeInput{Name: aws.String(name)})
		if err == nil && d.CurrentState == ptypes.PipeStateRunning {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the pipe did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sendBatch(b, q, url, benchBatch)
		rcv.waitFor(b, (i+1)*benchBatch, 60*time.Second)
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkMotoSQSDrain(b *testing.B) {
	m := startMoto(b)
	q := sqs.NewFromConfig(motoConfig(m))
	name := fmt.Sprintf("drain-%d", time.Now().UnixNano())
	out, err := q.CreateQueue(ctx(b), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		b.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	b.ResetTimer()
	for b.Loop() {
		sendBatch(b, q, url, benchBatch)
		for n := 0; n < benchBatch; {
			r, err := q.ReceiveMessage(ctx(b), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				b.Fatal(err)
			}
			var del []sqstypes.DeleteMessageBatchRequestEntry
			for i, msg := range r.Messages {
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: msg.ReceiptHandle})
			}
			if len(del) > 0 {
				if _, err := q.DeleteMessageBatch(ctx(b), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
					b.Fatal(err)
				}
			}
			n += len(r.Messages)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
}
