package awstarget

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type lambdaInvoker struct{ clients *clients[*lambda.Client] }

func newLambda(f *awsclient.Factory) *lambdaInvoker {
	return &lambdaInvoker{newClients(f, "lambda", func(cfg aws.Config, endpoint func(*string) *string) *lambda.Client {
		return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke queues an asynchronous invocation, as EventBridge does: the
// delivery succeeds once Lambda has accepted the event, whatever the
// function later does with it. An invocation that wants the reply (a
// pipe's enrichment) is synchronous (RequestResponse) and fails if the
// function does.
func (l *lambdaInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	if inv.Reply != nil {
		return l.invokeSync(ctx, inv)
	}
	a, err := target(inv, "lambda")
	if err != nil {
		return err
	}
	cl, err := l.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classify(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String(inv.Target.Arn), // the ARN keeps a qualifier (version, alias)
			InvocationType: types.InvocationTypeEvent,
			Payload:        inv.Input,
		}, traced(inv, func(o *lambda.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}

func (l *lambdaInvoker) invokeSync(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "lambda")
	if err != nil {
		return err
	}
	cl, err := l.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classify(withTimeout(ctx, func(ctx context.Context) error {
		out, err := cl.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String(inv.Target.Arn),
			InvocationType: types.InvocationTypeRequestResponse,
			Payload:        inv.Input,
		}, traced(inv, func(o *lambda.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		if err != nil {
			return err
		}
		if out.FunctionError != nil {
			return deliver.Retryable("Lambda.FunctionError", fmt.Errorf("function %s failed (%s): %s", inv.Target.Arn, aws.ToString(out.FunctionError), out.Payload))
		}
		*inv.Reply = out.Payload
		return nil
	}))
}
