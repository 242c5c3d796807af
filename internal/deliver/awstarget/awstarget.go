// Package awstarget delivers to AWS service targets through their real APIs
// with aws-sdk-go-v2, sending what EventBridge sends to each:
//
//	sqs       SendMessage: the input as the body; FIFO queues (".fifo") with
//	          SqsParameters.MessageGroupId and the event id as
//	          MessageDeduplicationId
//	sns       Publish: the input as the message; FIFO topics with
//	          SqsParameters.MessageGroupId (else the target id) and the event
//	          id as MessageDeduplicationId
//	lambda    Invoke with InvocationType Event (asynchronous): the input as
//	          the payload
//	kinesis   PutRecord: the input as the data; the partition key is the value
//	          at KinesisParameters.PartitionKeyPath in the event, else the
//	          event id
//	firehose  PutRecord: the input as the record, unchanged (no newline added)
//	states    StartExecution: the input as the execution input; the name is
//	          derived from the delivery task, so a retried start finds its
//	          execution instead of starting another
//	logs      PutLogEvents into the log group of the ARN, in a log stream
//	          named by the event id, created as needed; an input of the form
//	          {"timestamp": ..., "message": ...} sets both, otherwise the
//	          message is the input and the timestamp the event's time
//	ecs       RunTask on the cluster of the ARN from EcsParameters, the
//	          input (if the target shapes one) as the task's overrides,
//	          startedBy events-rule/<rule>
//	batch     SubmitJob to the job queue from BatchParameters, the input's
//	          Parameters and ContainerOverrides
//	ssm       SendCommand of the document (document/<name>) on the
//	          RunCommandParameters targets, StartAutomationExecution of a
//	          runbook (automation-definition/<name>:<version>); the shaped
//	          input as the document's parameters; CreateOpsItem for an
//	          OpsCenter target (opsitem) from the input template's members
//	redshift  ExecuteStatement (Sql) or BatchExecuteStatement (Sqls) of the
//	          RedshiftDataParameters on the cluster or Serverless workgroup
//	sagemaker StartPipelineExecution with the PipelineParameterList
//	codebuild StartBuild of the project, the input's members as StartBuild
//	          parameters
//	codepipeline StartPipelineExecution
//	inspector StartAssessmentRun of the assessment template
//	execute-api the API Gateway method's URL, HttpParameters applied, the
//	          input as the body, SigV4-signed as the role if it has one
//	appsync   the GraphQL operation of AppSyncParameters with the input as
//	          its variables, SigV4-signed (AWS_IAM) as the role
//	events target/create-snapshot, reboot-instance, stop-instance,
//	          terminate-instance: EC2 CreateSnapshot, RebootInstances,
//	          StopInstances, TerminateInstances of the id in the input
//
// Parameter values of Redshift, SageMaker and HttpParameters may be JSON
// paths into the event ("$.detail.x"), resolved at each invocation. Calls
// that start something (a task, an execution, a build, a statement) carry
// a client token derived from the delivery task, so that a retry after a
// lost answer starts nothing twice, where the API takes one.
//
// The call that delivers an event with an X-Ray trace header carries it as
// its X-Amzn-Trace-Id HTTP header, as EventBridge passes it to every target
// (see traced); SendMessage also sets it as the message's AWSTraceHeader
// system attribute, where SQS keeps it for the queue's consumers. An event
// without one is sent without: none is made up.
//
// It lives apart from package deliver so that the delivery core does not
// depend on the AWS SDK; the server registers Invokers with the deliverer.
//
// The region of each call is the one of the target's ARN; endpoints and
// credentials come from package awsclient (--aws-endpoint, else the SDK's
// configured endpoint: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the
// shared config file; the default credential chain). A target with
// a RoleArn is called as that role, assumed through STS, as EventBridge
// does (unless the factory ignores roles: --assume-target-roles=false).
//
// Failures are classified as AWS treats them: throttling, 5xx answers, and
// requests that got no answer are retried; a missing resource, a denied
// permission or a refused request are permanent. The AWS error code is the
// Error's Code.
package awstarget

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/tracing"
)

// callTimeout bounds one API call; a hung endpoint must not hold a delivery
// worker longer than a retry would cost.
const callTimeout = 10 * time.Second

// Invokers returns the invokers of the AWS service targets, keyed by the
// target kind they serve (see deliver.Kind).
func Invokers(f *awsclient.Factory) map[string]deliver.Invoker {
	redshift := newRedshift(f)
	return map[string]deliver.Invoker{
		"sqs":      newSQS(f),
		"sns":      newSNS(f),
		"lambda":   newLambda(f),
		"kinesis":  newKinesis(f),
		"firehose": newFirehose(f),
		"states":   newSFN(f),
		"logs":     newLogs(f),
		"ecs":      newECS(f),
		"batch":    newBatch(f),
		"ssm":      newSSM(f),
		// One Data API for clusters and Serverless workgroups.
		"redshift":            redshift,
		"redshift-serverless": redshift,
		"sagemaker":           newSageMaker(f),
		"codebuild":           newCodeBuild(f),
		"codepipeline":        newCodePipeline(f),
		"inspector":           newInspector(f),
		"execute-api":         newAPIGateway(f),
		"appsync":             newAppSync(f),
		// EventBridge's built-in targets, arn:aws:events:...:target/<name>
		// (deliver.Kind names them by their resource type, "target").
		"target": newEC2(f),
		// EventBridge Scheduler's universal targets (universal.go).
		UniversalKind: newUniversal(f),
	}
}

// clients caches one SDK client per region and role for one service: a
// client holds its connection pool and resolved credentials, so building
// one per call would cost a handshake and a credential lookup every time.
//
// build makes a client from cfg; it sets the client's BaseEndpoint to
// endpoint(the BaseEndpoint the SDK resolved), which is --aws-endpoint's
// URL for the service if it has one and the SDK's otherwise (see
// awsclient.Factory.BaseEndpoint): the SDK's configured endpoints
// (AWS_ENDPOINT_URL_<SERVICE>, the shared config's services section) must
// survive when the flag does not name the service.
type clients[C any] struct {
	f       *awsclient.Factory
	service string
	build   func(cfg aws.Config, endpoint func(resolved *string) *string) C
	mu      sync.Mutex
	m       map[clientKey]C
}

type clientKey struct{ region, role string }

func newClients[C any](f *awsclient.Factory, service string, build func(aws.Config, func(*string) *string) C) *clients[C] {
	return &clients[C]{f: f, service: service, build: build, m: map[clientKey]C{}}
}

// get returns the client for the target of inv in region: as the target's
// role if it has one.
func (c *clients[C]) get(ctx context.Context, region string, inv *deliver.Invocation) (C, error) {
	k := clientKey{region: region}
	if r := inv.Target.RoleArn; r != nil {
		k.role = *r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.m[k]; ok {
		return cl, nil
	}
	cfg, err := c.f.RoleConfig(ctx, k.region, k.role)
	if err != nil {
		var zero C
		return zero, deliver.Retryable("SDK_CLIENT_ERROR", err)
	}
	cl := c.build(cfg, func(resolved *string) *string { return c.f.BaseEndpoint(c.service, resolved) })
	c.m[k] = cl
	return cl, nil
}

// target is a parsed target ARN of the expected service.
func target(inv *deliver.Invocation, service string) (awsclient.ARN, error) {
	a, err := awsclient.ParseARN(inv.Target.Arn)
	if err == nil && a.Service != service {
		err = fmt.Errorf("not a %s ARN", service)
	}
	if err == nil && a.Region == "" {
		err = errors.New("the ARN has no region")
	}
	if err != nil {
		return a, deliver.Permanent("InvalidTarget", fmt.Errorf("target %s: %w", inv.Target.Arn, err))
	}
	return a, nil
}

// envelope holds the fields of the event some targets need besides the
// input.
type envelope struct {
	ID   string `json:"id"`
	Time string `json:"time"`
}

func eventOf(inv *deliver.Invocation) envelope {
	var e envelope
	_ = json.Unmarshal(inv.Event, &e)
	return e
}

// time is the event's time, or its ingestion time if it has none.
func (e envelope) time(inv *deliver.Invocation) time.Time {
	if t, err := time.Parse(time.RFC3339, e.Time); err == nil {
		return t
	}
	return inv.Ingested
}

// taskName is a stable name for the delivery task, shaped as a UUID: it
// fits the names AWS APIs accept (Step Functions executions: 80
// characters, no '|' or ':') while the task id, which holds the rule ARN,
// does not.
func taskName(inv *deliver.Invocation) string {
	id := inv.ID
	if id == "" {
		id = inv.RuleArn + "|" + inv.Target.Id + "|" + string(inv.Event)
	}
	h := sha256.Sum256([]byte(id))
	h[6] = h[6]&0x0f | 0x50 // version 5 layout: name-based
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// retryableCodes are error codes of throttling and passing unavailability
// that some services answer with a 4xx status; retrying them succeeds once
// the load passes.
var retryableCodes = map[string]bool{
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"ThrottledException":                     true,
	"RequestThrottled":                       true,
	"RequestThrottledException":              true,
	"TooManyRequestsException":               true,
	"ProvisionedThroughputExceededException": true,
	"TransactionInProgressException":         true,
	"RequestLimitExceeded":                   true,
	"LimitExceededException":                 true,
	"ExecutionLimitExceeded":                 true,
	"SlowDown":                               true,
	"EC2ThrottledException":                  true,
	"KMSThrottlingException":                 true,
	"KmsThrottled":                           true,
	"KMS.ThrottlingException":                true,
	"ServiceUnavailable":                     true,
	"ServiceUnavailableException":            true,
	"InternalFailure":                        true,
	"InternalError":                          true,
	"ResourceNotReadyException":              true,
	// Expired credentials are refreshed by the credential chain.
	"ExpiredToken":          true,
	"ExpiredTokenException": true,
	"RequestExpired":        true,
	"RequestTimeTooSkewed":  true,
}

// classify turns an SDK error into a deliver.Error: throttling, 5xx, 409
// and requests without an answer (network errors, timeouts, no
// credentials) are retryable; any other answer — the resource does not
// exist, access denied, a refused request — and a request the SDK refuses
// to send cannot succeed on retry, and AWS does not retry it. An error of
// the STS call that assumes a target's role counts as the target call's.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var de *deliver.Error
	if errors.As(err, &de) {
		return err
	}
	code := "SDK_CLIENT_ERROR"
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		code = ae.ErrorCode()
	}
	// A request the SDK refuses before sending it (a required parameter
	// missing) would be refused alike on every retry.
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return deliver.Permanent(code, err)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case status == 0, status == 409, status == 429, status >= 500, retryableCodes[code]:
		return deliver.Retryable(code, err)
	default:
		return deliver.Permanent(code, err)
	}
}

// classifyAccepted is classify for calls whose answer is not read: an
// answer of 2xx whose body the SDK could not decode (an AWS-compatible
// server's timestamps in another format, say) still says the service took
// the request, and the delivery is done; calling again would start a
// second task, build or statement.
func classifyAccepted(err error) error {
	var de *smithy.DeserializationError
	var re *awshttp.ResponseError
	if errors.As(err, &de) && errors.As(err, &re) && re.HTTPStatusCode() >= 200 && re.HTTPStatusCode() <= 299 {
		return nil
	}
	return classify(err)
}

// errorCode is the AWS error code of err, if it has one.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// traced returns the per-call options that send inv's trace header as the
// call's X-Amzn-Trace-Id header, none for an event without one. EventBridge
// passes the trace header to every target, which X-Ray-integrated services
// read from that HTTP header ("Amazon EventBridge integration with AWS
// X-Ray", EventBridge User Guide; "For X-Ray traces, all Amazon Web
// Services services use the X-Amzn-Trace-Id header from the HTTP request",
// Step Functions API Reference, StartExecution). apiOptions returns the
// service's Options.APIOptions, which the SDK copies for each call.
//
// The header is set in the Build step, after the SDK's recursion
// detection (which, in a Lambda function, adds the function's own trace
// id only when the request has none), and before signing, which leaves the
// header out of the signature.
func traced[O any](inv *deliver.Invocation, apiOptions func(*O) *[]func(*middleware.Stack) error) []func(*O) {
	if inv.Trace == "" {
		return nil
	}
	set := smithyhttp.SetHeaderValue(deliver.TraceHeader, inv.Trace)
	// The W3C form of the same trace, for what reads that (package
	// tracing); while tracing is on, otelaws sets both again, for the
	// span of the SDK call, child of the attempt's.
	setW3C := smithyhttp.SetHeaderValue(deliver.TraceparentHeader, tracing.Traceparent(inv.Trace))
	return []func(*O){func(o *O) {
		p := apiOptions(o)
		*p = append(*p, set, setW3C)
	}}
}

// withTimeout runs one API call under callTimeout.
func withTimeout(ctx context.Context, call func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return call(ctx)
}

// resourceName is the part of an ARN resource after its type prefix
// ("stream/name" → "name", "log-group:name:*" → "name").
func resourceName(resource, prefix string) (string, bool) {
	name, ok := strings.CutPrefix(resource, prefix)
	return name, ok && name != ""
}
