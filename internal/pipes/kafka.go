package pipes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// pollKafka reads a topic of a self-managed Apache Kafka cluster
// (smk://host:port, with AdditionalBootstrapServers) with franz-go. The
// pipe assigns itself every partition of the topic, and keeps each
// partition's next offset as a checkpoint in the pipes bucket, not in a
// consumer group: like the stream sources, a pipe resumes after its last
// delivered record wherever it runs next, and one pipe's position does not
// move another consumer's. A pipe starting at LATEST records the end
// offsets first, so records produced while it is down are still read.
func (run *pipeRun) pollKafka(ctx context.Context) error {
	kp := run.p.sourceParams().SelfManagedKafkaParameters
	if kp == nil {
		return errors.New("the pipe has no SelfManagedKafkaParameters")
	}
	brokers := append([]string{strings.TrimPrefix(run.p.Source, "smk://")}, kp.AdditionalBootstrapServers...)
	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DialTimeout(5*time.Second))
	if err != nil {
		return err
	}
	defer admin.Close()
	var offsets map[int32]int64
	for {
		offsets, err = run.kafkaStart(ctx, admin, kp)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		run.pl.setStatus(false, fmt.Sprintf("The Kafka topic %s at %s cannot be read: %v", kp.TopicName, run.p.Source, err))
		run.r.poke()
		if !sleep(ctx, 2*time.Second) {
			return nil
		}
	}
	run.pl.setStatus(true, "")
	run.r.poke()
	for ctx.Err() == nil {
		if err := run.consumeKafka(ctx, brokers, kp, offsets); err != nil && ctx.Err() == nil {
			run.log.Warn("pipes: reading the Kafka topic failed; reading it again", "topic", kp.TopicName, "err", err)
			sleep(ctx, 2*time.Second)
			// Start again from the checkpoints.
			if o, err := run.kafkaStart(ctx, admin, kp); err == nil {
				offsets = o
			}
		}
	}
	return nil
}

func kafkaShard(topic string, p int32) string { return "kafka-" + topic + "-" + strconv.Itoa(int(p)) }

// kafkaStart finds the topic's partitions and where to read each from.
func (run *pipeRun) kafkaStart(ctx context.Context, cl *kgo.Client, kp *kafkaParams) (map[int32]int64, error) {
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(kp.TopicName)
	mreq.Topics = append(mreq.Topics, mt)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	mresp, err := mreq.RequestWith(cctx, cl)
	if err != nil {
		return nil, err
	}
	if len(mresp.Topics) != 1 {
		return nil, errors.New("no metadata for the topic")
	}
	if err := kerr.ErrorForCode(mresp.Topics[0].ErrorCode); err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	var missing []int32
	for _, p := range mresp.Topics[0].Partitions {
		pos, err := run.r.checkpoint(ctx, run.p.Generation, kafkaShard(kp.TopicName, p.Partition))
		if err != nil {
			return nil, err
		}
		if off, ok := strings.CutPrefix(pos, "off:"); ok {
			n, _ := strconv.ParseInt(off, 10, 64)
			out[p.Partition] = n
			continue
		}
		missing = append(missing, p.Partition)
	}
	if len(missing) == 0 {
		return out, nil
	}
	// -2 is the earliest offset, -1 the latest (ListOffsets).
	at := int64(-2)
	if kp.StartingPosition != nil && *kp.StartingPosition == "LATEST" {
		at = -1
	}
	lreq := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = kp.TopicName
	for _, p := range missing {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp = p, at
		lt.Partitions = append(lt.Partitions, lp)
	}
	lreq.Topics = append(lreq.Topics, lt)
	lresp, err := lreq.RequestWith(cctx, cl)
	if err != nil {
		return nil, err
	}
	for _, t := range lresp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, err
			}
			out[p.Partition] = p.Offset
			if err := run.r.saveCheckpoint(ctx, run.p.Generation, kafkaShard(kp.TopicName, p.Partition), "off:"+strconv.FormatInt(p.Offset, 10)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// consumeKafka reads from offsets until ctx ends or a read fails.
func (run *pipeRun) consumeKafka(ctx context.Context, brokers []string, kp *kafkaParams, offsets map[int32]int64) error {
	parts := map[int32]kgo.Offset{}
	for p, o := range offsets {
		parts[p] = kgo.NewOffset().At(o)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DialTimeout(5*time.Second),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{kp.TopicName: parts}))
	if err != nil {
		return err
	}
	defer cl.Close()
	batchSize := 100
	if kp.BatchSize != nil {
		batchSize = *kp.BatchSize
	}
	var window time.Duration
	if kp.MaximumBatchingWindowInSeconds != nil {
		window = time.Duration(*kp.MaximumBatchingWindowInSeconds) * time.Second
	}
	servers := strings.Join(brokers, ",")
	for ctx.Err() == nil {
		var recs []*kgo.Record
		deadline := time.Now().Add(window)
		for len(recs) < batchSize {
			pctx, cancel := context.WithTimeout(ctx, max(time.Until(deadline), time.Second))
			f := cl.PollRecords(pctx, batchSize-len(recs))
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			for _, fe := range f.Errors() {
				if !errors.Is(fe.Err, context.DeadlineExceeded) && !errors.Is(fe.Err, context.Canceled) {
					return fe.Err
				}
			}
			recs = append(recs, f.Records()...)
			if len(recs) > 0 && (window == 0 || !time.Now().Before(deadline)) {
				break
			}
		}
		// In order within each partition; the partitions one after the
		// other.
		byPart := map[int32][]*kgo.Record{}
		var order []int32
		for _, r := range recs {
			if _, seen := byPart[r.Partition]; !seen {
				order = append(order, r.Partition)
			}
			byPart[r.Partition] = append(byPart[r.Partition], r)
		}
		for _, p := range order {
			if err := run.deliverKafka(ctx, servers, kp.TopicName, p, byPart[p]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (run *pipeRun) deliverKafka(ctx context.Context, servers, topic string, part int32, krecs []*kgo.Record) error {
	recs := make([]record, len(krecs))
	for i, r := range krecs {
		recs[i] = kafkaRecord(servers, r)
	}
	for len(recs) > 0 {
		done, errs := run.deliverBatch(ctx, recs, retryPolicy{attempts: -1}, 1)
		n := 0
		for n < len(done) && done[n] {
			n++
		}
		if n > 0 {
			if err := run.r.saveCheckpoint(context.WithoutCancel(ctx), run.p.Generation, kafkaShard(topic, part),
				"off:"+strconv.FormatInt(krecs[n-1].Offset+1, 10)); err != nil {
				return err
			}
		}
		if n == len(recs) || ctx.Err() != nil {
			return nil
		}
		// A record the target refuses for good: Kafka sources have no
		// dead-letter queue; it is logged and passed.
		run.log.Warn("pipes: Kafka record given up", "topic", topic, "partition", part, "offset", krecs[n].Offset, "err", errs[n])
		if err := run.r.saveCheckpoint(context.WithoutCancel(ctx), run.p.Generation, kafkaShard(topic, part),
			"off:"+strconv.FormatInt(krecs[n].Offset+1, 10)); err != nil {
			return err
		}
		recs, krecs = recs[n+1:], krecs[n+1:]
	}
	return nil
}

// kafkaRecord is a Kafka record as Pipes hands it on ("Apache Kafka
// streams as a source", EventBridge User Guide): eventSource
// "SelfManagedKafka", bootstrapServers, eventSourceKey "<topic>-<partition>",
// topic, partition, offset, timestamp (ms), timestampType, key and value in
// base64, and the headers as byte arrays.
func kafkaRecord(servers string, r *kgo.Record) record {
	headers := make([]map[string][]int, 0, len(r.Headers))
	for _, h := range r.Headers {
		b := make([]int, len(h.Value))
		for i, c := range h.Value {
			b[i] = int(c)
		}
		headers = append(headers, map[string][]int{h.Key: b})
	}
	tsType := "CREATE_TIME"
	if r.Attrs.TimestampType() == 1 {
		tsType = "LOG_APPEND_TIME"
	}
	v := map[string]any{
		"eventSource": "SelfManagedKafka", "bootstrapServers": servers,
		"eventSourceKey": r.Topic + "-" + strconv.Itoa(int(r.Partition)), "topic": r.Topic, "partition": r.Partition,
		"offset": r.Offset, "timestamp": r.Timestamp.UnixMilli(), "timestampType": tsType,
		"value": base64.StdEncoding.EncodeToString(r.Value), "headers": headers,
	}
	if r.Key != nil {
		v["key"] = base64.StdEncoding.EncodeToString(r.Key)
	}
	raw, _ := json.Marshal(v)
	id := fmt.Sprintf("%s-%d-%d", r.Topic, r.Partition, r.Offset)
	return record{id: id, raw: raw, view: decodedView(raw, "value", r.Value), arrival: r.Timestamp}
}
