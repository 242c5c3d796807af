package deliver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The tasks of EventBridge Scheduler's schedules (package schedules) are
// delivered as those of rules are, with the schedule's ARN as the task's
// rule ARN. Two things differ, both documented by Scheduler:
//
//   - the context attributes <aws.scheduler.attempt-number> and
//     <aws.scheduler.execution-id> of a target's input change with each
//     attempt ("Adding context attributes in EventBridge Scheduler",
//     https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html),
//     so they are filled in here, per attempt (the schedule ARN and the
//     scheduled time are filled in when the schedule fires);
//   - a dead letter carries Scheduler's message attributes rather than
//     EventBridge's ("Configuring a schedule's dead-letter queue",
//     https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html).

// IsScheduleArn reports whether a task's rule ARN is that of a Scheduler
// schedule, arn:<partition>:scheduler:<region>:<account>:schedule/<group>/<name>.
func IsScheduleArn(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[2] == "scheduler" && strings.HasPrefix(parts[5], "schedule/")
}

// The keywords, as written and with JSON's escapes for < and > (an Input
// built with Go's json.Marshal has those).
var (
	attemptAttr     = []byte("<aws.scheduler.attempt-number>")
	executionAttr   = []byte("<aws.scheduler.execution-id>")
	attemptAttrJS   = []byte(`\u003caws.scheduler.attempt-number\u003e`)
	executionAttrJS = []byte(`\u003caws.scheduler.execution-id\u003e`)
)

// scheduleAttempt fills in the per-attempt context attributes of input.
// The execution id is the same for an attempt whichever process makes it:
// 16 hex digits of a hash of the task and the attempt number.
func scheduleAttempt(input []byte, taskID string, attempt int) []byte {
	if !bytes.Contains(input, []byte("aws.scheduler.")) {
		return input
	}
	n := []byte(strconv.Itoa(attempt))
	sum := sha256.Sum256([]byte(taskID + "|" + string(n)))
	id := []byte(hex.EncodeToString(sum[:8]))
	input = bytes.ReplaceAll(input, attemptAttr, n)
	input = bytes.ReplaceAll(input, attemptAttrJS, n)
	input = bytes.ReplaceAll(input, executionAttr, id)
	return bytes.ReplaceAll(input, executionAttrJS, id)
}

// scheduleDeadLetterAttributes are the message attributes of a schedule's
// dead letter.
func scheduleDeadLetterAttributes(scheduleArn, targetArn string, dl *deadLetter, attr func(string) sqstypes.MessageAttributeValue) map[string]sqstypes.MessageAttributeValue {
	group := ""
	if parts := strings.SplitN(scheduleArn, ":", 6); len(parts) == 6 {
		if rest, ok := strings.CutPrefix(parts[5], "schedule/"); ok {
			group, _, _ = strings.Cut(rest, "/")
		}
	}
	return map[string]sqstypes.MessageAttributeValue{
		"X-Amz-Scheduler-Attempt":       attr(strconv.Itoa(dl.retries + 1)),
		"X-Amz-Scheduler-Schedule-Arn":  attr(scheduleArn),
		"X-Amz-Scheduler-Target-Arn":    attr(targetArn),
		"X-Amz-Scheduler-Group":         attr(group),
		"X-Amz-Scheduler-Error-Code":    attr(dl.code),
		"X-Amz-Scheduler-Error-Message": attr(truncate(dl.message, 1024)),
	}
}
