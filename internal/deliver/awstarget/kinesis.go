package awstarget

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type kinesisInvoker struct{ clients *clients[*kinesis.Client] }

func newKinesis(f *awsclient.Factory) *kinesisInvoker {
	return &kinesisInvoker{newClients(f, "kinesis", func(cfg aws.Config, endpoint func(*string) *string) *kinesis.Client {
		return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

func (k *kinesisInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "kinesis")
	if err != nil {
		return err
	}
	name, ok := resourceName(a.Resource, "stream/")
	if !ok {
		return deliver.Permanent("InvalidTarget", errString("target "+inv.Target.Arn+" is not a Kinesis stream ARN"))
	}
	cl, err := k.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	in := &kinesis.PutRecordInput{StreamName: aws.String(name), Data: inv.Input, PartitionKey: aws.String(partitionKey(inv))}
	if a.Account != "" {
		// The ARN addresses a stream of another account too; the name
		// alone would resolve in the caller's.
		in.StreamARN, in.StreamName = aws.String(inv.Target.Arn), nil
	}
	return classify(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.PutRecord(ctx, in, traced(inv, func(o *kinesis.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}

// partitionKey is the value at KinesisParameters.PartitionKeyPath in the
// event, or the event id when the target has no path, as AWS documents.
// A path that selects nothing also falls back to the event id: a record
// without a key cannot be written at all.
func partitionKey(inv *deliver.Invocation) string {
	id := eventOf(inv).ID
	p := inv.Target.KinesisParameters
	if p == nil || aws.ToString(p.PartitionKeyPath) == "" {
		return id
	}
	if deliver.IsScheduleArn(inv.RuleArn) {
		// EventBridge Scheduler's KinesisParameters.PartitionKey is the
		// key itself, not a path into an event.
		return aws.ToString(p.PartitionKeyPath)
	}
	v, ok := deliver.Lookup(inv.Event, aws.ToString(p.PartitionKeyPath))
	if !ok || v == "" {
		return id
	}
	return v
}

type errString string

func (e errString) Error() string { return string(e) }
