// Package buslog writes event bus logs: the records EventBridge emits, per
// processing step of an event, for a bus whose LogConfig asks for them
// ("Configuring logs for Amazon EventBridge event buses" and "Amazon
// EventBridge event bus log schema", EventBridge User Guide).
//
// The data path (ingest, the router, the deliverer) asks a Bus handle
// whether a step is on and, if it is, hands over a Record; the Logger
// queues it in a bounded in-memory queue and a single writer goroutine
// writes batches to the operator's destination (stdout, a file, or a
// CloudWatch Logs log group). A full queue drops the record and counts it
// (switchyard_bus_log_dropped_total): logging never holds up an event. A
// bus with Level OFF, or no LogConfig, costs one map lookup per step
// site and allocates nothing.
package buslog

import (
	"github.com/switchyard/switchyard/internal/control"
)

// Level is a bus's log level. Its order is that of the documented levels:
// "ERROR: EventBridge sends any logs related to errors generated during
// event processing and target delivery", "INFO: ... errors, as well as
// major steps performed during event processing", "TRACE: ... all steps"
// (LogConfig Level, EventBridge API Reference and CDK aws_events.Level).
// OFF, the default, sends none.
type Level int8

// The levels, from none to all.
const (
	Off Level = iota
	Error
	Info
	Trace
)

func (l Level) String() string {
	switch l {
	case Error:
		return "ERROR"
	case Info:
		return "INFO"
	case Trace:
		return "TRACE"
	}
	return "OFF"
}

// ParseLevel reads a LogConfig Level; anything else (nil included) is Off.
func ParseLevel(s *string) Level {
	if s == nil {
		return Off
	}
	switch *s {
	case "ERROR":
		return Error
	case "INFO":
		return Info
	case "TRACE":
		return Trace
	}
	return Off
}

// MessageType is the processing step a record is about: the valid values
// of message_type in "Amazon EventBridge event bus log schema".
type MessageType string

// The steps.
const (
	EventIngestFailure                MessageType = "EVENT_INGEST_FAILURE"
	EventIngestSuccess                MessageType = "EVENT_INGEST_SUCCESS"
	EventReceipt                      MessageType = "EVENT_RECEIPT"
	InvocationAttemptPermanentFailure MessageType = "INVOCATION_ATTEMPT_PERMANENT_FAILURE"
	InvocationAttemptRetryableFailure MessageType = "INVOCATION_ATTEMPT_RETRYABLE_FAILURE"
	InvocationAttemptStart            MessageType = "INVOCATION_ATTEMPT_START"
	InvocationAttemptSuccess          MessageType = "INVOCATION_ATTEMPT_SUCCESS"
	InvocationAttemptThrottle         MessageType = "INVOCATION_ATTEMPT_THROTTLE"
	InvocationDLQ                     MessageType = "INVOCATION_DLQ"
	InvocationFailure                 MessageType = "INVOCATION_FAILURE"
	InvocationStart                   MessageType = "INVOCATION_START"
	InvocationSuccess                 MessageType = "INVOCATION_SUCCESS"
	InvocationThrottleStart           MessageType = "INVOCATION_THROTTLE_START"
	NoStandardRulesMatched            MessageType = "NO_STANDARD_RULES_MATCHED"
	RuleMatch                         MessageType = "RULE_MATCH"
	RuleMatchStart                    MessageType = "RULE_MATCH_START"
)

// stepLevel is the least bus level at which a step is logged. The user
// guide's table of steps per level ("Specifying event bus log level") was
// not available to us; this follows the levels' documented meanings:
// failures are ERROR, the major steps of an event's way (its receipt, the
// rules it matched or that none did, a target's final success) are INFO,
// and the starts and the individual successful attempts are TRACE.
var stepLevel = map[MessageType]Level{
	EventIngestFailure:                Error,
	InvocationAttemptPermanentFailure: Error,
	InvocationAttemptRetryableFailure: Error,
	InvocationAttemptThrottle:         Error,
	InvocationDLQ:                     Error,
	InvocationFailure:                 Error,
	EventReceipt:                      Info,
	NoStandardRulesMatched:            Info,
	RuleMatch:                         Info,
	InvocationSuccess:                 Info,
	EventIngestSuccess:                Trace,
	InvocationAttemptStart:            Trace,
	InvocationAttemptSuccess:          Trace,
	InvocationStart:                   Trace,
	InvocationThrottleStart:           Trace,
	RuleMatchStart:                    Trace,
}

// LevelOf is the least bus level at which step t is logged.
func LevelOf(t MessageType) Level { return stepLevel[t] }

// Record is one log record, with the fields of "Amazon EventBridge event
// bus log schema". Details holds one of the *Details types below, by
// message type, as the schema lists them.
type Record struct {
	ResourceArn  string `json:"resource_arn"`
	RequestID    string `json:"request_id,omitempty"`
	EventID      string `json:"event_id,omitempty"`
	InvocationID string `json:"invocation_id,omitempty"`
	// MessageTimestampMs is when the record was emitted, in Unix
	// milliseconds ("Unit: millisecond").
	MessageTimestampMs int64       `json:"message_timestamp_ms"`
	MessageType        MessageType `json:"message_type"`
	// LogLevel is "the level of detail specified for the event bus log":
	// the bus's level, not the step's.
	LogLevel string       `json:"log_level"`
	Details  any          `json:"details,omitempty"`
	Error    *RecordError `json:"error,omitempty"`

	// Where the record goes (a CloudWatch Logs stream per bus).
	scope control.Scope
	bus   string
}

// RecordError is a step's error. error_message and aws_service are always
// there; request_id and http_status_code when known (the schema's
// "error").
type RecordError struct {
	HTTPStatusCode int    `json:"http_status_code,omitempty"`
	ErrorMessage   string `json:"error_message"`
	AWSService     string `json:"aws_service"`
	RequestID      string `json:"request_id,omitempty"`
}

// EventDetails are the details of EVENT_INGEST_SUCCESS, EVENT_INGEST_FAILURE,
// EVENT_RECEIPT and RULE_MATCH_START. EventDetail, the event's detail, is
// there only with IncludeDetail FULL: "FULL: Include all details related to
// event itself and the request EventBridge sends to the target" (CDK
// aws_events.IncludeDetail).
type EventDetails struct {
	CallerAccountID string   `json:"caller_account_id"`
	SourceTimeMs    int64    `json:"source_time_ms"`
	Source          string   `json:"source"`
	DetailType      string   `json:"detail_type"`
	Resources       []string `json:"resources"`
	EventDetail     string   `json:"event_detail,omitempty"`
}

// RuleMatchDetails are the details of RULE_MATCH: the rule, its targets,
// and the ids of the invocations it starts (one per target).
type RuleMatchDetails struct {
	RuleArn       string   `json:"rule_arn"`
	TargetArns    []string `json:"target_arns"`
	InvocationIDs []string `json:"invocation_ids"`
}

// InvocationDetails are the details of INVOCATION_START,
// INVOCATION_ATTEMPT_START and INVOCATION_THROTTLE_START. TargetInput and
// TargetProperties only with FULL.
type InvocationDetails struct {
	RuleArn          string `json:"rule_arn"`
	RoleArn          string `json:"role_arn,omitempty"`
	TargetArn        string `json:"target_arn"`
	AttemptCount     int    `json:"attempt_count"`
	TargetInput      string `json:"target_input,omitempty"`
	TargetProperties string `json:"target_properties,omitempty"`
}

// OutcomeDetails are the details of INVOCATION_SUCCESS,
// INVOCATION_FAILURE and INVOCATION_DLQ. The schema includes
// ingestion_to_success_latency_ms "only for successful invocations".
type OutcomeDetails struct {
	RuleArn                      string `json:"rule_arn"`
	RoleArn                      string `json:"role_arn,omitempty"`
	TargetArn                    string `json:"target_arn"`
	TargetInput                  string `json:"target_input,omitempty"`
	TargetProperties             string `json:"target_properties,omitempty"`
	TotalAttempts                int    `json:"total_attempts"`
	FinalInvocationStatus        string `json:"final_invocation_status"`
	IngestionToStartLatencyMs    *int64 `json:"ingestion_to_start_latency_ms,omitempty"`
	IngestionToCompleteLatencyMs *int64 `json:"ingestion_to_complete_latency_ms,omitempty"`
	IngestionToSuccessLatencyMs  *int64 `json:"ingestion_to_success_latency_ms,omitempty"`
	TargetDurationMs             int64  `json:"target_duration_ms"`
	TargetResponseBody           string `json:"target_response_body,omitempty"`
}

// AttemptDetails are the details of INVOCATION_ATTEMPT_SUCCESS,
// INVOCATION_ATTEMPT_RETRYABLE_FAILURE, INVOCATION_ATTEMPT_PERMANENT_FAILURE
// and INVOCATION_ATTEMPT_THROTTLE. AttemptType is FIRST, THROTTLE or RETRY.
type AttemptDetails struct {
	RuleArn            string `json:"rule_arn"`
	RoleArn            string `json:"role_arn,omitempty"`
	TargetArn          string `json:"target_arn"`
	AttemptType        string `json:"attempt_type"`
	AttemptCount       int    `json:"attempt_count"`
	InvocationStatus   string `json:"invocation_status"`
	TargetDurationMs   int64  `json:"target_duration_ms"`
	TargetResponseBody string `json:"target_response_body,omitempty"`
}
