package awstarget

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

type logsInvoker struct {
	clients *clients[*cloudwatchlogs.Client]
}

func newLogs(f *awsclient.Factory) *logsInvoker {
	return &logsInvoker{newClients(f, "logs", func(cfg aws.Config, endpoint func(*string) *string) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke writes the input to a log stream named by the event id, as
// EventBridge does: the stream is created first (it rarely exists, only
// when another rule or target wrote the same event), which costs one call
// less than writing, failing and writing again.
func (l *logsInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "logs")
	if err != nil {
		return err
	}
	group, ok := resourceName(strings.TrimSuffix(a.Resource, ":*"), "log-group:")
	if !ok {
		return deliver.Permanent("InvalidTarget", errString("target "+inv.Target.Arn+" is not a log group ARN"))
	}
	cl, err := l.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	ev := eventOf(inv)
	stream := ev.ID
	if stream == "" {
		stream = taskName(inv)
	}
	ts, msg := logEvent(inv.Input, ev.time(inv))
	err = withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
		return err
	})
	if err != nil && errorCode(err) != "ResourceAlreadyExistsException" {
		return classify(fmt.Errorf("log group %s: %w", group, err))
	}
	var out *cloudwatchlogs.PutLogEventsOutput
	err = withTimeout(ctx, func(ctx context.Context) error {
		var err error
		out, err = cl.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName:  aws.String(group),
			LogStreamName: aws.String(stream),
			LogEvents:     []types.InputLogEvent{{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(msg)}},
		}, traced(inv, func(o *cloudwatchlogs.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })...)
		return err
	})
	if err != nil {
		return classify(err)
	}
	// CloudWatch Logs accepts the call but drops events outside its time
	// window; a retry would be dropped the same way.
	if r := out.RejectedLogEventsInfo; r != nil {
		return deliver.Permanent("InvalidParameterException",
			fmt.Errorf("log group %s rejected the event (timestamp %s outside the accepted window)", group, ts.UTC().Format(time.RFC3339)))
	}
	return nil
}

// logEvent is the log event for input: an object of exactly "timestamp"
// and "message" — the shape AWS documents for input transformers of log
// group targets — sets both; any other input is the message, at the
// event's time.
func logEvent(input []byte, at time.Time) (time.Time, string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(input, &obj) != nil || len(obj) != 2 || obj["timestamp"] == nil || obj["message"] == nil {
		return at, string(input)
	}
	ts := at
	var n json.Number
	var s string
	switch {
	case json.Unmarshal(obj["timestamp"], &n) == nil:
		if ms, err := n.Int64(); err == nil {
			ts = time.UnixMilli(ms)
		}
	case json.Unmarshal(obj["timestamp"], &s) == nil:
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			ts = t
		}
	}
	msg := string(bytes.TrimSpace(obj["message"]))
	if json.Unmarshal(obj["message"], &s) == nil {
		msg = s
	}
	return ts, msg
}
