package control

import (
	"testing"

	"github.com/switchyard/switchyard/internal/awserr"
)

func TestNATSSubject(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:events:us-east-1:123456789012:nats-subject/orders.created": "orders.created",
		"arn:aws:events:::nats-subject/a":                                   "a",
	} {
		if got, ok := NATSSubject(arn); !ok || got != want {
			t.Errorf("NATSSubject(%s) = %q %v, want %q", arn, got, ok, want)
		}
	}
	for _, arn := range []string{"arn:aws:events:us-east-1:1:event-bus/x", "arn:aws:sqs:us-east-1:1:nats-subject/x", "http://x"} {
		if _, ok := NATSSubject(arn); ok {
			t.Errorf("NATSSubject(%s): want not a NATS ARN", arn)
		}
	}
	for subj, want := range map[string]bool{
		"orders": true, "orders.created": true, "a-b_c.D9": true, "syslog.x": true,
		"": false, "a..b": false, ".a": false, "a.": false, "a.*": false, "a.>": false, "a b": false,
		"sy.events.1.us-east-1.default": false, "sy": false, "$JS.API.STREAM.DELETE.X": false, "$KV.x.y": false,
		"_INBOX.abc": false,
	} {
		if got := ValidNATSSubject(subj); got != want {
			t.Errorf("ValidNATSSubject(%q) = %v, want %v", subj, got, want)
		}
	}
}

func TestCheckTargetKind(t *testing.T) {
	role := "arn:aws:iam::123456789012:role/r"
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		name   string
		target Target
		want   string // the ValidationException's message, "" for none
	}{
		{"ecs without parameters", Target{Id: "t1", Arn: "arn:aws:ecs:us-east-1:123456789012:cluster/c", RoleArn: &role},
			"Parameter(s) EcsParameters must be specified for target: t1."},
		{"ecs without role", Target{Id: "t1", Arn: "arn:aws:ecs:us-east-1:123456789012:cluster/c",
			EcsParameters: &EcsParameters{TaskDefinitionArn: s("td")}},
			"RoleArn is required for target arn:aws:ecs:us-east-1:123456789012:cluster/c."},
		{"ecs", Target{Id: "t1", Arn: "arn:aws:ecs:us-east-1:123456789012:cluster/c", RoleArn: &role,
			EcsParameters: &EcsParameters{TaskDefinitionArn: s("td")}}, ""},
		{"batch without parameters", Target{Id: "Target0", Arn: "arn:aws:batch:us-east-1:123456789012:job-queue/q", RoleArn: &role},
			"Parameter(s) BatchParameters must be specified for target: Target0."},
		{"run command without parameters", Target{Id: "t", Arn: "arn:aws:ssm:us-east-1:123456789012:document/AWS-RunShellScript", RoleArn: &role},
			"Parameter(s) RunCommandParameters must be specified for target: t."},
		{"automation without role", Target{Id: "t", Arn: "arn:aws:ssm:us-east-1:123456789012:automation-definition/Doc:$DEFAULT"},
			"RoleArn is required for target arn:aws:ssm:us-east-1:123456789012:automation-definition/Doc:$DEFAULT."},
		{"redshift without statement", Target{Id: "t", Arn: "arn:aws:redshift:us-east-1:123456789012:cluster:c", RoleArn: &role,
			RedshiftDataParameters: &RedshiftDataParameters{Database: s("dev")}},
			"Parameter(s) Sql or Sqls must be specified for target: t."},
		{"redshift serverless", Target{Id: "t", Arn: "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/w", RoleArn: &role,
			RedshiftDataParameters: &RedshiftDataParameters{Database: s("dev"), Sqls: []string{"select 1"}}}, ""},
		{"codepipeline without role", Target{Id: "1", Arn: "arn:aws:codepipeline:ap-northeast-1:111111111111:MyPipeline"},
			"RoleArn is required for target arn:aws:codepipeline:ap-northeast-1:111111111111:MyPipeline."},
		{"codebuild without role", Target{Id: "1", Arn: "arn:aws:codebuild:af-south-1:00000000:project/codebuild-project-1"},
			"RoleArn is required for target arn:aws:codebuild:af-south-1:00000000:project/codebuild-project-1."},
		{"appsync without operation", Target{Id: "t", Arn: "arn:aws:appsync:us-east-1:123456789012:endpoints/graphql-api/abc", RoleArn: &role,
			AppSyncParameters: &AppSyncParameters{}},
			"Parameter(s) AppSyncParameters.GraphQLOperation must be specified for target: t."},
		{"stop-instance without role", Target{Id: "t", Arn: "arn:aws:events:us-east-1:123456789012:target/stop-instance"},
			"RoleArn is required for target arn:aws:events:us-east-1:123456789012:target/stop-instance."},
		{"kinesis without role", Target{Id: "t", Arn: "arn:aws:kinesis:us-east-1:123456789012:stream/orders"},
			"RoleArn is required for target arn:aws:kinesis:us-east-1:123456789012:stream/orders."},
		{"kinesis", Target{Id: "t", Arn: "arn:aws:kinesis:us-east-1:123456789012:stream/orders", RoleArn: &role}, ""},
		{"step functions without role", Target{Id: "t", Arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:Workflow"},
			"RoleArn is required for target arn:aws:states:eu-west-1:123456789012:stateMachine:Workflow."},
		{"step functions", Target{Id: "t", Arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:Workflow", RoleArn: &role}, ""},
		{"api gateway without role", Target{Id: "t", Arn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/POST/x"}, ""},
		{"sqs", Target{Id: "t", Arn: "arn:aws:sqs:us-east-1:123456789012:q"}, ""},
		{"an unknown events resource", Target{Id: "t", Arn: "arn:aws:events:us-east-1:123456789012:target/other"}, ""},
	} {
		err := checkTargetKind(&c.target)
		got := ""
		if err != nil {
			got = err.(*awserr.Error).Message
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
