package awstarget

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/inspector"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type sageMakerInvoker struct{ clients *clients[*sagemaker.Client] }

func newSageMaker(f *awsclient.Factory) *sageMakerInvoker {
	return &sageMakerInvoker{newClients(f, "sagemaker", func(cfg aws.Config, endpoint func(*string) *string) *sagemaker.Client {
		return sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke starts an execution of the pipeline of the target's ARN
// (pipeline/<name>) with StartPipelineExecution, its parameters those of
// SageMakerPipelineParameters, each value a constant or a JSON path into
// the event ("Target parameters", Event bus targets, EventBridge User
// Guide). The delivery task's name is the client request token: a retried
// start whose answer was lost starts no second execution.
func (s *sageMakerInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "sagemaker")
	if err != nil {
		return err
	}
	name, ok := resourceName(a.Resource, "pipeline/")
	if !ok {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s is not a SageMaker pipeline ARN", inv.Target.Arn))
	}
	in := &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(name), ClientRequestToken: aws.String(taskName(inv))}
	if p := inv.Target.SageMakerPipelineParameters; p != nil {
		for _, pp := range p.PipelineParameterList {
			in.PipelineParameters = append(in.PipelineParameters, smtypes.Parameter{Name: pp.Name, Value: aws.String(dynamic(inv.Event, aws.ToString(pp.Value)))})
		}
	}
	cl, err := s.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.StartPipelineExecution(ctx, in, traced(inv, func(o *sagemaker.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}

type codeBuildInvoker struct{ clients *clients[*codebuild.Client] }

func newCodeBuild(f *awsclient.Factory) *codeBuildInvoker {
	return &codeBuildInvoker{newClients(f, "codebuild", func(cfg aws.Config, endpoint func(*string) *string) *codebuild.Client {
		return codebuild.NewFromConfig(cfg, func(o *codebuild.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke starts a build of the project of the target's ARN
// (project/<name>) with StartBuild. The input's members are StartBuild's
// parameters ({"timeoutInMinutesOverride": 30}; "You can't pass the
// projectName parameter, but you can specify the project using the ARN":
// "Tutorial: Schedule automated builds using AWS CodeBuild", EventBridge
// User Guide); members that are no parameter, as the event's own are,
// change nothing. The delivery task's name is the idempotency token
// unless the input sets one.
func (c *codeBuildInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "codebuild")
	if err != nil {
		return err
	}
	name, ok := resourceName(a.Resource, "project/")
	if !ok {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s is not a CodeBuild project ARN", inv.Target.Arn))
	}
	in := &codebuild.StartBuildInput{}
	if err := decodeInput(inv, in); err != nil {
		return err
	}
	in.ProjectName = aws.String(name)
	if in.IdempotencyToken == nil {
		in.IdempotencyToken = aws.String(taskName(inv))
	}
	cl, err := c.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.StartBuild(ctx, in, traced(inv, func(o *codebuild.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}

type codePipelineInvoker struct {
	clients *clients[*codepipeline.Client]
}

func newCodePipeline(f *awsclient.Factory) *codePipelineInvoker {
	return &codePipelineInvoker{newClients(f, "codepipeline", func(cfg aws.Config, endpoint func(*string) *string) *codepipeline.Client {
		return codepipeline.NewFromConfig(cfg, func(o *codepipeline.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke starts the pipeline of the target's ARN
// (arn:aws:codepipeline:<region>:<account>:<name>) with
// StartPipelineExecution; the event only triggers it. The delivery task's
// name is the client request token: a retried start whose answer was
// lost starts no second execution.
func (c *codePipelineInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "codepipeline")
	if err != nil {
		return err
	}
	cl, err := c.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{
			Name: aws.String(a.Resource), ClientRequestToken: aws.String(taskName(inv)),
		}, traced(inv, func(o *codepipeline.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}

type inspectorInvoker struct{ clients *clients[*inspector.Client] }

func newInspector(f *awsclient.Factory) *inspectorInvoker {
	return &inspectorInvoker{newClients(f, "inspector", func(cfg aws.Config, endpoint func(*string) *string) *inspector.Client {
		return inspector.NewFromConfig(cfg, func(o *inspector.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke starts a run of the Amazon Inspector Classic assessment template
// of the target's ARN with StartAssessmentRun; the event only triggers
// it.
func (i *inspectorInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "inspector")
	if err != nil {
		return err
	}
	cl, err := i.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.StartAssessmentRun(ctx, &inspector.StartAssessmentRunInput{AssessmentTemplateArn: aws.String(inv.Target.Arn)},
			traced(inv, func(o *inspector.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	}))
}
