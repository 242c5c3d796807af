package awstarget

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type sqsInvoker struct {
	clients *clients[*sqs.Client]
	// urls caches queue URLs by ARN: the API addresses queues by URL, and
	// resolving it costs a call the queue's every message would repeat.
	urls sync.Map
}

func newSQS(f *awsclient.Factory) *sqsInvoker {
	return &sqsInvoker{clients: newClients(f, "sqs", func(cfg aws.Config, endpoint func(*string) *string) *sqs.Client {
		return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1 // the deliverer retries, within the target's policy
		})
	})}
}

func (s *sqsInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "sqs")
	if err != nil {
		return err
	}
	cl, err := s.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	url, err := s.queueURL(ctx, cl, inv.Target.Arn, a)
	if err != nil {
		return err
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(string(inv.Input))}
	if inv.Trace != "" {
		// SQS keeps a message's X-Ray trace header in its AWSTraceHeader
		// system attribute, which wins over the request's HTTP header
		// when both are set ("Amazon SQS and AWS X-Ray", X-Ray Developer
		// Guide; SendMessage's MessageSystemAttributes, SQS API
		// Reference): both are set, to the same value.
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			string(types.MessageSystemAttributeNameForSendsAWSTraceHeader): {DataType: aws.String("String"), StringValue: aws.String(inv.Trace)},
		}
	}
	if strings.HasSuffix(a.Resource, ".fifo") {
		if p := inv.Target.SqsParameters; p != nil && p.MessageGroupId != nil {
			in.MessageGroupId = p.MessageGroupId
		}
		// AWS deduplicates on the event id: a retried send within the
		// queue's five-minute window is not delivered twice.
		if id := eventOf(inv).ID; id != "" {
			in.MessageDeduplicationId = aws.String(id)
		}
	}
	err = withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.SendMessage(ctx, in, traced(inv, func(o *sqs.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	})
	if isMissingQueue(err) {
		s.urls.Delete(inv.Target.Arn)
	}
	return classify(err)
}

func (s *sqsInvoker) queueURL(ctx context.Context, cl *sqs.Client, arn string, a awsclient.ARN) (string, error) {
	if u, ok := s.urls.Load(arn); ok {
		return u.(string), nil
	}
	var out *sqs.GetQueueUrlOutput
	err := withTimeout(ctx, func(ctx context.Context) error {
		var err error
		in := &sqs.GetQueueUrlInput{QueueName: aws.String(a.Resource)}
		if a.Account != "" {
			in.QueueOwnerAWSAccountId = aws.String(a.Account)
		}
		out, err = cl.GetQueueUrl(ctx, in)
		return err
	})
	if err != nil {
		return "", classify(fmt.Errorf("queue %s: %w", arn, err))
	}
	u := aws.ToString(out.QueueUrl)
	s.urls.Store(arn, u)
	return u, nil
}

func isMissingQueue(err error) bool {
	switch errorCode(err) {
	case "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist":
		return true
	}
	return false
}
