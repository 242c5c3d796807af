package awstarget

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

// ec2Invoker serves EventBridge's built-in targets
// (arn:aws:events:<region>:<account>:target/create-snapshot,
// reboot-instance, stop-instance, terminate-instance), each one EC2 API
// call on the volume or instance the target's input names: a JSON string,
// "vol-0123..." or "i-0123..." (Terraform's and the AWS CDK's users set it
// so, e.g. input = jsonencode(volume_id)). Calls are made in the region of
// the target's ARN, as its role.
type ec2Invoker struct{ clients *clients[*ec2.Client] }

func newEC2(f *awsclient.Factory) *ec2Invoker {
	return &ec2Invoker{newClients(f, "ec2", func(cfg aws.Config, endpoint func(*string) *string) *ec2.Client {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

func (e *ec2Invoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "events")
	if err != nil {
		return err
	}
	call, ok := control.EC2BuiltIns[a.Resource]
	if !ok {
		return deliver.Permanent("UnsupportedTarget", fmt.Errorf("target %s is not an EventBridge built-in target", inv.Target.Arn))
	}
	ids, err := resourceIDs(inv.Input)
	if err != nil {
		return deliver.Permanent("InvalidInput", fmt.Errorf("target %s: %w", inv.Target.Arn, err))
	}
	cl, err := e.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	opts := traced(inv, func(o *ec2.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		var err error
		switch call {
		case "CreateSnapshot":
			for _, id := range ids {
				if _, err = cl.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(id)}, opts...); err != nil {
					return err
				}
			}
		case "RebootInstances":
			_, err = cl.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids}, opts...)
		case "StopInstances":
			_, err = cl.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids}, opts...)
		case "TerminateInstances":
			_, err = cl.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}, opts...)
		}
		return err
	}))
}

// resourceIDs reads the volume or instance id the input names: a JSON
// string, or a list of them; a volume's ARN (…:volume/vol-…) stands for its
// id.
func resourceIDs(input []byte) ([]string, error) {
	in := bytes.TrimSpace(input)
	var one string
	var many []string
	switch {
	case json.Unmarshal(in, &one) == nil:
		many = []string{one}
	case json.Unmarshal(in, &many) == nil:
	default:
		return nil, fmt.Errorf("the input %.100q is not the JSON string of a volume or instance id", in)
	}
	for i, id := range many {
		if j := strings.LastIndexByte(id, '/'); strings.HasPrefix(id, "arn:") && j >= 0 {
			many[i] = id[j+1:]
		}
		if many[i] == "" {
			return nil, fmt.Errorf("the input %.100q names no volume or instance", in)
		}
	}
	if len(many) == 0 {
		return nil, fmt.Errorf("the input %.100q names no volume or instance", in)
	}
	return many, nil
}
