package awstarget

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type batchInvoker struct{ clients *clients[*batch.Client] }

func newBatch(f *awsclient.Factory) *batchInvoker {
	return &batchInvoker{newClients(f, "batch", func(cfg aws.Config, endpoint func(*string) *string) *batch.Client {
		return batch.NewFromConfig(cfg, func(o *batch.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// batchInput is what a Batch target's input may set: the job's
// parameters, which fill the job definition's Ref:: placeholders, and its
// container overrides ({"Parameters": {"S3bucket": ...},
// "ContainerOverrides": {"Command": [...]}}: "Passing Event Information
// to an AWS Batch Target using the CloudWatch Events Input Transformer",
// AWS Batch User Guide). Parameter values that are not strings are sent
// as their JSON text: SubmitJob takes strings only.
type batchInput struct {
	Parameters         map[string]json.RawMessage
	ContainerOverrides *types.ContainerOverrides
}

// Invoke submits a job to the job queue of the target's ARN with
// SubmitJob, from its BatchParameters (job definition, name, array size,
// retry attempts) and its input (see batchInput).
func (b *batchInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "batch")
	if err != nil {
		return err
	}
	p := inv.Target.BatchParameters
	if p == nil || p.JobDefinition == nil || p.JobName == nil {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s has no BatchParameters", inv.Target.Arn))
	}
	in := &batch.SubmitJobInput{JobQueue: aws.String(inv.Target.Arn), JobDefinition: p.JobDefinition, JobName: p.JobName}
	if p.ArrayProperties != nil && p.ArrayProperties.Size != nil {
		in.ArrayProperties = &types.ArrayProperties{Size: p.ArrayProperties.Size}
	}
	if p.RetryStrategy != nil && p.RetryStrategy.Attempts != nil {
		in.RetryStrategy = &types.RetryStrategy{Attempts: p.RetryStrategy.Attempts}
	}
	var bi batchInput
	if err := decodeInput(inv, &bi); err != nil {
		return err
	}
	in.ContainerOverrides = bi.ContainerOverrides
	if len(bi.Parameters) > 0 {
		in.Parameters = make(map[string]string, len(bi.Parameters))
		for k, v := range bi.Parameters {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			in.Parameters[k] = s
		}
	}
	cl, err := b.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.SubmitJob(ctx, in, traced(inv, func(o *batch.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}
