package pipes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
)

// A stream source (Kinesis, DynamoDB Streams) is read shard by shard, in
// order. Each shard's position is checkpointed in the pipes bucket after
// each batch the pipe is done with ("seq:<sequence number>"), so a poller
// that starts again — after StopPipe and StartPipe, a restart, or in
// another process after this one died — goes on after the last record
// delivered: nothing is lost, and at most the batch in flight at a crash
// is delivered again. A pipe starting at LATEST records the time it
// started ("ts:<ms>") before it reads, so that what is written while it is
// down is still read (AT_TIMESTAMP) when it comes back.

// streamRecord is a stream record and its sequence number.
type streamRecord struct {
	record
	seq string
}

// streamReader reads the shards of one stream.
type streamReader interface {
	shards(ctx context.Context) ([]string, error)
	// iterator returns a shard iterator: after seq, if set; else at ts,
	// if set; else at the start ("TRIM_HORIZON") or end ("LATEST").
	iterator(ctx context.Context, shard, seq string, ts time.Time, start string) (string, error)
	// records reads from it; next is "" once the shard is closed and read.
	records(ctx context.Context, shard, it string, limit int) (recs []streamRecord, next string, err error)
	// batchInfo names the stream in a dead letter ("KinesisBatchInfo").
	batchInfo() (member, arnField string)
}

func (run *pipeRun) streamParams() *streamParams {
	sp := run.p.sourceParams()
	if sp.KinesisStreamParameters != nil {
		return sp.KinesisStreamParameters
	}
	if sp.DynamoDBStreamParameters != nil {
		return sp.DynamoDBStreamParameters
	}
	return &streamParams{StartingPosition: "LATEST"}
}

func (run *pipeRun) pollStream(ctx context.Context, rd streamReader, err error) error {
	if err != nil {
		return err
	}
	var shards []string
	for {
		shards, err = rd.shards(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		run.pl.setStatus(false, fmt.Sprintf("The source stream %s cannot be read: %v", run.p.Source, err))
		run.r.poke()
		if !sleep(ctx, 2*time.Second) {
			return nil
		}
	}
	run.pl.setStatus(true, "")
	run.r.poke()
	// Shards split and merge (DynamoDB's roll over every few hours): the
	// list is read again now and then, and new shards are read too.
	var wg sync.WaitGroup
	started := map[string]bool{}
	for {
		for _, sh := range shards {
			if started[sh] {
				continue
			}
			started[sh] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					err := run.pollShard(ctx, rd, sh)
					if err == nil || ctx.Err() != nil {
						return
					}
					run.log.Warn("pipes: reading shard failed; reading it again", "shard", sh, "err", err)
					sleep(ctx, 2*time.Second)
				}
			}()
		}
		if !sleep(ctx, shardListInterval) {
			break
		}
		if l, err := rd.shards(ctx); err == nil {
			shards = l
		}
	}
	wg.Wait()
	return nil
}

// shardListInterval is how often a stream's shards are listed again.
const shardListInterval = 30 * time.Second

func (run *pipeRun) pollShard(ctx context.Context, rd streamReader, shard string) error {
	sp := run.streamParams()
	gen := run.p.Generation
	pos, err := run.r.checkpoint(ctx, gen, shard)
	if err != nil {
		return err
	}
	var seq string
	var ts time.Time
	switch {
	case strings.HasPrefix(pos, "seq:"):
		seq = strings.TrimPrefix(pos, "seq:")
	case strings.HasPrefix(pos, "ts:"):
		ms, _ := strconv.ParseInt(strings.TrimPrefix(pos, "ts:"), 10, 64)
		ts = time.UnixMilli(ms)
	case sp.StartingPosition == "AT_TIMESTAMP" && sp.StartingPositionTimestamp != nil:
		ts = time.UnixMilli(int64(*sp.StartingPositionTimestamp * 1000))
	case sp.StartingPosition == "LATEST":
		ts = time.Now()
		if err := run.r.saveCheckpoint(ctx, gen, shard, "ts:"+strconv.FormatInt(ts.UnixMilli(), 10)); err != nil {
			return err
		}
	}
	it, err := rd.iterator(ctx, shard, seq, ts, "TRIM_HORIZON")
	if err != nil {
		return err
	}
	batchSize := 100
	if sp.BatchSize != nil {
		batchSize = *sp.BatchSize
	}
	var window time.Duration
	if sp.MaximumBatchingWindowInSeconds != nil {
		window = time.Duration(*sp.MaximumBatchingWindowInSeconds) * time.Second
	}
	pol := retryPolicy{attempts: -1}
	if sp.MaximumRetryAttempts != nil && *sp.MaximumRetryAttempts >= 0 {
		pol.attempts = *sp.MaximumRetryAttempts + 1
	}
	if sp.MaximumRecordAgeInSeconds != nil && *sp.MaximumRecordAgeInSeconds > 0 {
		pol.maxAge = time.Duration(*sp.MaximumRecordAgeInSeconds) * time.Second
	}
	for ctx.Err() == nil {
		var batch []streamRecord
		deadline := time.Now().Add(window)
		for len(batch) < batchSize && it != "" {
			recs, next, err := rd.records(ctx, shard, it, min(batchSize-len(batch), 10000))
			if err != nil {
				return err
			}
			batch, it = append(batch, recs...), next
			if len(batch) > 0 && (window == 0 || !time.Now().Before(deadline)) {
				break
			}
			if len(recs) == 0 {
				// At most five reads a second per shard (Kinesis quota).
				if !sleep(ctx, 250*time.Millisecond) {
					return nil
				}
				if window == 0 || !time.Now().Before(deadline) {
					break
				}
			}
		}
		if len(batch) == 0 {
			if it == "" {
				return nil // the shard is closed and read
			}
			continue
		}
		if err := run.deliverStream(ctx, rd, shard, batch, pol); err != nil {
			return err
		}
	}
	return nil
}

// deliverStream sends a batch in order; a record the retry policy gives
// up on (or that is too old) goes to the pipe's dead-letter queue and the
// pipe goes on. The checkpoint moves after each part delivered.
func (run *pipeRun) deliverStream(ctx context.Context, rd streamReader, shard string, batch []streamRecord, pol retryPolicy) error {
	recs := make([]record, len(batch))
	for i := range batch {
		recs[i] = batch[i].record
	}
	for len(recs) > 0 {
		if pol.maxAge > 0 && time.Since(recs[0].arrival) > pol.maxAge {
			run.deadLetter(ctx, rd, shard, batch[:1], "RecordAgeExceeded", 0)
			recs, batch = recs[1:], batch[1:]
			continue
		}
		done, errs := run.deliverBatch(ctx, recs, pol, 1)
		n := 0
		for n < len(done) && done[n] {
			n++
		}
		if n > 0 {
			if err := run.r.saveCheckpoint(context.WithoutCancel(ctx), run.p.Generation, shard, "seq:"+batch[n-1].seq); err != nil {
				return err
			}
		}
		if n == len(recs) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		// Record n failed for good.
		run.log.Warn("pipes: record given up", "shard", shard, "sequenceNumber", batch[n].seq, "err", errs[n])
		run.deadLetter(ctx, rd, shard, batch[n:n+1], "RetryAttemptsExhausted", pol.attempts)
		if err := run.r.saveCheckpoint(context.WithoutCancel(ctx), run.p.Generation, shard, "seq:"+batch[n].seq); err != nil {
			return err
		}
		recs, batch = recs[n+1:], batch[n+1:]
	}
	return nil
}

// deadLetter sends what Pipes sends a stream source's dead-letter queue:
// not the records but where they are — the shard, the first and last
// sequence numbers, their arrival, the batch size and the stream — with
// why they were given up ("Amazon Kinesis stream as a source", "Batching
// behavior and failures", EventBridge User Guide). Without a queue the
// records are dropped.
func (run *pipeRun) deadLetter(ctx context.Context, rd streamReader, shard string, batch []streamRecord, condition string, attempts int) {
	dlc := run.streamParams().DeadLetterConfig
	if dlc == nil || dlc.Arn == nil || *dlc.Arn == "" {
		return
	}
	member, arnField := rd.batchInfo()
	info := map[string]any{
		"shardId":                         shard,
		"startSequenceNumber":             batch[0].seq,
		"endSequenceNumber":               batch[len(batch)-1].seq,
		"approximateArrivalOfFirstRecord": batch[0].arrival.UTC().Format(time.RFC3339Nano),
		"approximateArrivalOfLastRecord":  batch[len(batch)-1].arrival.UTC().Format(time.RFC3339Nano),
		"batchSize":                       len(batch),
		arnField:                          run.p.Source,
	}
	msg := map[string]any{
		"requestContext": map[string]any{"requestId": uuid.NewString(), "functionArn": run.p.Arn,
			"condition": condition, "approximateInvokeCount": max(attempts, 1)},
		"version":   "1.0",
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		member:      info,
	}
	body, _ := json.Marshal(msg)
	for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
		if err := run.sendSQS(ctx, *dlc.Arn, body); err != nil {
			run.log.Warn("pipes: send to the dead-letter queue failed", "queue", *dlc.Arn, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		return
	}
}

func (run *pipeRun) sendSQS(ctx context.Context, queueArn string, body []byte) error {
	a, err := parseQueueARN(queueArn)
	if err != nil {
		return err
	}
	cfg, err := run.awsConfig(ctx, a.Region)
	if err != nil {
		return err
	}
	cl := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = run.r.AWS.BaseEndpoint("sqs", o.BaseEndpoint) })
	u, err := cl.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(a.Resource), QueueOwnerAWSAccountId: aws.String(a.Account)})
	if err != nil {
		return err
	}
	_, err = cl.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String(string(body))})
	return err
}

type queueARN struct{ Region, Account, Resource string }

func parseQueueARN(s string) (queueARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[2] != "sqs" {
		return queueARN{}, errors.New("not an SQS queue ARN: " + s)
	}
	return queueARN{parts[3], parts[4], parts[5]}, nil
}

// kinesisReader reads a Kinesis data stream.
type kinesisReader struct {
	run    *pipeRun
	cl     *kinesis.Client
	stream string
	region string
}

func newKinesisReader(ctx context.Context, run *pipeRun) (*kinesisReader, error) {
	a, err := run.sourceARN()
	if err != nil {
		return nil, err
	}
	name, ok := strings.CutPrefix(a.Resource, "stream/")
	if !ok {
		return nil, fmt.Errorf("source %s is not a Kinesis stream ARN", run.p.Source)
	}
	cfg, err := run.awsConfig(ctx, a.Region)
	if err != nil {
		return nil, err
	}
	cl := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = run.r.AWS.BaseEndpoint("kinesis", o.BaseEndpoint) })
	return &kinesisReader{run: run, cl: cl, stream: name, region: a.Region}, nil
}

func (k *kinesisReader) batchInfo() (string, string) { return "KinesisBatchInfo", "streamArn" }

func (k *kinesisReader) shards(ctx context.Context) ([]string, error) {
	var out []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(k.stream)}
	for {
		page, err := k.cl.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Shards {
			out = append(out, aws.ToString(s.ShardId))
		}
		if page.NextToken == nil {
			return out, nil
		}
		in = &kinesis.ListShardsInput{NextToken: page.NextToken}
	}
}

func (k *kinesisReader) iterator(ctx context.Context, shard, seq string, ts time.Time, start string) (string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(k.stream), ShardId: aws.String(shard)}
	switch {
	case seq != "":
		in.ShardIteratorType, in.StartingSequenceNumber = ktypes.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	case !ts.IsZero():
		in.ShardIteratorType, in.Timestamp = ktypes.ShardIteratorTypeAtTimestamp, aws.Time(ts)
	default:
		in.ShardIteratorType = ktypes.ShardIteratorType(start)
	}
	out, err := k.cl.GetShardIterator(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ShardIterator), nil
}

func (k *kinesisReader) records(ctx context.Context, shard, it string, limit int) ([]streamRecord, string, error) {
	out, err := k.cl.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, "", err
	}
	recs := make([]streamRecord, len(out.Records))
	for i, r := range out.Records {
		recs[i] = k.record(shard, r)
	}
	return recs, aws.ToString(out.NextShardIterator), nil
}

// record is a Kinesis record as Pipes hands it on ("Amazon Kinesis stream
// as a source", EventBridge User Guide): the Lambda event's fields, flat.
func (k *kinesisReader) record(shard string, r ktypes.Record) streamRecord {
	seq := aws.ToString(r.SequenceNumber)
	arrival := aws.ToTime(r.ApproximateArrivalTimestamp)
	v := struct {
		EventSource                 string  `json:"eventSource"`
		EventVersion                string  `json:"eventVersion"`
		EventID                     string  `json:"eventID"`
		EventName                   string  `json:"eventName"`
		InvokeIdentityArn           string  `json:"invokeIdentityArn"`
		AWSRegion                   string  `json:"awsRegion"`
		EventSourceARN              string  `json:"eventSourceARN"`
		KinesisSchemaVersion        string  `json:"kinesisSchemaVersion"`
		PartitionKey                string  `json:"partitionKey"`
		SequenceNumber              string  `json:"sequenceNumber"`
		Data                        string  `json:"data"`
		ApproximateArrivalTimestamp float64 `json:"approximateArrivalTimestamp"`
	}{"aws:kinesis", "1.0", shard + ":" + seq, "aws:kinesis:record", k.run.p.RoleArn, k.region, k.run.p.Source,
		"1.0", aws.ToString(r.PartitionKey), seq, base64.StdEncoding.EncodeToString(r.Data), float64(arrival.UnixMilli()) / 1000}
	raw, _ := json.Marshal(v)
	return streamRecord{record: record{id: v.EventID, raw: raw, view: decodedView(raw, "data", r.Data), arrival: arrival}, seq: seq}
}
