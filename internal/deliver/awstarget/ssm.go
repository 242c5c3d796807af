package awstarget

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type ssmInvoker struct{ clients *clients[*ssm.Client] }

func newSSM(f *awsclient.Factory) *ssmInvoker {
	return &ssmInvoker{newClients(f, "ssm", func(cfg aws.Config, endpoint func(*string) *string) *ssm.Client {
		return ssm.NewFromConfig(cfg, func(o *ssm.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

func (s *ssmInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "ssm")
	if err != nil {
		return err
	}
	cl, err := s.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	opts := traced(inv, func(o *ssm.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })
	if name, ok := resourceName(a.Resource, "document/"); ok {
		return s.runCommand(ctx, cl, inv, a, name, opts)
	}
	if def, ok := resourceName(a.Resource, "automation-definition/"); ok {
		return s.automation(ctx, cl, inv, def, opts)
	}
	if a.Resource == "opsitem" {
		return s.opsItem(ctx, cl, inv, opts)
	}
	return deliver.Permanent("UnsupportedTarget", fmt.Errorf("target %s: not an SSM document, automation definition or opsitem", inv.Target.Arn))
}

// runCommand runs the document of the target's ARN with SendCommand on the
// instances RunCommandParameters selects (InstanceIds, or tag:<key>). The
// target's input, when it has one, is the document's parameters
// ({"commands": ["uptime"]}: the "Constant" automation parameters of "Use
// EventBridge to relay events to Systems Manager Run Command", EventBridge
// User Guide); without one nothing from the event is passed (PutTargets,
// EventBridge API Reference).
func (s *ssmInvoker) runCommand(ctx context.Context, cl *ssm.Client, inv *deliver.Invocation, a awsclient.ARN, name string, opts []func(*ssm.Options)) error {
	p := inv.Target.RunCommandParameters
	if p == nil || len(p.RunCommandTargets) == 0 {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s has no RunCommandParameters", inv.Target.Arn))
	}
	in := &ssm.SendCommandInput{DocumentName: aws.String(documentName(inv, a, name))}
	for _, t := range p.RunCommandTargets {
		in.Targets = append(in.Targets, types.Target{Key: t.Key, Values: t.Values})
	}
	if shaped(inv.Target) {
		params, err := stringParams(inv)
		if err != nil {
			return err
		}
		in.Parameters = params
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.SendCommand(ctx, in, opts...)
		return err
	}))
}

// documentName names a document as SendCommand takes it: by name when it is
// AWS's (no account in its ARN) or the rule's account's, by ARN when
// another account shares it.
func documentName(inv *deliver.Invocation, a awsclient.ARN, name string) string {
	if a.Account == "" || a.Account == inv.Scope.Account {
		return name
	}
	return inv.Target.Arn
}

// automation starts the automation runbook of the target's ARN
// (automation-definition/<name>[:<version>], the version $DEFAULT,
// $LATEST or a number) with StartAutomationExecution, the input as its
// parameters as for Run Command. The delivery task's name is the client
// token, a UUID as the API wants: a retried start whose answer was lost
// finds its execution instead of starting another.
func (s *ssmInvoker) automation(ctx context.Context, cl *ssm.Client, inv *deliver.Invocation, def string, opts []func(*ssm.Options)) error {
	name, version, _ := strings.Cut(def, ":")
	in := &ssm.StartAutomationExecutionInput{DocumentName: aws.String(name), ClientToken: aws.String(taskName(inv))}
	if version != "" {
		in.DocumentVersion = aws.String(version)
	}
	if shaped(inv.Target) {
		// The whole event, which no runbook takes as its parameters, is
		// not passed: only an input the target shapes for it.
		params, err := stringParams(inv)
		if err != nil {
			return err
		}
		in.Parameters = params
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.StartAutomationExecution(ctx, in, opts...)
		return err
	}))
}
