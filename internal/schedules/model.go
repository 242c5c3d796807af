// Package schedules serves Amazon EventBridge Scheduler (the "scheduler"
// service, API version 2021-06-30, REST-JSON) on Switchyard's listener:
// schedule groups and schedules with their tags, validated as AWS
// validates them, stored in JetStream, and fired exactly once per
// occurrence however many Switchyard processes share the NATS cluster.
//
// The parts:
//
//   - the API (api.go), on the shared REST-JSON front (package restapi);
//   - the store (store.go): one JetStream KV bucket holding the groups,
//     the schedules and, per schedule, the last occurrence fired (the
//     ledger that makes firing exactly-once);
//   - the engine (engine.go), which every process runs: it watches the
//     schedules, keeps the next occurrence of each in a heap, and fires
//     an occurrence by storing one delivery task on the delivery stream
//     (package deliver then calls the target, retries it within the
//     schedule's RetryPolicy and dead-letters what it gives up, as for
//     rules);
//   - the targets (task.go): a templated target becomes the control.Target
//     of that kind that package deliver's invokers already serve; a
//     universal target (arn:aws:scheduler:::aws-sdk:<service>:<action>) is
//     served by package awstarget's universal invoker.
//
// Expressions (at(), rate(), cron() in a time zone) are package
// schedule's.
package schedules

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Group is a schedule group as stored.
type Group struct {
	Name                 string
	State                string // ACTIVE or DELETING
	CreationDate         Time
	LastModificationDate Time
	Tags                 []Tag `json:",omitempty"`
	// ClientToken: as Schedule's.
	ClientToken *string `json:",omitempty"`
}

// Tag is a key and value of a schedule group's tags.
type Tag struct {
	Key   string
	Value string
}

// FlexibleTimeWindow says how much later than its time an occurrence may
// fire.
type FlexibleTimeWindow struct {
	Mode                   string
	MaximumWindowInMinutes *int `json:",omitempty"`
}

// Schedule is a schedule as stored and as GetSchedule answers it (with
// Arn).
type Schedule struct {
	Arn                        string `json:",omitempty"`
	Name                       string
	GroupName                  string
	Description                *string `json:",omitempty"`
	ScheduleExpression         string
	ScheduleExpressionTimezone *string `json:",omitempty"`
	StartDate                  *Time   `json:",omitempty"`
	EndDate                    *Time   `json:",omitempty"`
	State                      string
	FlexibleTimeWindow         FlexibleTimeWindow
	Target                     Target
	ActionAfterCompletion      *string `json:",omitempty"`
	KmsKeyArn                  *string `json:",omitempty"`
	CreationDate               Time
	LastModificationDate       Time
	// ClientToken is the idempotency token of the request that created
	// the schedule: the same CreateSchedule again (an SDK's retry) succeeds
	// rather than finding the schedule there. Not part of GetSchedule's
	// answer.
	ClientToken *string `json:",omitempty"`
}

// Target is a schedule's target. The parameter shapes are kept as JSON:
// they are the model's, passed on to the invoker of the target's kind.
type Target struct {
	Arn                         string
	RoleArn                     string
	Input                       *string          `json:",omitempty"`
	DeadLetterConfig            *DeadLetter      `json:",omitempty"`
	RetryPolicy                 *RetryPolicy     `json:",omitempty"`
	SqsParameters               *SqsParameters   `json:",omitempty"`
	KinesisParameters           *KinesisParams   `json:",omitempty"`
	EventBridgeParameters       *EventBridgeArgs `json:",omitempty"`
	EcsParameters               json.RawMessage  `json:",omitempty"`
	SageMakerPipelineParameters json.RawMessage  `json:",omitempty"`
}

// DeadLetter is a target's DeadLetterConfig.
type DeadLetter struct {
	Arn *string `json:",omitempty"`
}

// RetryPolicy bounds a target's retries.
type RetryPolicy struct {
	MaximumEventAgeInSeconds *int `json:",omitempty"`
	MaximumRetryAttempts     *int `json:",omitempty"`
}

// SqsParameters are an SQS target's.
type SqsParameters struct {
	MessageGroupId *string `json:",omitempty"`
}

// KinesisParams are a Kinesis target's.
type KinesisParams struct {
	PartitionKey string
}

// EventBridgeArgs are an EventBridge PutEvents target's.
type EventBridgeArgs struct {
	DetailType string
	Source     string
}

// Time is a timestamp as the REST-JSON protocol writes it: seconds since
// the epoch, with a fraction. Requests may also give an RFC 3339 string.
type Time struct{ time.Time }

// MarshalJSON writes t as epoch seconds with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds or an RFC 3339 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", s, err)
		}
		t.Time = v.UTC()
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e13 {
		return fmt.Errorf("timestamp %s: not a number of seconds", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
	return nil
}

// Now is the current time as the API stores it (milliseconds).
func now() Time { return Time{time.Now().UTC().Truncate(time.Millisecond)} }
