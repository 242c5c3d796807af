package control

import (
	"strings"

	"github.com/switchyard/switchyard/internal/awserr"
)

// natsSubjectResource starts the resource of Switchyard's NATS subject
// targets: arn:<partition>:events:<region>:<account>:nats-subject/<subject>.
// The events namespace says it is a Switchyard (EventBridge) resource, and
// AWS has no resource type of that name to collide with.
const natsSubjectResource = "nats-subject/"

// NATSSubject returns the subject of a NATS subject target's ARN; ok is
// false for any other ARN.
func NATSSubject(arn string) (subject string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "events" {
		return "", false
	}
	return strings.CutPrefix(parts[5], natsSubjectResource)
}

// ValidNATSSubject reports whether a target may publish on subj: a subject
// of non-empty tokens without wildcards or whitespace, outside the
// namespaces that would let a target reach into Switchyard's own streams
// (sy.), the server's APIs ($JS, $KV, $SYS, ...) or others' replies
// (_INBOX.).
func ValidNATSSubject(subj string) bool {
	if subj == "" || len(subj) > 1024 || strings.ContainsAny(subj, " \t\r\n*>") {
		return false
	}
	if strings.HasPrefix(subj, "sy.") || subj == "sy" || strings.HasPrefix(subj, "$") || strings.HasPrefix(subj, "_INBOX.") {
		return false
	}
	for _, tok := range strings.Split(subj, ".") {
		if tok == "" {
			return false
		}
	}
	return true
}

// needsSqsParameters reports a FIFO queue target without SqsParameters,
// which AWS refuses: a FIFO queue takes no message without a group.
func needsSqsParameters(t *Target) bool {
	parts := strings.SplitN(t.Arn, ":", 6)
	return len(parts) == 6 && parts[2] == "sqs" && strings.HasSuffix(parts[5], ".fifo") && t.SqsParameters == nil
}

// checkTargetKind refuses a target that its kind cannot be invoked
// without, as AWS refuses it at PutTargets:
//
//   - a kind that EventBridge calls as the target's role (it needs one to
//     make the API call on the user's behalf) without a RoleArn: "RoleArn
//     is required for target <ARN>." (AWS's answer for CodePipeline,
//     CodeBuild, Batch and Step Functions targets, quoted in
//     awsdocs/aws-codepipeline-user-guide#18,
//     awsdocs/aws-cloudformation-user-guide#1178,
//     hashicorp/terraform-provider-aws#27215 and #19913);
//   - a kind whose call is made from its parameters without them:
//     "Parameter(s) BatchParameters must be specified for target: <Id>."
//     (AWS's answer for a Batch job queue, aws/aws-cdk#7137; the same
//     wording as for a FIFO queue's SqsParameters), and alike for the
//     other kinds' parameters.
//
// Kinesis data streams and Step Functions state machines are held to a
// role too: "For EC2 instances, Kinesis data streams, and Step Functions
// state machines, EventBridge uses IAM roles that you specify in the
// RoleARN parameter in PutTargets" ("Event bus targets", EventBridge User
// Guide), and AWS answers "RoleArn is required for target
// arn:aws:states:...:stateMachine:Workflow." without one
// (hashicorp/terraform-provider-aws#19913, localstack/localstack#8224).
func checkTargetKind(t *Target) error {
	if callsAsRole(t.Arn) && t.RoleArn == nil {
		return awserr.Validation("RoleArn is required for target %s.", t.Arn)
	}
	k := TargetKindOf(t.Arn)
	if k == "" {
		return nil
	}
	if p := kindParameters[k]; p != "" && !hasParameters(t, p) {
		return awserr.Validation("Parameter(s) %s must be specified for target: %s.", p, t.Id)
	}
	if roleRequired[k] && t.RoleArn == nil {
		return awserr.Validation("RoleArn is required for target %s.", t.Arn)
	}
	if k == KindRedshift && t.RedshiftDataParameters.Sql == nil && len(t.RedshiftDataParameters.Sqls) == 0 {
		// ExecuteStatement needs a statement, BatchExecuteStatement
		// at least one: a target without either could never run.
		return awserr.Validation("Parameter(s) Sql or Sqls must be specified for target: %s.", t.Id)
	}
	if k == KindAppSync && t.AppSyncParameters.GraphQLOperation == nil {
		return awserr.Validation("Parameter(s) AppSyncParameters.GraphQLOperation must be specified for target: %s.", t.Id)
	}
	return nil
}

// callsAsRole reports a Kinesis data stream
// (arn:aws:kinesis:<region>:<account>:stream/<name>) or a Step Functions
// state machine (arn:aws:states:<region>:<account>:stateMachine:<name>):
// the stream and state-machine targets EventBridge can only call as the
// target's role, having no resource policy to let it in.
func callsAsRole(arn string) bool {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return false
	}
	switch p[2] {
	case "kinesis":
		return strings.HasPrefix(p[5], "stream/")
	case "states":
		return strings.HasPrefix(p[5], "stateMachine:")
	}
	return false
}

// The target kinds whose ARNs TargetKindOf tells apart: the AWS services
// EventBridge invokes through their APIs beyond the message and stream
// services, and EventBridge's EC2 built-in targets.
const (
	KindECS          = "ecs"            // arn:aws:ecs:<region>:<account>:cluster/<name>
	KindBatch        = "batch"          // arn:aws:batch:<region>:<account>:job-queue/<name>
	KindRunCommand   = "ssm-document"   // arn:aws:ssm:<region>:<account>:document/<name>
	KindAutomation   = "ssm-automation" // arn:aws:ssm:<region>:<account>:automation-definition/<name>[:<version>]
	KindRedshift     = "redshift"       // arn:aws:redshift:...:cluster:<name>, arn:aws:redshift-serverless:...:workgroup/<id>
	KindSageMaker    = "sagemaker"      // arn:aws:sagemaker:<region>:<account>:pipeline/<name>
	KindAppSync      = "appsync"        // arn:aws:appsync:<region>:<account>:endpoints/graphql-api/<id>
	KindAPIGateway   = "execute-api"    // arn:aws:execute-api:<region>:<account>:<api>/<stage>/<method>/<path>
	KindCodeBuild    = "codebuild"      // arn:aws:codebuild:<region>:<account>:project/<name>
	KindCodePipeline = "codepipeline"   // arn:aws:codepipeline:<region>:<account>:<name>
	KindInspector    = "inspector"      // arn:aws:inspector:<region>:<account>:target/<id>/template/<id>
	KindEC2BuiltIn   = "ec2-builtin"    // arn:aws:events:<region>:<account>:target/{create-snapshot,reboot-instance,stop-instance,terminate-instance}
)

// EC2BuiltIns are EventBridge's built-in targets, by their ARN's resource
// (target/<name>: "Actions, resources, and condition keys for Amazon
// EventBridge", Service Authorization Reference), and the EC2 API call
// each makes ("Event bus targets", EventBridge User Guide; PutTargets,
// EventBridge API Reference).
var EC2BuiltIns = map[string]string{
	"target/create-snapshot":    "CreateSnapshot",
	"target/reboot-instance":    "RebootInstances",
	"target/stop-instance":      "StopInstances",
	"target/terminate-instance": "TerminateInstances",
}

// TargetKindOf is the kind (Kind*) of a target ARN among those above, ""
// for any other.
func TargetKindOf(arn string) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return ""
	}
	res := p[5]
	switch p[2] {
	case "ecs":
		if strings.HasPrefix(res, "cluster/") {
			return KindECS
		}
	case "batch":
		if strings.HasPrefix(res, "job-queue/") {
			return KindBatch
		}
	case "ssm":
		switch {
		case strings.HasPrefix(res, "document/"):
			return KindRunCommand
		case strings.HasPrefix(res, "automation-definition/"):
			return KindAutomation
		}
	case "redshift":
		if strings.HasPrefix(res, "cluster:") {
			return KindRedshift
		}
	case "redshift-serverless":
		if strings.HasPrefix(res, "workgroup/") {
			return KindRedshift
		}
	case "sagemaker":
		if strings.HasPrefix(res, "pipeline/") {
			return KindSageMaker
		}
	case "appsync":
		if strings.HasPrefix(res, "endpoints/graphql-api/") {
			return KindAppSync
		}
	case "execute-api":
		return KindAPIGateway
	case "codebuild":
		if strings.HasPrefix(res, "project/") {
			return KindCodeBuild
		}
	case "codepipeline":
		return KindCodePipeline
	case "inspector":
		if strings.Contains(res, "/template/") {
			return KindInspector
		}
	case "events":
		if _, ok := EC2BuiltIns[res]; ok {
			return KindEC2BuiltIn
		}
	}
	return ""
}

// kindParameters names the parameters each kind's call is made from.
var kindParameters = map[string]string{
	KindECS:        "EcsParameters",
	KindBatch:      "BatchParameters",
	KindRunCommand: "RunCommandParameters",
	KindRedshift:   "RedshiftDataParameters",
	KindAppSync:    "AppSyncParameters",
}

func hasParameters(t *Target, name string) bool {
	switch name {
	case "EcsParameters":
		return t.EcsParameters != nil
	case "BatchParameters":
		return t.BatchParameters != nil
	case "RunCommandParameters":
		return t.RunCommandParameters != nil
	case "RedshiftDataParameters":
		return t.RedshiftDataParameters != nil
	case "AppSyncParameters":
		return t.AppSyncParameters != nil
	}
	return true
}

// roleRequired are the kinds EventBridge can only call as the target's
// role: the API call acts on the user's resources, and no resource policy
// lets EventBridge in ("Permissions", in "Event bus targets", EventBridge
// User Guide: "For EC2 instances, Kinesis data streams, and Step Functions
// state machines, EventBridge uses IAM roles that you specify in the
// RoleARN parameter"). An AppSync target calls GraphQL with AWS_IAM
// authorization only ("AWS AppSync targets", EventBridge User Guide), as
// the role. API Gateway takes one only for an API with IAM authorization
// ("Permissions", ibid.), and Inspector is not held to one.
var roleRequired = map[string]bool{
	KindECS: true, KindBatch: true, KindRunCommand: true, KindAutomation: true, KindRedshift: true,
	KindSageMaker: true, KindAppSync: true, KindCodeBuild: true, KindCodePipeline: true, KindEC2BuiltIn: true,
}
