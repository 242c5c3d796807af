package pipes

import (
	"encoding/json"
	"time"

	"github.com/switchyard/switchyard/internal/control"
)

// Pipe states (the model's PipeState and RequestedPipeState).
const (
	StateRunning  = "RUNNING"
	StateStopped  = "STOPPED"
	StateCreating = "CREATING"
	StateUpdating = "UPDATING"
	StateDeleting = "DELETING"
	StateStarting = "STARTING"
	StateStopping = "STOPPING"

	StateCreateFailed = "CREATE_FAILED"
	StateStartFailed  = "START_FAILED"

	desiredDeleted = "DELETED" // DesiredState of a pipe being deleted
)

// Pipe is a pipe as stored in the pipes bucket. The parameter objects are
// kept as the request had them (validated against the model), so that
// DescribePipe gives back exactly what was set; the runtime reads them
// through sourceParams and targetParams.
type Pipe struct {
	Name                 string
	Arn                  string
	Description          string            `json:",omitempty"`
	DesiredState         string            // RUNNING, STOPPED, or DELETED while deleting
	CurrentState         string            // see the State constants
	StateReason          string            `json:",omitempty"`
	Source               string            //
	SourceParameters     json.RawMessage   `json:",omitempty"`
	Enrichment           string            `json:",omitempty"`
	EnrichmentParameters json.RawMessage   `json:",omitempty"`
	Target               string            //
	TargetParameters     json.RawMessage   `json:",omitempty"`
	RoleArn              string            //
	Tags                 map[string]string `json:",omitempty"`
	LogConfiguration     json.RawMessage   `json:",omitempty"`
	KmsKeyIdentifier     string            `json:",omitempty"`
	CreationTime         time.Time
	LastModifiedTime     time.Time
	// Generation identifies this pipe among pipes of the same name that
	// were deleted and created again: its source checkpoints are kept
	// under it, so a new pipe does not resume where an old one stopped.
	Generation string
	// Version counts the pipe's updates; a poller runs one version and is
	// restarted when the pipe changes.
	Version int

	Scope control.Scope `json:"-"`
	rev   uint64
}

// sourceParams are the parts of SourceParameters the pollers use.
type sourceParams struct {
	FilterCriteria *struct {
		Filters []struct {
			Pattern *string
		}
	}
	SqsQueueParameters *struct {
		BatchSize                      *int
		MaximumBatchingWindowInSeconds *int
	}
	KinesisStreamParameters    *streamParams
	DynamoDBStreamParameters   *streamParams
	SelfManagedKafkaParameters *kafkaParams
}

type streamParams struct {
	BatchSize                      *int
	MaximumBatchingWindowInSeconds *int
	MaximumRecordAgeInSeconds      *int
	MaximumRetryAttempts           *int
	ParallelizationFactor          *int
	StartingPosition               string
	StartingPositionTimestamp      *float64
	OnPartialBatchItemFailure      *string
	DeadLetterConfig               *struct{ Arn *string }
}

type kafkaParams struct {
	TopicName                      string
	ConsumerGroupID                *string
	StartingPosition               *string
	BatchSize                      *int
	MaximumBatchingWindowInSeconds *int
	AdditionalBootstrapServers     []string
}

// targetParams are the parts of TargetParameters (and
// EnrichmentParameters) the pipe's calls use.
type targetParams struct {
	InputTemplate  *string
	HttpParameters *struct {
		PathParameterValues   []string
		HeaderParameters      map[string]string
		QueryStringParameters map[string]string
	}
	SqsQueueParameters *struct {
		MessageGroupId         *string
		MessageDeduplicationId *string
	}
	KinesisStreamParameters *struct {
		PartitionKey string
	}
	EventBridgeEventBusParameters *struct {
		DetailType *string
		Source     *string
		Resources  []string
		Time       *string
	}
	LambdaFunctionParameters *struct {
		InvocationType *string
	}
	StepFunctionStateMachineParameters *struct {
		InvocationType *string
	}
}

func (p *Pipe) sourceParams() sourceParams {
	var sp sourceParams
	if len(p.SourceParameters) > 0 {
		_ = json.Unmarshal(p.SourceParameters, &sp)
	}
	return sp
}

func (p *Pipe) targetParams() targetParams {
	var tp targetParams
	if len(p.TargetParameters) > 0 {
		_ = json.Unmarshal(p.TargetParameters, &tp)
	}
	return tp
}

func (p *Pipe) enrichmentParams() targetParams {
	var tp targetParams
	if len(p.EnrichmentParameters) > 0 {
		_ = json.Unmarshal(p.EnrichmentParameters, &tp)
	}
	return tp
}

// epoch is a time as the REST-JSON protocol sends timestamps: seconds
// since the epoch, with fractions.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return json.Marshal(float64(t.UnixMilli()) / 1000)
}
