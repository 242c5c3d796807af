package deliver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/buslog"
	"github.com/switchyard/switchyard/internal/metrics"
)

// deadLetter is why a task was given up: what its dead letter reports.
type deadLetter struct {
	code, message string
	// condition is the exhausted retry condition; empty for a permanent
	// error.
	condition string
	retries   int
}

// dlqMaxAge bounds the retries of a dead letter that cannot be stored: the
// delivery stream's own age limit, past which the task would be gone anyway.
const dlqMaxAge = 7 * 24 * time.Hour

// giveUp ends a task the retry policy no longer retries: it goes to the
// target's dead-letter queue, or, without one, is dropped and counted.
func (d *Deliverer) giveUp(ctx context.Context, j *job, e *Error, condition string, retries int) {
	labels := j.labels()
	metrics.Invocations.WithLabelValues(labels...).Inc()
	metrics.FailedInvocations.WithLabelValues(labels...).Inc()
	if d.BusLog != nil {
		d.logOutcome(j, buslog.InvocationFailure, retries+1, e)
	}
	dlq := j.task.Target.DeadLetterConfig
	if dlq == nil || dlq.Arn == nil || *dlq.Arn == "" {
		metrics.DroppedEvents.WithLabelValues(labels...).Inc()
		d.log.WarnContext(logContext(ctx, j), "deliver: gave up; no dead-letter queue, event dropped",
			"retries", retries, "condition", condition, "err", e)
		_ = j.msg.Ack()
		return
	}
	metrics.DeadLetterInvocations.WithLabelValues(labels...).Inc()
	msg := e.Err.Error()
	if msg == "" {
		msg = e.Code
	}
	j.dead = &deadLetter{code: e.Code, message: msg, condition: condition, retries: retries}
	d.log.WarnContext(logContext(ctx, j), "deliver: gave up; to the dead-letter queue",
		"retries", retries, "condition", condition, "err", e)
	d.sendDeadLetter(ctx, j)
}

// sendDeadLetter stores j's event in its target's dead-letter queue. A
// failed send is retried later, with backoff, through the stream like any
// retry: the event is not lost because its queue is unavailable.
func (d *Deliverer) sendDeadLetter(ctx context.Context, j *job) {
	labels := j.labels()
	sctx, span, trace := startDeadLetter(ctx, j, *j.task.Target.DeadLetterConfig.Arn)
	err := d.dlq.send(sctx, *j.task.Target.DeadLetterConfig.Arn, j.task.RuleArn, j.task.Target.Arn, j.task.Event, trace, j.dead)
	span.EndDeadLetter(err)
	if err == nil {
		metrics.InvocationsSentToDlq.WithLabelValues(labels...).Inc()
		if d.BusLog != nil {
			d.logOutcome(j, buslog.InvocationDLQ, j.dead.retries+1, &Error{Code: j.dead.code, Err: errors.New(j.dead.message)})
		}
		_ = j.msg.Ack()
		return
	}
	if ctx.Err() != nil {
		_ = j.msg.Nak()
		return
	}
	metrics.InvocationsFailedToBeSentToDlq.WithLabelValues(labels...).Inc()
	if time.Since(time.UnixMilli(j.task.Ingested)) >= dlqMaxAge {
		metrics.DroppedEvents.WithLabelValues(labels...).Inc()
		d.log.ErrorContext(logContext(ctx, j), "deliver: dead-letter queue unavailable for the stream's whole retention; event dropped",
			"dlq", *j.task.Target.DeadLetterConfig.Arn, "err", err)
		_ = j.msg.Ack()
		return
	}
	d.log.WarnContext(logContext(ctx, j), "deliver: dead letter not stored; will retry",
		"dlq", *j.task.Target.DeadLetterConfig.Arn, "err", err)
	d.republish(ctx, j, retryState{attempts: j.attempts, defers: j.defers, dead: j.dead, dlqAttempts: j.dlqAttempts + 1},
		backoff(j.dlqAttempts, d.BaseDelay))
}

// DeadLetters sends dead letters with the SQS API, to AWS or any
// SQS-compatible endpoint (package awsclient): those of targets, and those
// of event buses (SendBusDeadLetter).
type DeadLetters struct {
	aws     *awsclient.Factory
	mu      sync.Mutex
	clients map[string]*sqs.Client // by region
	urls    map[string]string      // queue URL by ARN
}

// NewDeadLetters returns a sender of dead letters through f's SQS clients.
func NewDeadLetters(f *awsclient.Factory) *DeadLetters {
	return &DeadLetters{aws: f, clients: map[string]*sqs.Client{}, urls: map[string]string{}}
}

// SendBusDeadLetter sends an event to an event bus's dead-letter queue
// (its DeadLetterConfig): an event the bus could not process, which no
// rule or target is involved in, so its only attributes are ERROR_CODE
// and ERROR_MESSAGE.
func (s *DeadLetters) SendBusDeadLetter(ctx context.Context, queueArn string, event []byte, trace, code, message string) error {
	return s.send(ctx, queueArn, "", "", event, trace, &deadLetter{code: code, message: message})
}

// send sends the event with the attributes AWS gives a dead letter, and
// its trace header, if it has one: "the trace header is included in the
// SendMessage request that sends the event to the DLQ", and a ReceiveMessage
// of the dead letter has it "on the Amazon SQS message attribute, but it
// isn't included in the event message" ("Amazon EventBridge integration
// with AWS X-Ray", EventBridge User Guide). So the request carries it as
// its X-Amzn-Trace-Id header and as the message's AWSTraceHeader system
// attribute, the one SQS returns it in ("Amazon SQS and AWS X-Ray", X-Ray
// Developer Guide).
func (s *DeadLetters) send(ctx context.Context, queueArn, ruleArn, targetArn string, event []byte, trace string, dl *deadLetter) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client, url, err := s.queue(ctx, queueArn)
	if err != nil {
		return err
	}
	attr := func(v string) sqstypes.MessageAttributeValue {
		if v == "" {
			v = "-" // SQS refuses empty attribute values
		}
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	var attrs map[string]sqstypes.MessageAttributeValue
	if IsScheduleArn(ruleArn) {
		attrs = scheduleDeadLetterAttributes(ruleArn, targetArn, dl, attr)
	} else {
		attrs = map[string]sqstypes.MessageAttributeValue{
			"ERROR_CODE":    attr(dl.code),
			"ERROR_MESSAGE": attr(truncate(dl.message, 1024)),
		}
		if ruleArn != "" { // a target's dead letter, not a bus's
			attrs["RULE_ARN"], attrs["TARGET_ARN"] = attr(ruleArn), attr(targetArn)
			attrs["RETRY_ATTEMPTS"] = attr(strconv.Itoa(dl.retries))
		}
		if dl.condition != "" {
			attrs["EXHAUSTED_RETRY_CONDITION"] = attr(dl.condition)
		}
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(string(event)), MessageAttributes: attrs}
	var opts []func(*sqs.Options)
	if trace != "" {
		in.MessageSystemAttributes = map[string]sqstypes.MessageSystemAttributeValue{
			string(sqstypes.MessageSystemAttributeNameForSendsAWSTraceHeader): {DataType: aws.String("String"), StringValue: aws.String(trace)},
		}
		opts = append(opts, func(o *sqs.Options) {
			o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(TraceHeader, trace))
		})
	}
	_, err = client.SendMessage(ctx, in, opts...)
	if err != nil {
		return fmt.Errorf("dead-letter queue %s: %w", queueArn, err)
	}
	return nil
}

func (s *DeadLetters) queue(ctx context.Context, queueArn string) (*sqs.Client, string, error) {
	a, err := awsclient.ParseARN(queueArn)
	if err != nil || a.Service != "sqs" {
		return nil, "", errors.New("dead-letter queue: not an SQS queue ARN: " + queueArn)
	}
	s.mu.Lock()
	client := s.clients[a.Region]
	url := s.urls[queueArn]
	s.mu.Unlock()
	if client == nil {
		cfg, err := s.aws.Config(ctx, a.Region)
		if err != nil {
			return nil, "", err
		}
		// --aws-endpoint's SQS URL, else the SDK's configured one
		// (AWS_ENDPOINT_URL_SQS, ...), as for SQS targets.
		client = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = s.aws.BaseEndpoint("sqs", o.BaseEndpoint) })
		s.mu.Lock()
		s.clients[a.Region] = client
		s.mu.Unlock()
	}
	if url == "" {
		out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(a.Resource), QueueOwnerAWSAccountId: aws.String(a.Account)})
		if err != nil {
			return nil, "", fmt.Errorf("dead-letter queue %s: %w", queueArn, err)
		}
		url = aws.ToString(out.QueueUrl)
		s.mu.Lock()
		s.urls[queueArn] = url
		s.mu.Unlock()
	}
	return client, url, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
