package match

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/envelope"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

// A delivery task is stored as
//
//	"SYT\x01" | ingested (int64, big endian) | len(head) (uint32, big endian) | head | event
//
// where head is the JSON of the task's rule and target (TaskHead) and event
// the event's envelope, byte for byte.
//
// The event's X-Ray trace header, if it has one, is not in the data but in
// the task message's ingest.HeaderTrace header, as on the events stream
// (TaskTrace): a process of an earlier version, during a rolling upgrade
// of a cluster, reads such a task all the same (and delivers it without
// the header), where a new form of the data would be a task it cannot
// read and drops. Every re-publication of a task copies the header
// (package deliver).
//
// Why not the Task as one JSON document, as before: encoding it made the
// matcher re-validate and copy every event into every task (json.Marshal
// compacts a RawMessage), and decoding it made the deliverer parse the
// whole event again, per delivery, only to hand the same bytes to the
// target. In this form the event is never parsed on the data path after
// matching; the head is the same for every event of one (rule, target), so
// the matcher encodes it once per rule revision and the deliverer decodes
// it once per distinct head (cached), and the per-task work is copying
// bytes. Tasks stored by earlier versions (JSON, starting with '{') are
// still read; see DecodeTask.
var taskMagic = []byte("SYT\x01")

const taskFixed = 4 + 8 + 4

// TaskHead is the part of a task shared by every event of one target of one
// rule.
type TaskHead struct {
	RuleArn  string         `json:"ruleArn"`
	RuleName string         `json:"ruleName"`
	Target   control.Target `json:"target"`
}

// EncodeHead returns the encoded head of the tasks of target t of a rule.
func EncodeHead(ruleArn, ruleName string, t *control.Target) ([]byte, error) {
	b, err := json.Marshal(TaskHead{RuleArn: ruleArn, RuleName: ruleName, Target: *t})
	if err != nil {
		return nil, fmt.Errorf("encode task: %w", err)
	}
	return b, nil
}

// sealedMagic starts a task whose event is sealed (package envelope)
// under its bus's customer managed key; the head stays readable, so that
// a task whose event no longer decrypts can still go to its target's
// dead-letter queue.
var sealedMagic = []byte("SYT\x02")

// EncodeTask returns a task's stored form from its encoded head. event may
// be sealed (envelope.IsSealed), which the form records.
func EncodeTask(head, event []byte, ingested int64) []byte {
	b := make([]byte, taskFixed+len(head)+len(event))
	copy(b, taskMagic)
	if envelope.IsSealed(event) {
		copy(b, sealedMagic)
	}
	binary.BigEndian.PutUint64(b[4:], uint64(ingested))
	binary.BigEndian.PutUint32(b[12:], uint32(len(head)))
	copy(b[taskFixed:], head)
	copy(b[taskFixed+len(head):], event)
	return b
}

// SplitTask splits a stored task into its encoded head, its event and its
// ingestion time, without decoding anything. ok is false for a task in the
// earlier JSON form, which DecodeTask reads. The event of a task of an
// encrypted bus is sealed (envelope.IsSealed).
func SplitTask(data []byte) (head, event []byte, ingested int64, ok bool) {
	if len(data) < taskFixed || !bytes.Equal(data[:4], taskMagic) && !bytes.Equal(data[:4], sealedMagic) {
		return nil, nil, 0, false
	}
	n := binary.BigEndian.Uint32(data[12:])
	if uint64(n) > uint64(len(data)-taskFixed) {
		return nil, nil, 0, false
	}
	end := taskFixed + int(n)
	return data[taskFixed:end], data[end:], int64(binary.BigEndian.Uint64(data[4:])), true
}

// TaskTrace is the trace header of the task message with headers h, ""
// for none (tasks stored before trace headers were kept have none).
func TaskTrace(h nats.Header) string { return h.Get(ingest.HeaderTrace) }

// SetTaskTrace sets the trace header of a task message, if trace is not "".
func SetTaskTrace(h nats.Header, trace string) {
	if trace != "" {
		h.Set(ingest.HeaderTrace, trace)
	}
}

// HeaderDue is set on the tasks of a scheduled rule's tick: the tick, in
// Unix milliseconds, before which the deliverer holds the task. The
// scheduler stores a tick's tasks ahead of it, so that at the tick only
// the calls are left to make.
const HeaderDue = "Switchyard-Due"

// TickTaskMsg returns the message of task, the event of a scheduled rule's
// tick due at due, for the rule of bus in scope sc. Its subject is under
// store.TickPrefix and its message id, as TaskMsg's, derives from the
// event (the tick), rule and target.
func TickTaskMsg(sc control.Scope, bus, eventID string, task *Task, due time.Time) (*nats.Msg, error) {
	m, err := encodeTaskMsg(taskSubject(store.TickPrefix, sc, bus, task.RuleName), eventID, task)
	if err != nil {
		return nil, err
	}
	m.Header.Set(HeaderDue, strconv.FormatInt(due.UnixMilli(), 10))
	return m, nil
}

// DecodeTask reads a stored task of either form. Its Trace is in the
// message's headers (TaskTrace), not in data.
func DecodeTask(data []byte) (*Task, error) {
	if head, event, ingested, ok := SplitTask(data); ok {
		var h TaskHead
		if err := json.Unmarshal(head, &h); err != nil {
			return nil, fmt.Errorf("task head: %w", err)
		}
		return &Task{RuleArn: h.RuleArn, RuleName: h.RuleName, Target: h.Target, Event: event, Ingested: ingested}, nil
	}
	if len(data) == 0 || data[0] != '{' {
		return nil, errors.New("not a delivery task")
	}
	var t Task
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	return &t, nil
}
