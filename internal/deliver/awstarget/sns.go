package awstarget

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type snsInvoker struct{ clients *clients[*sns.Client] }

func newSNS(f *awsclient.Factory) *snsInvoker {
	return &snsInvoker{newClients(f, "sns", func(cfg aws.Config, endpoint func(*string) *string) *sns.Client {
		return sns.NewFromConfig(cfg, func(o *sns.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

func (s *snsInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "sns")
	if err != nil {
		return err
	}
	cl, err := s.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	in := &sns.PublishInput{TopicArn: aws.String(inv.Target.Arn), Message: aws.String(string(inv.Input))}
	if strings.HasSuffix(a.Resource, ".fifo") {
		// EventBridge's target model has no SNS parameters: a FIFO topic
		// takes its group from SqsParameters when given, else one group
		// per target keeps each target's events in order.
		in.MessageGroupId = aws.String(inv.Target.Id)
		if p := inv.Target.SqsParameters; p != nil && aws.ToString(p.MessageGroupId) != "" {
			in.MessageGroupId = p.MessageGroupId
		}
		if id := eventOf(inv).ID; id != "" {
			in.MessageDeduplicationId = aws.String(id)
		}
	}
	return classify(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.Publish(ctx, in, traced(inv, func(o *sns.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}
