package pipes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// pollSQS reads the source queue: ReceiveMessage until a batch is full
// (BatchSize, 10 by default) or its window ends (MaximumBatchingWindowInSeconds),
// then the batch through the pipe, then DeleteMessageBatch of the messages
// it is done with — delivered, or dropped by the filters, as Pipes deletes
// those too. A message whose delivery failed is not deleted: it comes
// back when its visibility timeout ends, and the queue's redrive policy,
// if any, moves it to the queue's dead-letter queue ("Amazon SQS as a
// source", EventBridge User Guide). So nothing delivered is lost, and
// nothing is delivered twice unless a crash comes between delivery and
// deletion (at least once, as SQS is).
func (run *pipeRun) pollSQS(ctx context.Context) error {
	a, err := run.sourceARN()
	if err != nil {
		return err
	}
	cfg, err := run.awsConfig(ctx, a.Region)
	if err != nil {
		return err
	}
	cl := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = run.r.AWS.BaseEndpoint("sqs", o.BaseEndpoint) })
	batchSize, window := 10, time.Duration(0)
	if sp := run.p.sourceParams().SqsQueueParameters; sp != nil {
		if sp.BatchSize != nil {
			batchSize = *sp.BatchSize
		}
		if sp.MaximumBatchingWindowInSeconds != nil {
			window = time.Duration(*sp.MaximumBatchingWindowInSeconds) * time.Second
		}
	}
	var url string
	for url == "" {
		out, err := cl.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(a.Resource), QueueOwnerAWSAccountId: aws.String(a.Account)})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			run.pl.setStatus(false, fmt.Sprintf("The source queue %s cannot be read: %v", run.p.Source, err))
			run.r.poke()
			if !sleep(ctx, 2*time.Second) {
				return nil
			}
			continue
		}
		url = aws.ToString(out.QueueUrl)
	}
	// The queue's visibility timeout, renewed for a batch as long as it
	// is in flight, so that a slow target does not make its messages
	// visible again (and delivered twice) before the pipe is done.
	visibility := int32(30)
	if qa, err := cl.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout}}); err == nil {
		if v, err := strconv.Atoi(qa.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)]); err == nil && v > 0 {
			visibility = int32(v)
		}
	}
	run.pl.setStatus(true, "")
	run.r.poke()
	for ctx.Err() == nil {
		var msgs []sqstypes.Message
		deadline := time.Now().Add(window)
		for len(msgs) < batchSize && ctx.Err() == nil {
			out, err := cl.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(url), MaxNumberOfMessages: int32(min(batchSize-len(msgs), 10)), WaitTimeSeconds: 1,
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
				MessageAttributeNames:       []string{"All"},
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				run.pl.setStatus(true, fmt.Sprintf("ReceiveMessage from %s failed: %v", run.p.Source, err))
				run.r.poke()
				sleep(ctx, 2*time.Second)
				break
			}
			msgs = append(msgs, out.Messages...)
			// Without a window, a batch is what one receive brings.
			if window == 0 || !time.Now().Before(deadline) {
				break
			}
		}
		if len(msgs) == 0 {
			continue
		}
		recs := make([]record, len(msgs))
		for i, m := range msgs {
			recs[i] = sqsRecord(m, run.p.Source, a.Region)
		}
		// SQS messages have no order to keep (FIFO queues aside), so the
		// calls of a batch go out together.
		parallel := 10
		if len(a.Resource) > 5 && a.Resource[len(a.Resource)-5:] == ".fifo" {
			parallel = 1
		}
		stopRenew := run.renewVisibility(ctx, cl, url, msgs, visibility)
		done, errs := run.deliverBatch(ctx, recs, retryPolicy{attempts: 3}, parallel)
		stopRenew()
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, ok := range done {
			if ok {
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msgs[i].ReceiptHandle})
			} else if errs[i] != nil && ctx.Err() == nil {
				run.log.Warn("pipes: delivery failed; the message stays in the queue", "messageId", recs[i].id, "err", errs[i])
			}
		}
		for len(del) > 0 {
			n := min(len(del), 10)
			if _, err := cl.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del[:n]}); err != nil {
				run.log.Warn("pipes: DeleteMessageBatch failed; the messages will be delivered again", "err", err)
			}
			del = del[n:]
		}
	}
	return nil
}

// renewVisibility keeps msgs invisible, renewing their visibility timeout
// every half of it, until the returned function is called.
func (run *pipeRun) renewVisibility(ctx context.Context, cl *sqs.Client, url string, msgs []sqstypes.Message, visibility int32) func() {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		every := time.Duration(visibility) * time.Second / 2
		for sleep(rctx, every) {
			for i := 0; i < len(msgs); i += 10 {
				var entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry
				for j := i; j < min(i+10, len(msgs)); j++ {
					entries = append(entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(j)),
						ReceiptHandle: msgs[j].ReceiptHandle, VisibilityTimeout: visibility})
				}
				if _, err := cl.ChangeMessageVisibilityBatch(rctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil && rctx.Err() == nil {
					run.log.Warn("pipes: renewing the visibility of a batch in flight failed", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// sqsRecord is a message as Pipes hands it on ("Amazon SQS as a source",
// EventBridge User Guide: messageId, receiptHandle, body, attributes,
// messageAttributes, md5OfBody, eventSource "aws:sqs", eventSourceARN,
// awsRegion).
func sqsRecord(m sqstypes.Message, arn, region string) record {
	attrs := map[string]sqsAttr{}
	for k, v := range m.MessageAttributes {
		attrs[k] = sqsAttr{StringValue: v.StringValue, BinaryValue: v.BinaryValue, StringListValues: orEmpty(v.StringListValues),
			BinaryListValues: orEmptyB(v.BinaryListValues), DataType: aws.ToString(v.DataType)}
	}
	sys := map[string]string{}
	for k, v := range m.Attributes {
		sys[k] = v
	}
	body := aws.ToString(m.Body)
	// The record and its view differ only in the body: a string in the
	// one, the JSON it holds in the other. Both are encoded from one
	// struct, the view with the body as raw JSON, rather than the view
	// decoded and encoded again from the record (decodedView).
	r := sqsShape{MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Attributes: sys,
		MessageAttributes: attrs, MD5OfBody: aws.ToString(m.MD5OfBody), MD5OfMessageAttributes: m.MD5OfMessageAttributes,
		EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: region}
	r.Body = appendString(nil, body)
	raw := marshal(&r)
	view := raw
	if json.Valid([]byte(body)) {
		r.Body = json.RawMessage(body)
		view = marshal(&r)
	}
	arrival := time.Now()
	if ms, err := strconv.ParseInt(sys["SentTimestamp"], 10, 64); err == nil {
		arrival = time.UnixMilli(ms)
	}
	return record{id: r.MessageID, raw: raw, view: view, arrival: arrival}
}

type sqsAttr struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues [][]byte `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

type sqsShape struct {
	MessageID              string             `json:"messageId"`
	ReceiptHandle          string             `json:"receiptHandle"`
	Body                   json.RawMessage    `json:"body"`
	Attributes             map[string]string  `json:"attributes"`
	MessageAttributes      map[string]sqsAttr `json:"messageAttributes"`
	MD5OfBody              string             `json:"md5OfBody"`
	MD5OfMessageAttributes *string            `json:"md5OfMessageAttributes,omitempty"`
	EventSource            string             `json:"eventSource"`
	EventSourceARN         string             `json:"eventSourceARN"`
	AWSRegion              string             `json:"awsRegion"`
}

// marshal encodes v as JSON without escaping <, > and & (as json.Marshal
// does for HTML): a body is passed on as it was sent.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func orEmptyB(l [][]byte) [][]byte {
	if l == nil {
		return [][]byte{}
	}
	return l
}

// sleep waits d, or less if ctx ends; it reports whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
