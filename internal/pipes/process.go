package pipes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/pattern"
)

// record is one source record on its way through a pipe.
type record struct {
	id string
	// raw is the record as the pipe's target receives it, in the shape
	// AWS documents for its source (SQS: messageId, body, attributes,
	// ...; Kinesis: partitionKey, sequenceNumber, data, ...).
	raw []byte
	// view is raw with its payload (SQS body, Kinesis data, Kafka value)
	// decoded when it is JSON: filters and templates see the payload as
	// JSON, as Pipes does ("Event filtering in Amazon EventBridge Pipes").
	view    []byte
	arrival time.Time
}

// pipeRun is one version of one pipe, running in this process.
type pipeRun struct {
	r   *Runner
	p   *Pipe
	pl  *poller
	log *slog.Logger

	filter *pattern.Matcher // nil: every record passes
	tmpl   *pipeTemplate
	target *control.Target
	// literalKey is a Kinesis target's PartitionKey when it is a value,
	// not a path.
	literalKey string
}

func (run *pipeRun) run(ctx context.Context) {
	if err := run.prepare(); err != nil {
		run.pl.setStatus(false, err.Error())
		run.r.poke()
		<-ctx.Done()
		return
	}
	kind, _ := sourceKind(run.p.Source)
	var err error
	switch kind {
	case kindSQS:
		err = run.pollSQS(ctx)
	case kindKinesis:
		rd, rerr := newKinesisReader(ctx, run)
		err = run.pollStream(ctx, rd, rerr)
	case kindKafka:
		err = run.pollKafka(ctx)
	case kindDynamoDB:
		rd, rerr := newDynamoDBReader(ctx, run)
		err = run.pollStream(ctx, rd, rerr)
	default:
		err = fmt.Errorf("Switchyard does not read %s sources", kind)
	}
	if err != nil && ctx.Err() == nil {
		run.pl.setStatus(false, err.Error())
		run.r.poke()
		<-ctx.Done()
	}
}

func (run *pipeRun) prepare() error {
	sp := run.p.sourceParams()
	if fc := sp.FilterCriteria; fc != nil && len(fc.Filters) > 0 {
		m := pattern.NewMatcher()
		for i, f := range fc.Filters {
			if f.Pattern == nil {
				continue
			}
			pat, err := pattern.Parse([]byte(*f.Pattern))
			if err != nil {
				return fmt.Errorf("filter %d: %w", i, err)
			}
			if err := m.Add(fmt.Sprint(i), pat); err != nil {
				return fmt.Errorf("filter %d: %w", i, err)
			}
		}
		run.filter = m
	}
	tp := run.p.targetParams()
	if tp.InputTemplate != nil {
		t, err := compileTemplate("TargetParameters.InputTemplate", *tp.InputTemplate)
		if err != nil {
			return err
		}
		run.tmpl = t
	}
	t := &control.Target{Id: "pipe", Arn: run.p.Target}
	if run.p.RoleArn != "" {
		role := run.p.RoleArn
		t.RoleArn = &role
	}
	if h := tp.HttpParameters; h != nil {
		t.HttpParameters = &control.HttpParameters{PathParameterValues: h.PathParameterValues,
			HeaderParameters: h.HeaderParameters, QueryStringParameters: h.QueryStringParameters}
	}
	if q := tp.SqsQueueParameters; q != nil && q.MessageGroupId != nil {
		t.SqsParameters = &control.SqsParameters{MessageGroupId: q.MessageGroupId}
	}
	if k := tp.KinesisStreamParameters; k != nil {
		path := k.PartitionKey
		if !strings.HasPrefix(path, "$") {
			path, run.literalKey = "$.partitionKey", k.PartitionKey
		}
		t.KinesisParameters = &control.KinesisParameters{PartitionKeyPath: &path}
	}
	run.target = t
	return nil
}

// matches reports whether the record passes the pipe's filters.
func (run *pipeRun) matches(rec *record) bool {
	if run.filter == nil {
		return true
	}
	ids, err := run.filter.Match(rec.view)
	return err == nil && len(ids) > 0
}

// batchTarget reports whether the target takes a batch as one JSON array
// (Lambda, Step Functions), as Pipes invokes them; other targets get one
// call per record.
func (run *pipeRun) batchTarget() bool {
	k := deliver.Kind(run.p.Target)
	return k == "lambda" || k == "states"
}

// input is what the target receives for rec.
func (run *pipeRun) input(rec *record) ([]byte, error) {
	in := rec.raw
	if run.tmpl != nil {
		out, err := run.tmpl.apply(rec.view, run.p, rec.arrival)
		if err != nil {
			return nil, deliver.Permanent("InvalidInput", fmt.Errorf("input template: %w", err))
		}
		in = out
	}
	if deliver.Kind(run.p.Target) == "event-bus" {
		in = run.busEvent(rec, in)
	}
	return in, nil
}

// busEvent wraps a record as the event an event-bus target receives: the
// record is its detail; the source is "Pipe <name>" and the detail-type
// "Event from <source kind>" unless EventBridgeEventBusParameters say
// otherwise.
func (run *pipeRun) busEvent(rec *record, detail []byte) []byte {
	var src struct {
		EventSource string `json:"eventSource"`
	}
	_ = json.Unmarshal(rec.raw, &src)
	ev := map[string]any{
		"version": "0", "id": uuid.NewString(), "detail-type": "Event from " + src.EventSource,
		"source": "Pipe " + run.p.Name, "account": run.p.Scope.Account, "region": run.p.Scope.Region,
		"time": time.Now().UTC().Format(time.RFC3339), "resources": []string{run.p.Arn},
	}
	if bp := run.p.targetParams().EventBridgeEventBusParameters; bp != nil {
		if bp.DetailType != nil {
			ev["detail-type"] = *bp.DetailType
		}
		if bp.Source != nil {
			ev["source"] = *bp.Source
		}
		if bp.Resources != nil {
			ev["resources"] = bp.Resources
		}
	}
	if json.Valid(detail) && len(detail) > 0 && detail[0] == '{' {
		ev["detail"] = json.RawMessage(detail)
	} else {
		ev["detail"] = map[string]string{"value": string(detail)}
	}
	data, _ := json.Marshal(ev)
	return data
}

// retryPolicy bounds the calls of one record (or batch) to the target.
type retryPolicy struct {
	attempts int           // most calls; < 0 is unbounded
	maxAge   time.Duration // 0 is unbounded
}

// call invokes the target with input, retrying retryable failures with
// backoff within policy. It returns the last error.
func (run *pipeRun) call(ctx context.Context, id string, event, input []byte, arrival time.Time, pol retryPolicy) error {
	delay := run.r.Backoff
	for attempt := 1; ; attempt++ {
		inv := &deliver.Invocation{Scope: run.p.Scope, RuleArn: run.p.Arn, RuleName: run.p.Name, Target: run.target,
			Event: event, Input: input, Ingested: arrival, Attempt: attempt, ID: id}
		if run.literalKey != "" {
			// A literal partition key, through the path the Kinesis
			// invoker reads (see prepare).
			inv.Event = fmt.Appendf(nil, `{"partitionKey":%s}`, appendString(nil, run.literalKey))
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := run.r.Invoke.Invoke(cctx, inv)
		cancel()
		if err == nil {
			return nil
		}
		var de *deliver.Error
		permanent := errors.As(err, &de) && de.Permanent
		if permanent || ctx.Err() != nil || (pol.attempts >= 0 && attempt >= pol.attempts) ||
			(pol.maxAge > 0 && time.Since(arrival)+delay > pol.maxAge) {
			return err
		}
		run.log.Debug("pipes: target call failed; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 64*run.r.Backoff)
	}
}

// callTimeout bounds one call of a target: a hanging target costs the
// pipe this long per attempt, then the attempt fails and is retried.
const callTimeout = 30 * time.Second

// deliverBatch sends the records that pass the filters to the target and
// reports, per record, whether it is done with (delivered or filtered
// out). Records of one batch go to a per-record target concurrently, up
// to parallel at once (1 keeps their order).
func (run *pipeRun) deliverBatch(ctx context.Context, recs []record, pol retryPolicy, parallel int) ([]bool, []error) {
	done := make([]bool, len(recs))
	errs := make([]error, len(recs))
	var pass []int
	for i := range recs {
		if run.matches(&recs[i]) {
			pass = append(pass, i)
		} else {
			done[i] = true
		}
	}
	if len(pass) == 0 {
		return done, errs
	}
	if run.batchTarget() {
		arr := []byte{'['}
		view := []byte{'['}
		for n, i := range pass {
			in, err := run.input(&recs[i])
			if err != nil {
				errs[i] = err
				continue
			}
			if n > 0 {
				arr, view = append(arr, ','), append(view, ',')
			}
			arr, view = append(arr, in...), append(view, recs[i].view...)
		}
		arr, view = append(arr, ']'), append(view, ']')
		err := run.call(ctx, recs[pass[0]].id, view, arr, recs[pass[0]].arrival, pol)
		for _, i := range pass {
			if errs[i] == nil {
				done[i], errs[i] = err == nil, err
			}
		}
		return done, errs
	}
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for _, i := range pass {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			in, err := run.input(&recs[i])
			if err == nil {
				err = run.call(ctx, recs[i].id, recs[i].view, in, recs[i].arrival, pol)
			}
			done[i], errs[i] = err == nil, err
		}()
		if parallel <= 1 {
			wg.Wait()
			if !done[i] {
				// In order: what follows a failed record waits for it.
				break
			}
		}
	}
	wg.Wait()
	return done, errs
}

// decodedView returns raw with the member name's string value replaced by
// the JSON it holds, if it holds JSON.
func decodedView(raw []byte, name string, payload []byte) []byte {
	if !json.Valid(payload) {
		return raw
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	m[name] = json.RawMessage(payload)
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// awsConfig is the SDK configuration of calls to the source in region,
// made as the pipe's role.
func (run *pipeRun) awsConfig(ctx context.Context, region string) (aws.Config, error) {
	return run.r.AWS.RoleConfig(ctx, region, run.p.RoleArn)
}

// sourceARN parses the pipe's source ARN.
func (run *pipeRun) sourceARN() (awsclient.ARN, error) {
	return awsclient.ParseARN(run.p.Source)
}
