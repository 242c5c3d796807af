package pipes

import (
	"bytes"
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

	filter     *pattern.Matcher // nil: every record passes
	tmpl       *pipeTemplate
	enrichTmpl *pipeTemplate
	target     *control.Target
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
		err = fmt.Errorf("%s sources are not read by Switchyard yet", kind)
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
	if et := run.p.enrichmentParams().InputTemplate; et != nil {
		t, err := compileTemplate("EnrichmentParameters.InputTemplate", *et)
		if err != nil {
			return err
		}
		run.enrichTmpl = t
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

// syncReply asks a Lambda or Step Functions target for its answer — a
// synchronous call, whose failure fails the batch — when the target's
// InvocationType is REQUEST_RESPONSE: Lambda's default, Step Functions'
// choice (its default is FIRE_AND_FORGET) ("Amazon EventBridge Pipes
// targets", EventBridge User Guide). The answer itself is not used.
func (run *pipeRun) syncReply() *[]byte {
	tp := run.p.targetParams()
	sync := false
	switch deliver.Kind(run.p.Target) {
	case "lambda":
		sync = tp.LambdaFunctionParameters == nil || deref(tp.LambdaFunctionParameters.InvocationType) != "FIRE_AND_FORGET"
	case "states":
		sync = tp.StepFunctionStateMachineParameters != nil && deref(tp.StepFunctionStateMachineParameters.InvocationType) == "REQUEST_RESPONSE"
	}
	if !sync {
		return nil
	}
	return new([]byte)
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
func (run *pipeRun) call(ctx context.Context, target *control.Target, id string, event, input []byte, arrival time.Time, pol retryPolicy, reply *[]byte) error {
	delay := run.r.Backoff
	for attempt := 1; ; attempt++ {
		inv := &deliver.Invocation{Scope: run.p.Scope, RuleArn: run.p.Arn, RuleName: run.p.Name, Target: target,
			Event: event, Input: input, Ingested: arrival, Attempt: attempt, ID: id, Reply: reply}
		if run.literalKey != "" && target == run.target {
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

// deliverBatch sends the records that pass the filters through the
// enrichment, if any, to the target and reports, per record, whether it is
// done with (delivered or filtered out). Records of one batch go to a
// per-record target concurrently, up to parallel at once (1 keeps their
// order, and stops at the first record that fails).
func (run *pipeRun) deliverBatch(ctx context.Context, recs []record, pol retryPolicy, parallel int) ([]bool, []error) {
	done := make([]bool, len(recs))
	errs := make([]error, len(recs))
	var pass []int
	var passed []record
	for i := range recs {
		if run.matches(&recs[i]) {
			pass, passed = append(pass, i), append(passed, recs[i])
		} else {
			done[i] = true
		}
	}
	if len(pass) == 0 {
		return done, errs
	}
	if run.p.Enrichment == "" {
		d, e := run.deliverTarget(ctx, passed, pol, parallel)
		for n, i := range pass {
			done[i], errs[i] = d[n], e[n]
		}
		return done, errs
	}
	// Enriched, the batch succeeds or fails as a whole: what the
	// enrichment returns need not match the records one to one.
	enriched, err := run.enrich(ctx, passed, pol)
	if err == nil {
		d, e := run.deliverTarget(ctx, enriched, pol, parallel)
		for n := range d {
			if !d[n] {
				err = e[n]
				if err == nil {
					err = ctx.Err()
				}
				break
			}
		}
	}
	for _, i := range pass {
		done[i], errs[i] = err == nil, err
	}
	return done, errs
}

// deliverTarget sends recs to the target.
func (run *pipeRun) deliverTarget(ctx context.Context, recs []record, pol retryPolicy, parallel int) ([]bool, []error) {
	done := make([]bool, len(recs))
	errs := make([]error, len(recs))
	if len(recs) == 0 {
		return done, errs
	}
	if run.batchTarget() {
		arr, view := []byte{'['}, []byte{'['}
		for i := range recs {
			in, err := run.input(&recs[i])
			if err != nil {
				for j := range errs {
					errs[j] = err
				}
				return done, errs
			}
			if i > 0 {
				arr, view = append(arr, ','), append(view, ',')
			}
			arr, view = append(arr, in...), append(view, recs[i].view...)
		}
		arr, view = append(arr, ']'), append(view, ']')
		err := run.call(ctx, run.target, recs[0].id, view, arr, recs[0].arrival, pol, run.syncReply())
		for i := range recs {
			done[i], errs[i] = err == nil, err
		}
		return done, errs
	}
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range recs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			in, err := run.input(&recs[i])
			if err == nil {
				err = run.call(ctx, run.target, recs[i].id, recs[i].view, in, recs[i].arrival, pol, nil)
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

// enrich calls the pipe's enrichment with the records — a Lambda function
// or Step Functions state machine with the batch as one JSON array, an
// API destination or API Gateway once per record — each shaped by
// EnrichmentParameters' InputTemplate, and returns what it answered as
// the records for the target: the elements of a JSON array answer, or the
// answer itself; an empty answer drops the records ("Event enrichment in
// Amazon EventBridge Pipes", EventBridge User Guide).
func (run *pipeRun) enrich(ctx context.Context, recs []record, pol retryPolicy) ([]record, error) {
	ep := run.p.enrichmentParams()
	t := &control.Target{Id: "enrichment", Arn: run.p.Enrichment, RoleArn: run.target.RoleArn}
	if h := ep.HttpParameters; h != nil {
		t.HttpParameters = &control.HttpParameters{PathParameterValues: h.PathParameterValues,
			HeaderParameters: h.HeaderParameters, QueryStringParameters: h.QueryStringParameters}
	}
	inputOf := func(r *record) ([]byte, error) {
		if run.enrichTmpl == nil {
			return r.raw, nil
		}
		out, err := run.enrichTmpl.apply(r.view, run.p, r.arrival)
		if err != nil {
			return nil, deliver.Permanent("InvalidInput", fmt.Errorf("enrichment input template: %w", err))
		}
		return out, nil
	}
	var out []record
	answer := func(base *record, reply []byte) {
		reply = bytes.TrimSpace(reply)
		if len(reply) == 0 {
			return
		}
		var elems []json.RawMessage
		if reply[0] == '[' && json.Unmarshal(reply, &elems) == nil {
			for _, e := range elems {
				out = append(out, record{id: base.id, raw: e, view: e, arrival: base.arrival})
			}
			return
		}
		if !json.Valid(reply) {
			reply = appendString(nil, string(reply))
		}
		out = append(out, record{id: base.id, raw: reply, view: reply, arrival: base.arrival})
	}
	k := deliver.Kind(run.p.Enrichment)
	if k == "lambda" || k == "states" {
		arr, view := []byte{'['}, []byte{'['}
		for i := range recs {
			in, err := inputOf(&recs[i])
			if err != nil {
				return nil, err
			}
			if i > 0 {
				arr, view = append(arr, ','), append(view, ',')
			}
			arr, view = append(arr, in...), append(view, recs[i].view...)
		}
		arr, view = append(arr, ']'), append(view, ']')
		var reply []byte
		if err := run.call(ctx, t, recs[0].id, view, arr, recs[0].arrival, pol, &reply); err != nil {
			return nil, err
		}
		answer(&recs[0], reply)
		return out, nil
	}
	for i := range recs {
		in, err := inputOf(&recs[i])
		if err != nil {
			return nil, err
		}
		var reply []byte
		if err := run.call(ctx, t, recs[i].id, recs[i].view, in, recs[i].arrival, pol, &reply); err != nil {
			return nil, err
		}
		answer(&recs[i], reply)
	}
	return out, nil
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
