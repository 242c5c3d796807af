package awstarget

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type firehoseInvoker struct{ clients *clients[*firehose.Client] }

func newFirehose(f *awsclient.Factory) *firehoseInvoker {
	return &firehoseInvoker{newClients(f, "firehose", func(cfg aws.Config, endpoint func(*string) *string) *firehose.Client {
		return firehose.NewFromConfig(cfg, func(o *firehose.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

func (h *firehoseInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "firehose")
	if err != nil {
		return err
	}
	name, ok := resourceName(a.Resource, "deliverystream/")
	if !ok {
		return deliver.Permanent("InvalidTarget", errString("target "+inv.Target.Arn+" is not a Firehose stream ARN"))
	}
	cl, err := h.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classify(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.PutRecord(ctx, &firehose.PutRecordInput{
			DeliveryStreamName: aws.String(name),
			Record:             &types.Record{Data: inv.Input},
		}, traced(inv, func(o *firehose.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}
