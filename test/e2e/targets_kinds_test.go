package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
)

// TestAWSTargetsKinds delivers through a running switchyard to the target
// kinds EventBridge invokes through their APIs beyond messages and
// streams, each reaching moto_server through the real SDK call, as the
// target's role (assumed through moto's STS), and refuses at PutTargets
// what AWS refuses.
func TestAWSTargetsKinds(t *testing.T) {
	e := newAWSTargetEnv(t)
	role := "arn:aws:iam::" + motoAccount + ":role/events-invoke"

	t.Run("PutTargetsValidation", func(t *testing.T) {
		cx := ctx(t)
		if _, err := e.eb.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("kinds-validation"), EventPattern: aws.String(`{"source":["nope"]}`)}); err != nil {
			t.Fatal(err)
		}
		cluster := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/c", awsRegion, motoAccount)
		for _, c := range []struct {
			name   string
			target types.Target
			want   string
		}{
			{"ecs without EcsParameters", types.Target{Arn: aws.String(cluster), RoleArn: aws.String(role)},
				"Parameter(s) EcsParameters must be specified for target: t."},
			{"ecs without a role", types.Target{Arn: aws.String(cluster), EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("td")}},
				"RoleArn is required for target " + cluster + "."},
			{"batch without BatchParameters", types.Target{Arn: aws.String(fmt.Sprintf("arn:aws:batch:%s:%s:job-queue/q", awsRegion, motoAccount)), RoleArn: aws.String(role)},
				"Parameter(s) BatchParameters must be specified for target: t."},
			{"an ECS launch type the model does not have", types.Target{Arn: aws.String(cluster), RoleArn: aws.String(role),
				EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("td"), LaunchType: "LAMBDA"}},
				"1 validation error detected: Value 'LAMBDA' at 'targets.1.member.ecsParameters.launchType' failed to satisfy constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL]"},
			{"a run command target with no instances", types.Target{Arn: aws.String("arn:aws:ssm:" + awsRegion + "::document/AWS-RunShellScript"), RoleArn: aws.String(role),
				RunCommandParameters: &types.RunCommandParameters{RunCommandTargets: []types.RunCommandTarget{}}},
				"1 validation error detected: Value '[]' at 'targets.1.member.runCommandParameters.runCommandTargets' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		} {
			c.target.Id = aws.String("t")
			_, err := e.eb.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("kinds-validation"), Targets: []types.Target{c.target}})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != c.want {
				t.Errorf("%s: %v, want ValidationException %q", c.name, err, c.want)
			}
		}
	})

	t.Run("ECS", func(t *testing.T) {
		cx := ctx(t)
		ec := ecs.NewFromConfig(e.cfg)
		cl, err := ec.CreateCluster(cx, &ecs.CreateClusterInput{ClusterName: aws.String("kinds")})
		if err != nil {
			t.Fatal(err)
		}
		td, err := ec.RegisterTaskDefinition(cx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("kinds-worker"), NetworkMode: ecstypes.NetworkModeBridge,
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Cpu: 128, Memory: aws.Int32(128)}}})
		if err != nil {
			t.Fatal(err)
		}
		target := types.Target{Arn: cl.Cluster.ClusterArn, RoleArn: aws.String(role),
			EcsParameters: &types.EcsParameters{TaskDefinitionArn: td.TaskDefinition.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, TaskCount: aws.Int32(1)},
			// The input is the task's overrides.
			InputTransformer: &types.InputTransformer{InputPathsMap: map[string]string{"job": "$.detail.job"},
				InputTemplate: aws.String(`{"containerOverrides":[{"name":"app","command":["run",<job>]}]}`)}}
		e.route(t, "test.ecs", target, `{"job":"nightly"}`)
		eventually(t, "a task started by events-rule/test.ecs", func() bool {
			out, err := ec.ListTasks(cx, &ecs.ListTasksInput{Cluster: aws.String("kinds"), StartedBy: aws.String("events-rule/test.ecs")})
			if err != nil {
				t.Fatal(err)
			}
			return len(out.TaskArns) == 1
		})
		var run *motoRequest
		for _, r := range motoRequests(t) {
			if strings.HasSuffix(header(r.Headers, "X-Amz-Target"), ".RunTask") && strings.Contains(r.body(), "kinds-worker") {
				r := r
				run = &r
			}
		}
		if run == nil || !strings.Contains(run.body(), `"command":["run","nightly"]`) || header(run.Headers, "X-Amz-Security-Token") == "" {
			t.Errorf("RunTask %+v: want the overrides of the input, signed as the role", run)
		}
		// The parameters round-trip.
		lt, err := e.eb.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("test.ecs")})
		if err != nil || len(lt.Targets) != 1 || lt.Targets[0].EcsParameters == nil || lt.Targets[0].EcsParameters.LaunchType != types.LaunchTypeFargate ||
			aws.ToInt32(lt.Targets[0].EcsParameters.TaskCount) != 1 {
			t.Errorf("ListTargetsByRule: %v %+v", err, lt)
		}
	})

	t.Run("ECSMissingClusterNotRetried", func(t *testing.T) {
		cluster := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/kinds-gone", awsRegion, motoAccount)
		e.route(t, "test.ecsgone", types.Target{Arn: aws.String(cluster), RoleArn: aws.String(role),
			EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("kinds-worker")}}, `{}`)
		count := func() int {
			n := 0
			for _, r := range motoRequests(t) {
				if strings.HasSuffix(header(r.Headers, "X-Amz-Target"), ".RunTask") && strings.Contains(r.body(), "kinds-gone") {
					n++
				}
			}
			return n
		}
		eventually(t, "the RunTask call", func() bool { return count() > 0 })
		time.Sleep(1500 * time.Millisecond) // a retry would come after about a second
		if n := count(); n != 1 {
			t.Errorf("moto saw %d RunTask calls for the missing cluster, want 1 (ClusterNotFoundException is not retried)", n)
		}
	})

	t.Run("SageMakerPipeline", func(t *testing.T) {
		cx := ctx(t)
		sm := sagemaker.NewFromConfig(e.cfg)
		p, err := sm.CreatePipeline(cx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("kinds-train"), RoleArn: aws.String(role),
			ClientRequestToken: aws.String("kinds-train-pipeline-create-token-0000"),
			PipelineDefinition: aws.String(`{"Version":"2020-12-01","Parameters":[{"Name":"Bucket","Type":"String"}],"Steps":[]}`)})
		if err != nil {
			t.Fatal(err)
		}
		e.route(t, "test.sagemaker", types.Target{Arn: p.PipelineArn, RoleArn: aws.String(role),
			SageMakerPipelineParameters: &types.SageMakerPipelineParameters{PipelineParameterList: []types.SageMakerPipelineParameter{
				{Name: aws.String("Bucket"), Value: aws.String("$.detail.bucket")}}}}, `{"bucket":"raw-data"}`)
		var arn *string
		eventually(t, "a pipeline execution", func() bool {
			out, err := sm.ListPipelineExecutions(cx, &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String("kinds-train")})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.PipelineExecutionSummaries) > 0 {
				arn = out.PipelineExecutionSummaries[0].PipelineExecutionArn
			}
			return arn != nil
		})
		params, err := sm.ListPipelineParametersForExecution(cx, &sagemaker.ListPipelineParametersForExecutionInput{PipelineExecutionArn: arn})
		if err != nil || len(params.PipelineParameters) != 1 || aws.ToString(params.PipelineParameters[0].Value) != "raw-data" {
			t.Errorf("pipeline parameters: %v %+v, want Bucket=raw-data from the event", err, params)
		}
	})

	t.Run("EC2StopInstance", func(t *testing.T) {
		cx := ctx(t)
		ec := ec2.NewFromConfig(e.cfg)
		imgs, err := ec.DescribeImages(cx, &ec2.DescribeImagesInput{})
		if err != nil || len(imgs.Images) == 0 {
			t.Fatalf("DescribeImages: %v", err)
		}
		run, err := ec.RunInstances(cx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(run.Instances[0].InstanceId)
		// The built-in target's input is the instance id as a JSON string.
		e.route(t, "test.stop", types.Target{Arn: aws.String(fmt.Sprintf("arn:aws:events:%s:%s:target/stop-instance", awsRegion, motoAccount)),
			RoleArn: aws.String(role), InputPath: aws.String("$.detail.instance")}, fmt.Sprintf(`{"instance":%q}`, id))
		eventually(t, "the instance stopping", func() bool {
			out, err := ec.DescribeInstances(cx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			if err != nil {
				t.Fatal(err)
			}
			s := out.Reservations[0].Instances[0].State.Name
			return s == ec2types.InstanceStateNameStopping || s == ec2types.InstanceStateNameStopped
		})
	})
}
