package awstarget

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type sfnInvoker struct{ clients *clients[*sfn.Client] }

func newSFN(f *awsclient.Factory) *sfnInvoker {
	return &sfnInvoker{newClients(f, "states", func(cfg aws.Config, endpoint func(*string) *string) *sfn.Client {
		return sfn.NewFromConfig(cfg, func(o *sfn.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

func (s *sfnInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "states")
	if err != nil {
		return err
	}
	cl, err := s.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	if inv.Reply != nil {
		return s.invokeSync(ctx, cl, inv)
	}
	err = withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(inv.Target.Arn),
			Input:           aws.String(string(inv.Input)),
			Name:            aws.String(taskName(inv)),
			// The trace header goes as the HTTP header only: Step
			// Functions prefers it over the body's traceHeader, which
			// allows fewer characters (256) than PutEvents (500).
		}, traced(inv, func(o *sfn.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	})
	// The name is the task's: an execution that already has it was
	// started by an earlier attempt whose answer was lost.
	if errorCode(err) == "ExecutionAlreadyExists" {
		return nil
	}
	return classify(err)
}

// invokeSync runs an Express state machine to its end (StartSyncExecution),
// for an invocation that wants the reply (a pipe's enrichment): the reply
// is the execution's output; a failed execution fails the invocation.
func (s *sfnInvoker) invokeSync(ctx context.Context, cl *sfn.Client, inv *deliver.Invocation) error {
	return classify(withTimeout(ctx, func(ctx context.Context) error {
		out, err := cl.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{
			StateMachineArn: aws.String(inv.Target.Arn),
			Input:           aws.String(string(inv.Input)),
		}, traced(inv, func(o *sfn.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		if err != nil {
			return err
		}
		if out.Status != types.SyncExecutionStatusSucceeded {
			return deliver.Retryable("States.ExecutionFailed", fmt.Errorf("execution of %s %s: %s %s", inv.Target.Arn, out.Status, aws.ToString(out.Error), aws.ToString(out.Cause)))
		}
		*inv.Reply = []byte(aws.ToString(out.Output))
		return nil
	}))
}
