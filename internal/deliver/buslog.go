package deliver

import (
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/buslog"
)

// The deliverer's bus log records: INVOCATION_START and
// INVOCATION_ATTEMPT_START before a call, an INVOCATION_ATTEMPT_* record
// for its outcome, and INVOCATION_SUCCESS, INVOCATION_FAILURE or
// INVOCATION_DLQ when the invocation ends ("Amazon EventBridge event bus
// log schema"; "EventBridge retries invoking the target as necessary
// until the event has been successfully delivered, or delivery fails ...
// If delivery fails, EventBridge sends the event to a dead-letter queue
// (DLQ) if one is specified", "What Amazon EventBridge logs for event
// buses").

// busLog is the bus log of j's bus, looked up once per job.
func (d *Deliverer) busLog(j *job) buslog.Bus {
	if d.BusLog == nil {
		return buslog.Bus{}
	}
	if j.bl == nil {
		bl := d.BusLog.Bus(j.scope, j.bus)
		j.bl = &bl
	}
	return *j.bl
}

func (j *job) invocationID() string {
	return buslog.InvocationID(eventID(j.id), j.task.RuleArn, j.task.Target.Id)
}

// eventID is the event's id in a task id (match.taskID: event|rule|target).
func eventID(taskID string) string {
	id, _, _ := strings.Cut(taskID, "|")
	return id
}

func roleOf(j *job) string {
	if j.task.Target.RoleArn != nil {
		return *j.task.Target.RoleArn
	}
	return ""
}

// logStart emits the records of an attempt about to be made.
func (d *Deliverer) logStart(j *job, inv *Invocation) {
	bl := d.busLog(j)
	if !bl.On(buslog.InvocationAttemptStart) {
		return
	}
	det := func() *buslog.InvocationDetails {
		x := &buslog.InvocationDetails{RuleArn: j.task.RuleArn, RoleArn: roleOf(j), TargetArn: j.task.Target.Arn, AttemptCount: inv.Attempt}
		if bl.Full() {
			x.TargetInput = string(inv.Input)
		}
		return x
	}
	id, ev := j.invocationID(), eventID(j.id)
	if inv.Attempt == 1 {
		bl.Emit(&buslog.Record{EventID: ev, InvocationID: id, MessageType: buslog.InvocationStart, Details: det()})
	}
	bl.Emit(&buslog.Record{EventID: ev, InvocationID: id, MessageType: buslog.InvocationAttemptStart, Details: det()})
}

// logAttempt emits the outcome of one attempt: t is
// INVOCATION_ATTEMPT_SUCCESS, _RETRYABLE_FAILURE, _PERMANENT_FAILURE or
// _THROTTLE.
func (d *Deliverer) logAttempt(j *job, inv *Invocation, t buslog.MessageType, e *Error) {
	bl := d.busLog(j)
	if !bl.On(t) {
		return
	}
	typ := "FIRST"
	if inv.Attempt > 1 {
		typ = "RETRY"
	}
	if t == buslog.InvocationAttemptThrottle {
		typ = "THROTTLE"
	}
	status := "SUCCESS"
	if e != nil {
		status = "FAILURE"
	}
	bl.Emit(&buslog.Record{EventID: eventID(j.id), InvocationID: j.invocationID(), MessageType: t, Error: recordError(j, e),
		Details: &buslog.AttemptDetails{RuleArn: j.task.RuleArn, RoleArn: roleOf(j), TargetArn: j.task.Target.Arn,
			AttemptType: typ, AttemptCount: inv.Attempt, InvocationStatus: status, TargetDurationMs: j.callDur.Milliseconds()}})
}

// logOutcome emits the end of the invocation: INVOCATION_SUCCESS,
// INVOCATION_FAILURE or INVOCATION_DLQ, after attempts calls.
func (d *Deliverer) logOutcome(j *job, t buslog.MessageType, attempts int, e *Error) {
	bl := d.busLog(j)
	if !bl.On(t) {
		return
	}
	status := "SUCCESS"
	switch t {
	case buslog.InvocationFailure:
		status = "FAILURE"
	case buslog.InvocationDLQ:
		status = "DLQ"
	}
	x := &buslog.OutcomeDetails{RuleArn: j.task.RuleArn, RoleArn: roleOf(j), TargetArn: j.task.Target.Arn,
		TotalAttempts: attempts, FinalInvocationStatus: status, TargetDurationMs: j.callDur.Milliseconds()}
	if j.task.Ingested > 0 {
		ms := time.Since(time.UnixMilli(j.task.Ingested)).Milliseconds()
		x.IngestionToCompleteLatencyMs = &ms
		if t == buslog.InvocationSuccess {
			x.IngestionToSuccessLatencyMs = &ms
		}
		if attempts <= 1 && !j.callStart.IsZero() {
			s := j.callStart.Sub(time.UnixMilli(j.task.Ingested)).Milliseconds()
			x.IngestionToStartLatencyMs = &s
		}
	}
	if bl.Full() {
		x.TargetInput = string(j.input)
	}
	bl.Emit(&buslog.Record{EventID: eventID(j.id), InvocationID: j.invocationID(), MessageType: t, Details: x, Error: recordError(j, e)})
}

// logThrottleStart emits INVOCATION_THROTTLE_START when a task is put back
// untried because its target has as many calls as it may take.
func (d *Deliverer) logThrottleStart(j *job) {
	bl := d.busLog(j)
	if !bl.On(buslog.InvocationThrottleStart) {
		return
	}
	bl.Emit(&buslog.Record{EventID: eventID(j.id), InvocationID: j.invocationID(), MessageType: buslog.InvocationThrottleStart,
		Details: &buslog.InvocationDetails{RuleArn: j.task.RuleArn, RoleArn: roleOf(j), TargetArn: j.task.Target.Arn, AttemptCount: j.attempts}})
}

// recordError is the schema's error of e: its message, and the service
// called (the target ARN's service; "http" for a URL target).
func recordError(j *job, e *Error) *buslog.RecordError {
	if e == nil {
		return nil
	}
	svc := j.kind
	if a, err := awsclient.ParseARN(j.task.Target.Arn); err == nil {
		svc = a.Service
	}
	msg := e.Code
	if e.Err != nil {
		msg = e.Error()
	}
	return &buslog.RecordError{ErrorMessage: msg, AWSService: svc}
}

// isThrottle says whether e is the target throttling the call.
func isThrottle(e *Error) bool {
	return e.Code == "THROTTLING" || strings.Contains(e.Code, "Throttl") || strings.Contains(e.Code, "TooManyRequests")
}
