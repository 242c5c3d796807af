// Package control is Switchyard's control plane: event buses, rules, their
// targets and tags, per account and region. The source of truth is the
// JetStream key-value bucket; every process keeps a View of it fed by a KV
// watch, which the data path reads (which rules does this bus have, which
// of them match this event) without a round trip to storage.
//
// Writes go to the bucket with optimistic concurrency and return only once
// this process's View has applied them, so a client that puts a rule and
// then an event through the same process sees its rule applied; events carry
// the View revision they were accepted at so matching on another process can
// wait for the same state.
package control

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Scope is the account and region a request acts in. Every resource belongs
// to exactly one scope and scopes share nothing.
type Scope struct {
	Account string
	Region  string
}

// validRegion is the shape of every AWS region name (us-east-1,
// us-gov-west-1, ap-southeast-5, eu-isoe-west-1, ...).
var validRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// ValidRegion reports whether region is shaped like an AWS region name and
// at most 32 bytes long. A scope's region becomes a token of NATS subjects
// and control-bucket keys and a part of every ARN, so anything else — above
// all a long value: a subject over NATS's 4 KiB control line makes the
// server close the process's connection — must be refused where a request
// enters.
func ValidRegion(region string) bool {
	return len(region) <= 32 && validRegion.MatchString(region)
}

// Partition is the ARN partition of the scope's region.
func (s Scope) Partition() string {
	switch {
	case strings.HasPrefix(s.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(s.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// DefaultBus is the name of the bus every scope has.
const DefaultBus = "default"

// Tag is a resource tag.
type Tag struct {
	Key   string `v:"req,len=1:128"`
	Value string `v:"req,len=0:256"`
}

// DeadLetterConfig names an SQS queue for undeliverable events.
type DeadLetterConfig struct {
	Arn *string `json:",omitempty" v:"len=1:1600"`
}

// LogConfig is a bus's logging configuration.
type LogConfig struct {
	IncludeDetail *string `json:",omitempty" v:"enum=NONE|FULL"`
	Level         *string `json:",omitempty" v:"enum=OFF|ERROR|INFO|TRACE"`
}

// Bus is an event bus.
type Bus struct {
	Scope
	Name             string
	Description      string            `json:",omitempty"`
	KmsKeyIdentifier string            `json:",omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:",omitempty"`
	LogConfig        *LogConfig        `json:",omitempty"`
	Policy           string            `json:",omitempty"`
	Tags             []Tag             `json:",omitempty"`
	CreationTime     time.Time
	LastModifiedTime time.Time
}

// ARN is the bus's Amazon Resource Name.
func (b *Bus) ARN() string { return BusARN(b.Scope, b.Name) }

// BusARN is the ARN of the named bus in scope s.
func BusARN(s Scope, name string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", s.Partition(), s.Region, s.Account, name)
}

// Rule states.
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
	// StateEnabledAllCloudTrail behaves as ENABLED: Switchyard receives no
	// CloudTrail management events.
	StateEnabledAllCloudTrail = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// Rule is a rule on a bus with its targets.
type Rule struct {
	Scope
	Bus                string
	Name               string
	EventPattern       string   `json:",omitempty"`
	ScheduleExpression string   `json:",omitempty"`
	State              string   `json:",omitempty"`
	Description        string   `json:",omitempty"`
	RoleArn            string   `json:",omitempty"`
	ManagedBy          string   `json:",omitempty"`
	Tags               []Tag    `json:",omitempty"`
	Targets            []Target `json:",omitempty"`
	CreationTime       time.Time
	// CreatedBy is the account that created the rule when it is not the
	// rule's own: a rule another account put on this bus by its ARN.
	CreatedBy string `json:",omitempty"`
}

// ARN is the rule's ARN: rule/<name> on the default bus, rule/<bus>/<name>
// on any other, as AWS forms it.
func (r *Rule) ARN() string { return RuleARN(r.Scope, r.Bus, r.Name) }

// RuleARN is the ARN of rule name on bus in scope s.
func RuleARN(s Scope, bus, name string) string {
	if bus == DefaultBus {
		return fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", s.Partition(), s.Region, s.Account, name)
	}
	return fmt.Sprintf("arn:%s:events:%s:%s:rule/%s/%s", s.Partition(), s.Region, s.Account, bus, name)
}

// Creator is the account that created the rule (DescribeRule's CreatedBy,
// the events:creatorAccount condition key).
func (r *Rule) Creator() string {
	if r.CreatedBy != "" {
		return r.CreatedBy
	}
	return r.Account
}

// Enabled reports whether the rule routes events.
func (r *Rule) Enabled() bool { return r.State != StateDisabled }

// Target is a rule target, as PutTargets takes it and ListTargetsByRule
// returns it. The parameters of target kinds Switchyard does not interpret
// yet are kept verbatim so that they round-trip.
type Target struct {
	Id                          string                       `v:"req,len=1:64,re=targetId"`
	Arn                         string                       `v:"req,len=1:1600"`
	RoleArn                     *string                      `json:",omitempty" v:"len=1:1600"`
	Input                       *string                      `json:",omitempty" v:"len=:8192"`
	InputPath                   *string                      `json:",omitempty" v:"len=:256"`
	InputTransformer            *InputTransformer            `json:",omitempty"`
	KinesisParameters           *KinesisParameters           `json:",omitempty"`
	SqsParameters               *SqsParameters               `json:",omitempty"`
	HttpParameters              *HttpParameters              `json:",omitempty"`
	DeadLetterConfig            *DeadLetterConfig            `json:",omitempty"`
	RetryPolicy                 *RetryPolicy                 `json:",omitempty"`
	RunCommandParameters        *RunCommandParameters        `json:",omitempty"`
	EcsParameters               *EcsParameters               `json:",omitempty"`
	BatchParameters             *BatchParameters             `json:",omitempty"`
	RedshiftDataParameters      *RedshiftDataParameters      `json:",omitempty"`
	SageMakerPipelineParameters *SageMakerPipelineParameters `json:",omitempty"`
	AppSyncParameters           *AppSyncParameters           `json:",omitempty"`
}

// The target kinds' parameter shapes below are the EventBridge API model's
// (events 2015-10-07: EcsParameters, BatchParameters, RunCommandParameters,
// RedshiftDataParameters, SageMakerPipelineParameters, AppSyncParameters),
// with its constraints as validation tags and its member names, some of
// which are lowerCamelCase on the wire (awsvpcConfiguration, type, ...).
// Stored rules written while these were kept verbatim decode into them
// unchanged: the JSON is the same.

// EcsParameters says which task an ECS target runs, and how (RunTask).
type EcsParameters struct {
	TaskDefinitionArn        *string                        `v:"req,len=1:1600"`
	TaskCount                *int32                         `json:",omitempty" v:"range=1:"`
	LaunchType               *string                        `json:",omitempty" v:"enum=EC2|FARGATE|EXTERNAL"`
	NetworkConfiguration     *NetworkConfiguration          `json:",omitempty"`
	PlatformVersion          *string                        `json:",omitempty"`
	Group                    *string                        `json:",omitempty"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:",omitempty" v:"len=:6"`
	EnableECSManagedTags     *bool                          `json:",omitempty"`
	EnableExecuteCommand     *bool                          `json:",omitempty"`
	PlacementConstraints     []PlacementConstraint          `json:",omitempty" v:"len=:10"`
	PlacementStrategy        []PlacementStrategy            `json:",omitempty" v:"len=:5"`
	PropagateTags            *string                        `json:",omitempty" v:"enum=TASK_DEFINITION"`
	ReferenceId              *string                        `json:",omitempty" v:"len=:1024"`
	Tags                     []Tag                          `json:",omitempty"`
}

// NetworkConfiguration is an ECS task's awsvpc network.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// AwsVpcConfiguration places an ECS task's network interface.
type AwsVpcConfiguration struct {
	Subnets        []string `v:"req"`
	SecurityGroups []string `json:",omitempty"`
	AssignPublicIp *string  `json:",omitempty" v:"enum=ENABLED|DISABLED"`
}

// CapacityProviderStrategyItem is one capacity provider of an ECS task.
type CapacityProviderStrategyItem struct {
	CapacityProvider *string `json:"capacityProvider" v:"req,len=1:255"`
	Weight           *int32  `json:"weight,omitempty" v:"range=0:1000"`
	Base             *int32  `json:"base,omitempty" v:"range=0:100000"`
}

// PlacementConstraint constrains where an ECS task runs.
type PlacementConstraint struct {
	Type       *string `json:"type,omitempty" v:"enum=distinctInstance|memberOf"`
	Expression *string `json:"expression,omitempty" v:"len=:2000"`
}

// PlacementStrategy orders where ECS tasks run.
type PlacementStrategy struct {
	Type  *string `json:"type,omitempty" v:"enum=random|spread|binpack"`
	Field *string `json:"field,omitempty" v:"len=:255"`
}

// BatchParameters says which job a Batch job queue target submits.
type BatchParameters struct {
	JobDefinition   *string               `v:"req"`
	JobName         *string               `v:"req"`
	ArrayProperties *BatchArrayProperties `json:",omitempty"`
	RetryStrategy   *BatchRetryStrategy   `json:",omitempty"`
}

// BatchArrayProperties makes the submitted job an array job.
type BatchArrayProperties struct {
	Size *int32 `json:",omitempty"`
}

// BatchRetryStrategy overrides the job definition's retries.
type BatchRetryStrategy struct {
	Attempts *int32 `json:",omitempty"`
}

// RunCommandParameters picks the instances an SSM Run Command target runs
// its document on.
type RunCommandParameters struct {
	RunCommandTargets []RunCommandTarget `v:"req,len=1:5"`
}

// RunCommandTarget selects instances: by "InstanceIds" or "tag:<key>".
type RunCommandTarget struct {
	Key    *string  `v:"req,len=1:128,re=runCommandTargetKey"`
	Values []string `v:"req,len=1:50,elem.len=1:256"`
}

// RedshiftDataParameters is the statement a Redshift target runs through
// the Redshift Data API.
type RedshiftDataParameters struct {
	SecretManagerArn *string  `json:",omitempty" v:"len=1:1600,re=redshiftSecretManagerArn"`
	Database         *string  `v:"req,len=1:64"`
	DbUser           *string  `json:",omitempty" v:"len=1:128"`
	Sql              *string  `json:",omitempty" v:"len=1:100000,sensitive"`
	StatementName    *string  `json:",omitempty" v:"len=1:500"`
	WithEvent        *bool    `json:",omitempty"`
	Sqls             []string `json:",omitempty" v:"len=0:40,elem.len=1:100000,sensitive"`
}

// SageMakerPipelineParameters are the parameters of the pipeline
// execution a SageMaker pipeline target starts.
type SageMakerPipelineParameters struct {
	PipelineParameterList []SageMakerPipelineParameter `json:",omitempty" v:"len=0:200"`
}

// SageMakerPipelineParameter is one pipeline parameter.
type SageMakerPipelineParameter struct {
	Name  *string `v:"req,len=1:256,re=sageMakerPipelineParameterName"`
	Value *string `v:"req,len=:1024"`
}

// AppSyncParameters is the GraphQL operation an AppSync target runs.
type AppSyncParameters struct {
	GraphQLOperation *string `json:",omitempty" v:"len=1:1048576,sensitive"`
}

// InputTransformer shapes the event into the target's input.
type InputTransformer struct {
	InputPathsMap map[string]string `json:",omitempty" v:"len=:100"`
	InputTemplate *string           `v:"req,len=1:8192"`
}

// KinesisParameters chooses the partition key.
type KinesisParameters struct {
	PartitionKeyPath *string `v:"req,len=:256"`
}

// SqsParameters carries the FIFO message group.
type SqsParameters struct {
	MessageGroupId *string `json:",omitempty" v:"len=:100"`
}

// HttpParameters adds path parameters, headers and query strings to HTTP
// targets.
type HttpParameters struct {
	PathParameterValues   []string          `json:",omitempty" v:"elem.re=pathParameter"`
	HeaderParameters      map[string]string `json:",omitempty" v:"key.len=:512,key.re=headerKey,val.len=:512,val.re=headerValue"`
	QueryStringParameters map[string]string `json:",omitempty" v:"key.len=:512,key.re=queryKey,val.len=:512,val.re=queryValue"`
}

// RetryPolicy bounds redelivery of a failing target.
type RetryPolicy struct {
	MaximumRetryAttempts     *int32 `json:",omitempty" v:"range=0:185"`
	MaximumEventAgeInSeconds *int32 `json:",omitempty" v:"range=60:86400"`
}
