package schedules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones for ScheduleExpressionTimezone, whatever the host has
	"unicode/utf16"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/deliver/awstarget"
	"github.com/switchyard/switchyard/schedule"
)

// The constraints below are the model's (botocore's scheduler 2021-06-30
// service-2.json, the API Reference's "CreateSchedule" and "Target"
// pages); violations are reported all at once in the wording of AWS's
// validation layer, "N validation error(s) detected: Value 'x' at
// 'member' failed to satisfy constraint: ...", members in lowerCamelCase.
var (
	reName     = regexp.MustCompile(`^[0-9a-zA-Z-_.]+$`)
	reRole     = regexp.MustCompile(`^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`)
	reDLQ      = regexp.MustCompile(`^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$`)
	reKMS      = regexp.MustCompile(`^arn:aws(-[a-z]+)?:kms:[a-z0-9\-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$`)
	reToken    = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
	reGroupArn = regexp.MustCompile(`^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$`)
)

const (
	patName     = `^[0-9a-zA-Z-_.]+$`
	patRole     = `^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`
	patDLQ      = `^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$`
	patKMS      = `^arn:aws(-[a-z]+)?:kms:[a-z0-9\-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$`
	patToken    = `^[a-zA-Z0-9-_]+$`
	patGroupArn = `^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$`
)

// violations collects constraint violations.
type violations []string

func (v *violations) add(value any, at, constraint string) {
	var s string
	switch x := value.(type) {
	case nil:
		s = "null"
	case string:
		s = "'" + x + "'"
	default:
		s = fmt.Sprintf("'%v'", x)
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", s, at, constraint))
}

// chars counts a string as AWS does, in UTF-16 code units.
func chars(s string) int { return len(utf16.Encode([]rune(s))) }

func (v *violations) str(s *string, at string, min, max int, re *regexp.Regexp, pattern string, required bool) {
	if s == nil {
		if required {
			v.add(nil, at, "Member must not be null")
		}
		return
	}
	n := chars(*s)
	if n < min {
		v.add(*s, at, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if max > 0 && n > max {
		v.add(*s, at, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	if re != nil && n >= min && !re.MatchString(*s) {
		v.add(*s, at, "Member must satisfy regular expression pattern: "+pattern)
	}
}

func (v *violations) num(n *int, at string, min, max int) {
	if n == nil {
		return
	}
	if *n < min {
		v.add(*n, at, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if *n > max {
		v.add(*n, at, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

func (v *violations) enum(s *string, at string, values ...string) {
	if s == nil {
		return
	}
	for _, x := range values {
		if *s == x {
			return
		}
	}
	v.add(*s, at, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	head := "1 validation error detected: "
	if len(v) > 1 {
		head = fmt.Sprintf("%d validation errors detected: ", len(v))
	}
	return awserr.Validation("%s", head+strings.Join(v, "; "))
}

// scheduleInput is the body of CreateSchedule and UpdateSchedule.
type scheduleInput struct {
	ActionAfterCompletion      *string
	ClientToken                *string
	Description                *string
	EndDate                    *Time
	FlexibleTimeWindow         *FlexibleTimeWindow
	GroupName                  *string
	KmsKeyArn                  *string
	ScheduleExpression         *string
	ScheduleExpressionTimezone *string
	StartDate                  *Time
	State                      *string
	Target                     *Target
}

// maxInput bounds a target's Input. The model sets no maximum; AWS's
// requests are bounded, and a fire's task (the input, the target and, for
// an EventBridge target, the event around the input) must fit one
// JetStream message, so Switchyard refuses more than 256 KiB, the largest
// payload of the templated targets (an SQS message, a PutEvents entry).
const maxInput = 256 << 10

// parsed is a validated schedule's expression, in its zone.
type parsed struct {
	sched schedule.Schedule
	loc   *time.Location
}

// check validates a CreateSchedule or UpdateSchedule request for the
// schedule name, and returns its parsed expression.
func (in *scheduleInput) check(name string) (parsed, error) {
	var v violations
	v.str(&name, "name", 1, 64, reName, patName, true)
	v.str(in.GroupName, "groupName", 1, 64, reName, patName, false)
	v.str(in.ClientToken, "clientToken", 1, 64, reToken, patToken, false)
	v.str(in.Description, "description", 0, 512, nil, "", false)
	v.str(in.ScheduleExpression, "scheduleExpression", 1, 256, nil, "", true)
	v.str(in.ScheduleExpressionTimezone, "scheduleExpressionTimezone", 1, 50, nil, "", false)
	v.str(in.KmsKeyArn, "kmsKeyArn", 1, 2048, reKMS, patKMS, false)
	v.enum(in.State, "state", "ENABLED", "DISABLED")
	v.enum(in.ActionAfterCompletion, "actionAfterCompletion", "NONE", "DELETE")
	if w := in.FlexibleTimeWindow; w == nil {
		v.add(nil, "flexibleTimeWindow", "Member must not be null")
	} else {
		mode := w.Mode
		if mode == "" {
			v.add(nil, "flexibleTimeWindow.mode", "Member must not be null")
		} else {
			v.enum(&mode, "flexibleTimeWindow.mode", "OFF", "FLEXIBLE")
		}
		v.num(w.MaximumWindowInMinutes, "flexibleTimeWindow.maximumWindowInMinutes", 1, 1440)
	}
	if t := in.Target; t == nil {
		v.add(nil, "target", "Member must not be null")
	} else {
		arn, role := t.Arn, t.RoleArn
		v.str(&arn, "target.arn", 1, 1600, nil, "", true)
		if role == "" {
			v.add(nil, "target.roleArn", "Member must not be null")
		} else {
			v.str(&role, "target.roleArn", 1, 1600, reRole, patRole, true)
		}
		if t.Input != nil {
			v.str(t.Input, "target.input", 1, 0, nil, "", false)
		}
		if d := t.DeadLetterConfig; d != nil {
			v.str(d.Arn, "target.deadLetterConfig.arn", 1, 1600, reDLQ, patDLQ, false)
		}
		if r := t.RetryPolicy; r != nil {
			v.num(r.MaximumEventAgeInSeconds, "target.retryPolicy.maximumEventAgeInSeconds", 60, 86400)
			v.num(r.MaximumRetryAttempts, "target.retryPolicy.maximumRetryAttempts", 0, 185)
		}
		if p := t.SqsParameters; p != nil {
			v.str(p.MessageGroupId, "target.sqsParameters.messageGroupId", 1, 128, nil, "", false)
		}
		if p := t.KinesisParameters; p != nil {
			k := p.PartitionKey
			v.str(&k, "target.kinesisParameters.partitionKey", 1, 256, nil, "", true)
		}
		if p := t.EventBridgeParameters; p != nil {
			dt, src := p.DetailType, p.Source
			v.str(&dt, "target.eventBridgeParameters.detailType", 1, 128, nil, "", true)
			v.str(&src, "target.eventBridgeParameters.source", 1, 256, nil, "", true)
		}
	}
	if err := v.err(); err != nil {
		return parsed{}, err
	}

	// Beyond the model: the rules of the API Reference's CreateSchedule.
	var p parsed
	p.loc = time.UTC
	if z := in.ScheduleExpressionTimezone; z != nil {
		loc, err := loadZone(*z)
		if err != nil {
			return parsed{}, awserr.Validation("Invalid time zone: %s.", *z)
		}
		p.loc = loc
	}
	s, err := schedule.ParseScheduler(*in.ScheduleExpression)
	if err != nil {
		return parsed{}, awserr.Validation("Invalid Schedule Expression %s.", *in.ScheduleExpression)
	}
	p.sched = s
	w := in.FlexibleTimeWindow
	switch {
	case w.Mode == "FLEXIBLE" && w.MaximumWindowInMinutes == nil:
		return parsed{}, awserr.Validation("MaximumWindowInMinutes is required when the FlexibleTimeWindow Mode is FLEXIBLE.")
	case w.Mode == "OFF" && w.MaximumWindowInMinutes != nil:
		return parsed{}, awserr.Validation("MaximumWindowInMinutes must not be set when the FlexibleTimeWindow Mode is OFF.")
	}
	if in.StartDate != nil && in.EndDate != nil && !in.EndDate.After(in.StartDate.Time) {
		return parsed{}, awserr.Validation("The EndDate must be after the StartDate.")
	}
	// "The StartDate you specify cannot be earlier than 5 minutes ago"
	// (CreateSchedule, StartDate, EventBridge Scheduler API Reference).
	if in.StartDate != nil && in.StartDate.Before(time.Now().Add(-5*time.Minute)) {
		if _, oneTime := s.(*schedule.At); !oneTime {
			return parsed{}, awserr.Validation("The StartDate you specify cannot be earlier than 5 minutes ago.")
		}
	}
	if in.EndDate != nil && !in.EndDate.After(time.Now()) {
		if _, oneTime := s.(*schedule.At); !oneTime {
			return parsed{}, awserr.Validation("The EndDate you specify must be in the future.")
		}
	}
	if err := checkTarget(in.Target); err != nil {
		return parsed{}, err
	}
	return p, nil
}

// loadZone loads an IANA time zone by name; "Local" (the host's zone) and
// "" are not names of zones.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("not an IANA zone: %q", name)
	}
	return time.LoadLocation(name)
}

// checkTarget applies the rules of the Target page: the target's
// parameters must be those of its kind, and Lambda, Step Functions and
// EventBridge targets (and universal ones) need JSON input.
func checkTarget(t *Target) error {
	if t.Input != nil && len(*t.Input) > maxInput {
		return awserr.Validation("Target Input must be at most %d bytes, not %d.", maxInput, len(*t.Input))
	}
	_, _, universal, err := awstarget.ParseUniversal(t.Arn)
	if err != nil {
		return awserr.Validation("%s", err.Error())
	}
	kind := ""
	if !universal {
		parts := strings.SplitN(t.Arn, ":", 6)
		if len(parts) != 6 || parts[0] != "arn" || parts[2] == "" {
			return awserr.Validation("Invalid target ARN %s.", t.Arn)
		}
		kind = parts[2]
		if kind == "events" && !strings.HasPrefix(parts[5], "event-bus/") {
			return awserr.Validation("Invalid target ARN %s: an EventBridge target is an event bus.", t.Arn)
		}
	}
	needs := func(param string, present bool, want string) error {
		if present && kind != want {
			return awserr.Validation("%s can only be used with a %s target.", param, want)
		}
		return nil
	}
	for _, c := range []struct {
		param   string
		present bool
		kind    string
	}{
		{"SqsParameters", t.SqsParameters != nil, "sqs"},
		{"KinesisParameters", t.KinesisParameters != nil, "kinesis"},
		{"EventBridgeParameters", t.EventBridgeParameters != nil, "events"},
		{"EcsParameters", len(t.EcsParameters) > 0, "ecs"},
		{"SageMakerPipelineParameters", len(t.SageMakerPipelineParameters) > 0, "sagemaker"},
	} {
		if err := needs(c.param, c.present, c.kind); err != nil {
			return err
		}
	}
	switch kind {
	case "events":
		if t.EventBridgeParameters == nil {
			return awserr.Validation("EventBridgeParameters are required for an EventBridge target.")
		}
		if strings.HasPrefix(t.EventBridgeParameters.Source, "aws.") {
			return awserr.Validation("Source must not start with 'aws.': it is reserved for events of AWS services.")
		}
	case "kinesis":
		if t.KinesisParameters == nil {
			return awserr.Validation("KinesisParameters are required for a Kinesis target.")
		}
	case "ecs":
		if len(t.EcsParameters) == 0 {
			return awserr.Validation("EcsParameters are required for an ECS target.")
		}
	}
	if t.Input != nil && (universal || kind == "lambda" || kind == "states" || kind == "events") && !json.Valid([]byte(*t.Input)) {
		return awserr.Validation("Target Input must be well-formed JSON for this target.")
	}
	if universal && t.Input == nil {
		return awserr.Validation("Target Input is required for a universal target: it is the API action's request.")
	}
	return nil
}

// checkName validates a schedule or group name given in a path or query.
func checkName(name *string, at string, required bool) error {
	var v violations
	v.str(name, at, 1, 64, reName, patName, required)
	return v.err()
}
