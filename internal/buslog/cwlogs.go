package buslog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard/switchyard/internal/awsclient"
)

// CloudWatch Logs limits of one PutLogEvents call ("PutLogEvents",
// CloudWatch Logs API Reference): at most 10,000 events and 1,048,576
// bytes, counting each event's message in UTF-8 plus 26 bytes.
const (
	maxPutEvents  = 10000
	maxPutBytes   = 1048576
	eventOverhead = 26
)

// CloudWatch writes records to one log group, in each bus's region (AWS
// delivers a bus's logs to a log group of its region), a log stream per
// bus, creating both when missing. Its endpoint comes from the
// awsclient.Factory ("logs"), as the CloudWatch Logs targets' does.
type CloudWatch struct {
	aws     *awsclient.Factory
	group   string
	mu      sync.Mutex
	clients map[string]*cloudwatchlogs.Client
	ready   map[string]bool // region|stream created
}

// NewCloudWatch returns the destination of log group group.
func NewCloudWatch(f *awsclient.Factory, group string) *CloudWatch {
	return &CloudWatch{aws: f, group: group, clients: map[string]*cloudwatchlogs.Client{}, ready: map[string]bool{}}
}

// StreamName is the log stream of a bus's records: account, region and
// bus name, which log stream names (no ':' or '*') can hold.
func StreamName(account, region, bus string) string { return account + "/" + region + "/" + bus }

func (c *CloudWatch) client(ctx context.Context, region string) (*cloudwatchlogs.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.clients[region]; cl != nil {
		return cl, nil
	}
	cfg, err := c.aws.Config(ctx, region)
	if err != nil {
		return nil, err
	}
	cl := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.BaseEndpoint = c.aws.BaseEndpoint("logs", o.BaseEndpoint)
		// The writer has its own deadline and drops what fails; the SDK's
		// retries would only hold the queue up longer.
		o.RetryMaxAttempts = 2
	})
	c.clients[region] = cl
	return cl, nil
}

type streamKey struct{ region, stream string }

// Write puts batch, stream by stream.
func (c *CloudWatch) Write(ctx context.Context, batch []*Record) error {
	by := map[streamKey][]cwtypes.InputLogEvent{}
	var order []streamKey
	for _, r := range batch {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("bus log record: %w", err)
		}
		k := streamKey{r.scope.Region, StreamName(r.scope.Account, r.scope.Region, r.bus)}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], cwtypes.InputLogEvent{Message: aws.String(string(b)), Timestamp: aws.Int64(r.MessageTimestampMs)})
	}
	var errs []error
	for _, k := range order {
		if err := c.put(ctx, k, by[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *CloudWatch) put(ctx context.Context, k streamKey, events []cwtypes.InputLogEvent) error {
	cl, err := c.client(ctx, k.region)
	if err != nil {
		return err
	}
	if err := c.ensure(ctx, cl, k); err != nil {
		return err
	}
	// A call's events must be in time order; records of concurrent
	// deliveries may be emitted a millisecond out of it.
	slices.SortStableFunc(events, func(a, b cwtypes.InputLogEvent) int { return int(*a.Timestamp - *b.Timestamp) })
	for len(events) > 0 {
		n, size := 0, 0
		for n < len(events) && n < maxPutEvents {
			s := len(*events[n].Message) + eventOverhead
			if n > 0 && size+s > maxPutBytes {
				break
			}
			size += s
			n++
		}
		_, err := cl.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String(c.group), LogStreamName: aws.String(k.stream), LogEvents: events[:n]})
		if err != nil {
			if code(err) == "ResourceNotFoundException" { // deleted meanwhile: create again next time
				c.mu.Lock()
				delete(c.ready, k.region+"|"+k.stream)
				c.mu.Unlock()
			}
			return fmt.Errorf("bus logs: put log events to %s/%s: %w", c.group, k.stream, err)
		}
		events = events[n:]
	}
	return nil
}

// ensure creates the log group and stream once per process (an existing
// one is fine).
func (c *CloudWatch) ensure(ctx context.Context, cl *cloudwatchlogs.Client, k streamKey) error {
	key := k.region + "|" + k.stream
	c.mu.Lock()
	ok := c.ready[key]
	c.mu.Unlock()
	if ok {
		return nil
	}
	if _, err := cl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(c.group)}); err != nil &&
		code(err) != "ResourceAlreadyExistsException" {
		return fmt.Errorf("bus logs: create log group %s: %w", c.group, err)
	}
	if _, err := cl.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(c.group),
		LogStreamName: aws.String(k.stream)}); err != nil && code(err) != "ResourceAlreadyExistsException" {
		return fmt.Errorf("bus logs: create log stream %s/%s: %w", c.group, k.stream, err)
	}
	c.mu.Lock()
	c.ready[key] = true
	c.mu.Unlock()
	return nil
}

// Close does nothing: every Write is complete when it returns.
func (c *CloudWatch) Close() error { return nil }

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
