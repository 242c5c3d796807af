package control

import (
	"strings"
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
