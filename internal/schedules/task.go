package schedules

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/match"
)

// TaskBus is the bus name the delivery tasks of schedules are filed under
// (their subjects, the deliverer's metric labels). The deliverer tells
// Scheduler's tasks apart by their rule ARN, a schedule ARN
// (deliver.IsScheduleArn), not by this name.
const TaskBus = "aws.scheduler"

// eventNamespace makes the id of an occurrence a name-based UUID of the
// schedule ARN and the occurrence's time: the same in every process, so
// that the task of an occurrence published twice is stored once.
var eventNamespace = uuid.MustParse("3f0b6a52-9d7e-4c1a-8e55-6a2f1c9b7d40")

func occurrenceID(arn string, tick time.Time) string {
	return uuid.NewSHA1(eventNamespace, []byte(arn+"|"+tick.UTC().Format(time.RFC3339Nano))).String()
}

// defaultInput is what a target without Input receives. AWS says only that
// Scheduler "delivers a default notification" (Target, Input, API
// Reference) without giving its form; Switchyard sends an empty JSON
// object.
const defaultInput = "{}"

// payload is the schedule's input with the context attributes known at
// fire time filled in: the schedule ARN and the scheduled time ("Adding
// context attributes in EventBridge Scheduler"). The attempt number and
// execution id, which change per attempt, are filled in by the deliverer.
func payload(sc *Schedule, tick time.Time) []byte {
	in := defaultInput
	if sc.Target.Input != nil {
		in = *sc.Target.Input
	}
	if !strings.Contains(in, "aws.scheduler.") {
		return []byte(in)
	}
	// The keywords may also be written with JSON's escapes for < and >
	// (\u003c, \u003e), as Go's encoding/json writes them in an Input
	// built with json.Marshal.
	at := tick.UTC().Format(time.RFC3339)
	r := strings.NewReplacer("<aws.scheduler.schedule-arn>", sc.Arn, "<aws.scheduler.scheduled-time>", at,
		`\u003caws.scheduler.schedule-arn\u003e`, sc.Arn, `\u003caws.scheduler.scheduled-time\u003e`, at)
	return []byte(r.Replace(in))
}

// taskOf returns the delivery task of one occurrence of a schedule, and
// its event id.
func taskOf(sc *Schedule, scope control.Scope, tick, fired time.Time) (*match.Task, string) {
	id := occurrenceID(sc.Arn, tick)
	t := &sc.Target
	ct := control.Target{Id: sc.Name, Arn: t.Arn}
	if t.RoleArn != "" {
		ct.RoleArn = &t.RoleArn
	}
	if d := t.DeadLetterConfig; d != nil && d.Arn != nil {
		ct.DeadLetterConfig = &control.DeadLetterConfig{Arn: d.Arn}
	}
	if r := t.RetryPolicy; r != nil {
		rp := &control.RetryPolicy{}
		if r.MaximumRetryAttempts != nil {
			v := int32(*r.MaximumRetryAttempts)
			rp.MaximumRetryAttempts = &v
		}
		if r.MaximumEventAgeInSeconds != nil {
			v := int32(*r.MaximumEventAgeInSeconds)
			rp.MaximumEventAgeInSeconds = &v
		}
		ct.RetryPolicy = rp
	}
	if p := t.SqsParameters; p != nil {
		ct.SqsParameters = &control.SqsParameters{MessageGroupId: p.MessageGroupId}
	}
	if p := t.KinesisParameters; p != nil {
		k := p.PartitionKey
		ct.KinesisParameters = &control.KinesisParameters{PartitionKeyPath: &k}
	}
	if len(t.EcsParameters) > 0 {
		// Scheduler's EcsParameters are EventBridge's, but for Tags (a
		// list of maps there, of {Key, Value} here), which are not sent.
		var m map[string]json.RawMessage
		if json.Unmarshal(t.EcsParameters, &m) == nil {
			delete(m, "Tags")
			b, _ := json.Marshal(m)
			var ep control.EcsParameters
			if json.Unmarshal(b, &ep) == nil {
				ct.EcsParameters = &ep
			}
		}
	}
	if len(t.SageMakerPipelineParameters) > 0 {
		var sp control.SageMakerPipelineParameters
		if json.Unmarshal(t.SageMakerPipelineParameters, &sp) == nil {
			ct.SageMakerPipelineParameters = &sp
		}
	}
	in := payload(sc, tick)
	event := in
	if p := t.EventBridgeParameters; p != nil {
		// PutEvents with the input as the event's detail ("Templated
		// targets", EventBridge Scheduler User Guide).
		detail := bytes.TrimSpace(in)
		if !json.Valid(detail) {
			detail = []byte(defaultInput)
		}
		event = ingest.Envelope(id, p.DetailType, p.Source, scope, tick, []string{sc.Arn}, detail)
	}
	return &match.Task{RuleArn: sc.Arn, RuleName: sc.GroupName + "/" + sc.Name, Target: ct, Event: event,
		Ingested: fired.UnixMilli()}, id
}
