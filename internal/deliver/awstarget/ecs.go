package awstarget

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

type ecsInvoker struct{ clients *clients[*ecs.Client] }

func newECS(f *awsclient.Factory) *ecsInvoker {
	return &ecsInvoker{newClients(f, "ecs", func(cfg aws.Config, endpoint func(*string) *string) *ecs.Client {
		return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke runs the target's task on the cluster of its ARN with RunTask,
// from its EcsParameters. The target's input, when it has one, is the
// task's overrides ({"containerOverrides": [...], "cpu": ..., ...}: the
// AWS CDK's EcsTask target passes its container overrides so, as the
// target's Input); without one nothing from the event is passed
// (PutTargets, EventBridge API Reference). The task is started by
// "events-rule/<rule name>", as ECS shows the tasks of EventBridge rules,
// and the delivery task's name is the client token, so that a retried
// call whose answer was lost starts no second task.
func (e *ecsInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "ecs")
	if err != nil {
		return err
	}
	p := inv.Target.EcsParameters
	if p == nil || p.TaskDefinitionArn == nil {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s has no EcsParameters.TaskDefinitionArn", inv.Target.Arn))
	}
	in := runTaskInput(inv, p)
	if shaped(inv.Target) {
		in.Overrides = &types.TaskOverride{}
		if err := decodeInput(inv, in.Overrides); err != nil {
			return err
		}
	}
	cl, err := e.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	var out *ecs.RunTaskOutput
	err = withTimeout(ctx, func(ctx context.Context) error {
		var err error
		out, err = cl.RunTask(ctx, in, traced(inv, func(o *ecs.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	})
	if err != nil || out == nil {
		return classifyAccepted(err)
	}
	if len(out.Tasks) == 0 && len(out.Failures) > 0 {
		// ECS answered, but placed no task: for want of capacity (a
		// reason of "RESOURCE:..." or "AGENT"), which may pass, or
		// because the cluster or task definition cannot run it.
		f := out.Failures[0]
		reason := aws.ToString(f.Reason)
		err := fmt.Errorf("RunTask on %s placed no task: %s %s", inv.Target.Arn, reason, aws.ToString(f.Detail))
		if strings.HasPrefix(reason, "RESOURCE:") || reason == "AGENT" {
			return deliver.Retryable("ECS_TASK_NOT_PLACED", err)
		}
		return deliver.Permanent("ECS_TASK_NOT_PLACED", err)
	}
	return nil
}

// runTaskInput is the RunTask request of EcsParameters p: the members of
// EcsParameters are RunTask's, under the same names.
func runTaskInput(inv *deliver.Invocation, p *control.EcsParameters) *ecs.RunTaskInput {
	in := &ecs.RunTaskInput{
		Cluster:              aws.String(inv.Target.Arn),
		TaskDefinition:       p.TaskDefinitionArn,
		Count:                aws.Int32(1), // "The default is 1" (EcsParameters.TaskCount)
		PlatformVersion:      p.PlatformVersion,
		Group:                p.Group,
		EnableECSManagedTags: aws.ToBool(p.EnableECSManagedTags),
		EnableExecuteCommand: aws.ToBool(p.EnableExecuteCommand),
		ReferenceId:          p.ReferenceId,
		StartedBy:            aws.String(startedBy(inv)),
		ClientToken:          aws.String(taskName(inv)),
	}
	if p.TaskCount != nil {
		in.Count = p.TaskCount
	}
	if p.LaunchType != nil {
		in.LaunchType = types.LaunchType(*p.LaunchType)
	}
	if p.PropagateTags != nil {
		in.PropagateTags = types.PropagateTags(*p.PropagateTags)
	}
	if n := p.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		c := n.AwsvpcConfiguration
		vpc := &types.AwsVpcConfiguration{Subnets: c.Subnets, SecurityGroups: c.SecurityGroups}
		if c.AssignPublicIp != nil {
			vpc.AssignPublicIp = types.AssignPublicIp(*c.AssignPublicIp)
		}
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: vpc}
	}
	for _, c := range p.CapacityProviderStrategy {
		in.CapacityProviderStrategy = append(in.CapacityProviderStrategy, types.CapacityProviderStrategyItem{
			CapacityProvider: c.CapacityProvider, Weight: aws.ToInt32(c.Weight), Base: aws.ToInt32(c.Base)})
	}
	for _, c := range p.PlacementConstraints {
		pc := types.PlacementConstraint{Expression: c.Expression}
		if c.Type != nil {
			pc.Type = types.PlacementConstraintType(*c.Type)
		}
		in.PlacementConstraints = append(in.PlacementConstraints, pc)
	}
	for _, s := range p.PlacementStrategy {
		ps := types.PlacementStrategy{Field: s.Field}
		if s.Type != nil {
			ps.Type = types.PlacementStrategyType(*s.Type)
		}
		in.PlacementStrategy = append(in.PlacementStrategy, ps)
	}
	for _, t := range p.Tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	return in
}

// startedBy is how ECS lists the tasks a rule ran: "events-rule/<rule
// name>" (what `aws ecs list-tasks --started-by events-rule/<name>` finds
// for EventBridge's scheduled tasks), within StartedBy's 128 characters.
func startedBy(inv *deliver.Invocation) string {
	s := "events-rule/" + inv.RuleName
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}
