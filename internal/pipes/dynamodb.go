package pipes

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// dynamoDBReader reads a DynamoDB stream. DynamoDB Streams has no
// AT_TIMESTAMP iterator, so a pipe pinned to the time it started at LATEST
// reads from TRIM_HORIZON (24 hours of records) and skips what was
// written before that time.
type dynamoDBReader struct {
	run    *pipeRun
	cl     *dynamodbstreams.Client
	region string

	mu    sync.Mutex
	since map[string]time.Time // per shard, records before are skipped
}

func newDynamoDBReader(ctx context.Context, run *pipeRun) (*dynamoDBReader, error) {
	a, err := run.sourceARN()
	if err != nil {
		return nil, err
	}
	cfg, err := run.awsConfig(ctx, a.Region)
	if err != nil {
		return nil, err
	}
	cl := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		// --aws-endpoint names DynamoDB Streams by its ARN service,
		// "dynamodb", or its own.
		o.BaseEndpoint = run.r.AWS.BaseEndpoint("dynamodb", run.r.AWS.BaseEndpoint("streams.dynamodb", o.BaseEndpoint))
	})
	return &dynamoDBReader{run: run, cl: cl, region: a.Region, since: map[string]time.Time{}}, nil
}

func (d *dynamoDBReader) batchInfo() (string, string) { return "DDBStreamBatchInfo", "streamArn" }

func (d *dynamoDBReader) shards(ctx context.Context) ([]string, error) {
	var out []string
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(d.run.p.Source)}
	for {
		page, err := d.cl.DescribeStream(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, s := range page.StreamDescription.Shards {
			out = append(out, aws.ToString(s.ShardId))
		}
		last := page.StreamDescription.LastEvaluatedShardId
		if last == nil {
			return out, nil
		}
		in = &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(d.run.p.Source), ExclusiveStartShardId: last}
	}
}

func (d *dynamoDBReader) iterator(ctx context.Context, shard, seq string, ts time.Time, start string) (string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(d.run.p.Source), ShardId: aws.String(shard)}
	switch {
	case seq != "":
		in.ShardIteratorType, in.SequenceNumber = dtypes.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	case !ts.IsZero():
		in.ShardIteratorType = dtypes.ShardIteratorTypeTrimHorizon
		d.mu.Lock()
		d.since[shard] = ts
		d.mu.Unlock()
	default:
		in.ShardIteratorType = dtypes.ShardIteratorType(start)
	}
	out, err := d.cl.GetShardIterator(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ShardIterator), nil
}

func (d *dynamoDBReader) records(ctx context.Context, shard, it string, limit int) ([]streamRecord, string, error) {
	out, err := d.cl.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(int32(min(limit, 1000)))})
	if err != nil {
		return nil, "", err
	}
	d.mu.Lock()
	since := d.since[shard]
	d.mu.Unlock()
	recs := make([]streamRecord, 0, len(out.Records))
	for _, r := range out.Records {
		rec := d.record(r)
		// Creation times are to the second: a record of the start's
		// second is kept (at least once rather than lost).
		if !since.IsZero() && rec.arrival.Before(since.Truncate(time.Second)) {
			continue
		}
		recs = append(recs, rec)
	}
	return recs, aws.ToString(out.NextShardIterator), nil
}

// record is a stream record as Pipes hands it on ("Amazon DynamoDB stream
// as a source", EventBridge User Guide): eventID, eventName (INSERT,
// MODIFY, REMOVE), eventVersion, eventSource "aws:dynamodb", awsRegion,
// eventSourceARN and the dynamodb member with the images in DynamoDB's
// JSON.
func (d *dynamoDBReader) record(r dtypes.Record) streamRecord {
	sr := r.Dynamodb
	if sr == nil {
		sr = &dtypes.StreamRecord{}
	}
	created := aws.ToTime(sr.ApproximateCreationDateTime)
	dyn := map[string]any{
		"ApproximateCreationDateTime": created.Unix(),
		"Keys":                        attrMap(sr.Keys),
		"SequenceNumber":              aws.ToString(sr.SequenceNumber),
		"SizeBytes":                   aws.ToInt64(sr.SizeBytes),
		"StreamViewType":              string(sr.StreamViewType),
	}
	if sr.NewImage != nil {
		dyn["NewImage"] = attrMap(sr.NewImage)
	}
	if sr.OldImage != nil {
		dyn["OldImage"] = attrMap(sr.OldImage)
	}
	v := map[string]any{
		"eventID": aws.ToString(r.EventID), "eventName": string(r.EventName), "eventVersion": aws.ToString(r.EventVersion),
		"eventSource": "aws:dynamodb", "awsRegion": d.region, "dynamodb": dyn, "eventSourceARN": d.run.p.Source,
	}
	raw, _ := json.Marshal(v)
	return streamRecord{record: record{id: aws.ToString(r.EventID), raw: raw, view: raw, arrival: created}, seq: aws.ToString(sr.SequenceNumber)}
}

func attrMap(m map[string]dtypes.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = attrJSON(v)
	}
	return out
}

// attrJSON is an attribute value in DynamoDB's JSON ({"S": "x"}, ...).
func attrJSON(v dtypes.AttributeValue) any {
	switch a := v.(type) {
	case *dtypes.AttributeValueMemberS:
		return map[string]any{"S": a.Value}
	case *dtypes.AttributeValueMemberN:
		return map[string]any{"N": a.Value}
	case *dtypes.AttributeValueMemberB:
		return map[string]any{"B": a.Value}
	case *dtypes.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": a.Value}
	case *dtypes.AttributeValueMemberNULL:
		return map[string]any{"NULL": a.Value}
	case *dtypes.AttributeValueMemberSS:
		return map[string]any{"SS": a.Value}
	case *dtypes.AttributeValueMemberNS:
		return map[string]any{"NS": a.Value}
	case *dtypes.AttributeValueMemberBS:
		return map[string]any{"BS": a.Value}
	case *dtypes.AttributeValueMemberL:
		l := make([]any, len(a.Value))
		for i, e := range a.Value {
			l[i] = attrJSON(e)
		}
		return map[string]any{"L": l}
	case *dtypes.AttributeValueMemberM:
		return map[string]any{"M": attrMap(a.Value)}
	}
	return map[string]any{"NULL": true}
}
