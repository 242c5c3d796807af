package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/control"
)

// dlqCmd reads and redrives the SQS dead-letter queues of targets. The
// queue is reached with the AWS SDK's own configuration (credentials,
// AWS_ENDPOINT_URL_SQS, profiles), as the AWS CLI would.
func dlqCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "List and redrive the events in a target's SQS dead-letter queue"}
	cmd.AddCommand(dlqListCmd(), dlqRedriveCmd())
	return cmd
}

// deadLetter is one message of a dead-letter queue, as EventBridge writes
// them: the event as the body, why it failed in message attributes.
type deadLetter struct {
	MessageID     string            `json:"MessageId"`
	Attributes    map[string]string `json:"Attributes"`
	Event         json.RawMessage   `json:"Event"`
	receiptHandle string
}

func sqsClient(ctx context.Context, region string) (*sqs.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return sqs.NewFromConfig(cfg), nil
}

// receive takes up to n messages from the queue, hiding them for
// visibility seconds (0 to leave them visible to others at once after).
func receive(ctx context.Context, c *sqs.Client, queueURL string, n int, visibility int32) ([]deadLetter, error) {
	var out []deadLetter
	for len(out) < n {
		resp, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
			MaxNumberOfMessages: int32(min(10, n-len(out))), MessageAttributeNames: []string{"All"},
			VisibilityTimeout: visibility, WaitTimeSeconds: 1})
		if err != nil {
			return out, fmt.Errorf("ReceiveMessage: %w", err)
		}
		if len(resp.Messages) == 0 {
			break
		}
		for _, m := range resp.Messages {
			d := deadLetter{MessageID: aws.ToString(m.MessageId), Attributes: map[string]string{}, receiptHandle: aws.ToString(m.ReceiptHandle)}
			for k, v := range m.MessageAttributes {
				d.Attributes[k] = aws.ToString(v.StringValue)
			}
			body := aws.ToString(m.Body)
			if json.Valid([]byte(body)) {
				d.Event = json.RawMessage(body)
			} else {
				d.Event, _ = json.Marshal(body)
			}
			out = append(out, d)
		}
	}
	return out, nil
}

func dlqListCmd() *cobra.Command {
	var queueURL, region string
	var maxN int
	cmd := &cobra.Command{
		Use:   "list --queue-url URL",
		Short: "Print the dead letters in a queue (JSON lines), leaving them there",
		Long: `Prints up to --max messages of the queue as JSON lines: the event, and the
attributes EventBridge gave it (RULE_ARN, TARGET_ARN, ERROR_CODE,
ERROR_MESSAGE, RETRY_ATTEMPTS, EXHAUSTED_RETRY_CONDITION). The messages are
made visible again at once.

  switchyard dlq list --queue-url http://127.0.0.1:5000/123456789012/orders-dlq`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := sqsClient(cmd.Context(), region)
			if err != nil {
				return err
			}
			// Hidden while being listed, so a message is not printed twice;
			// visible again right after.
			msgs, err := receive(cmd.Context(), c, queueURL, maxN, 30)
			for _, m := range msgs {
				line, _ := json.Marshal(m)
				fmt.Fprintln(cmd.OutOrStdout(), string(line))
				_, _ = c.ChangeMessageVisibility(cmd.Context(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL),
					ReceiptHandle: aws.String(m.receiptHandle), VisibilityTimeout: 0})
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&queueURL, "queue-url", "", "the dead-letter queue's URL (required)")
	f.StringVar(&region, "region", envOr("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION"), "the queue's region")
	f.IntVar(&maxN, "max", 100, "most messages to print")
	_ = cmd.MarkFlagRequired("queue-url")
	return cmd
}

func dlqRedriveCmd() *cobra.Command {
	var c clientFlags
	var queueURL, toBus string
	var maxN int
	cmd := &cobra.Command{
		Use:   "redrive --queue-url URL",
		Short: "Put the dead letters' events again, then delete them from the queue",
		Long: `Sends each dead letter's event again with PutEvents — by default to the bus of
the rule that dead-lettered it (its RULE_ARN attribute), else to --to-bus —
and deletes the message once the event is accepted. Every rule of that bus
sees the event again, as a new event (PutEvents gives it a new id), not only
the target that failed. A message whose event is refused stays in the queue.

  switchyard dlq redrive --queue-url http://127.0.0.1:5000/123456789012/orders-dlq`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, err := c.caller(cmd)
			if err != nil {
				return err
			}
			q, err := sqsClient(cmd.Context(), c.region)
			if err != nil {
				return err
			}
			msgs, err := receive(cmd.Context(), q, queueURL, maxN, 60)
			if err != nil {
				return err
			}
			return redrive(cmd.Context(), q, queueURL, c.endpoint, who, toBus, msgs, cmd.OutOrStdout())
		},
	}
	c.register(cmd)
	f := cmd.Flags()
	f.StringVar(&queueURL, "queue-url", "", "the dead-letter queue's URL (required)")
	f.StringVar(&toBus, "to-bus", "", "the bus to put the events on instead of their rules' (name or ARN)")
	f.IntVar(&maxN, "max", 1000, "most messages to redrive")
	_ = cmd.MarkFlagRequired("queue-url")
	return cmd
}

func redrive(ctx context.Context, q *sqs.Client, queueURL, endpoint string, who caller, toBus string, msgs []deadLetter, out io.Writer) error {
	var event struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
		Resources  []string        `json:"resources"`
		Time       string          `json:"time"`
	}
	refused := 0
	for _, m := range msgs {
		if err := json.Unmarshal(m.Event, &event); err != nil || event.Source == "" {
			fmt.Fprintf(out, "%s: skipped: the body is not an EventBridge event\n", m.MessageID)
			refused++
			continue
		}
		bus := toBus
		if bus == "" {
			bus = ruleBus(m.Attributes["RULE_ARN"])
		}
		detail, _ := json.Marshal(string(event.Detail))
		entry := map[string]any{"Source": event.Source, "DetailType": event.DetailType, "Detail": json.RawMessage(detail),
			"Resources": event.Resources, "EventBusName": bus}
		var resp struct {
			Entries []struct{ EventId, ErrorCode, ErrorMessage string }
		}
		if err := callAPI(ctx, endpoint, who, "PutEvents", map[string]any{"Entries": []any{entry}}, &resp); err != nil {
			return err
		}
		if len(resp.Entries) != 1 || resp.Entries[0].ErrorCode != "" {
			fmt.Fprintf(out, "%s: refused: %+v\n", m.MessageID, resp.Entries)
			refused++
			continue
		}
		if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(m.receiptHandle)}); err != nil {
			return fmt.Errorf("DeleteMessage after putting %s again as %s: %w", m.MessageID, resp.Entries[0].EventId, err)
		}
		fmt.Fprintf(out, "%s -> %s on %s\n", m.MessageID, resp.Entries[0].EventId, orDefault(bus))
	}
	fmt.Fprintf(out, "%d redriven, %d left in the queue\n", len(msgs)-refused, refused)
	if refused > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// ruleBus is the bus ARN of a rule ARN (arn:...:rule/[bus/]name); "" (the
// default bus) when it names none.
func ruleBus(ruleARN string) string {
	i := strings.Index(ruleARN, ":rule/")
	if i < 0 {
		return ""
	}
	rest := ruleARN[i+len(":rule/"):]
	j := strings.LastIndex(rest, "/")
	if j < 0 {
		return ""
	}
	parts := strings.SplitN(ruleARN[:i], ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return control.BusARN(control.Scope{Region: parts[3], Account: parts[4]}, rest[:j])
}

func orDefault(bus string) string {
	if bus == "" {
		return "default"
	}
	return bus
}
