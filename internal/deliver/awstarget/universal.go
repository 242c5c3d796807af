package awstarget

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

// UniversalKind is the deliver.Kind of EventBridge Scheduler's universal
// targets, arn:aws:scheduler:::aws-sdk:<service>:<apiAction>: any API
// action of a service, called with the schedule's Input as its request
// ("Using universal targets", EventBridge Scheduler User Guide,
// https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html).
const UniversalKind = "scheduler"

// universalPrefix starts every universal target ARN.
const universalPrefix = "arn:aws:scheduler:::aws-sdk:"

// proto is the wire protocol of a service's API.
type proto int

const (
	awsJSON  proto = iota // AWS JSON 1.0 / 1.1: POST /, X-Amz-Target, JSON body
	awsQuery              // AWS query: POST /, form-encoded Action, Version and members
)

// universalService is what calling a service's API needs.
type universalService struct {
	arnService string // the ARN service name, which --aws-endpoint keys
	signing    string // the SigV4 signing name
	host       string // the endpoint prefix: <host>.<region>.amazonaws.com
	proto      proto
	jsonVer    string // awsJSON: "1.0" or "1.1"
	target     string // awsJSON: the X-Amz-Target prefix
	version    string // awsQuery: the API version
}

// universalServices are the services universal targets can call: those of
// the AWS JSON protocols (and SNS's query protocol) among the targets
// Switchyard serves. The REST protocols (Lambda, S3, API Gateway, ...),
// whose requests put members in the path and headers according to each
// operation's model, are not supported, nor any service not listed here:
// CreateSchedule refuses them with a ValidationException naming the
// supported services. Keys are the service names of the ARN; some services
// are known by two (sfn and states).
var universalServices = map[string]universalService{
	"sqs":            {arnService: "sqs", signing: "sqs", host: "sqs", proto: awsJSON, jsonVer: "1.0", target: "AmazonSQS"},
	"dynamodb":       {arnService: "dynamodb", signing: "dynamodb", host: "dynamodb", proto: awsJSON, jsonVer: "1.0", target: "DynamoDB_20120810"},
	"kinesis":        {arnService: "kinesis", signing: "kinesis", host: "kinesis", proto: awsJSON, jsonVer: "1.1", target: "Kinesis_20131202"},
	"firehose":       {arnService: "firehose", signing: "firehose", host: "firehose", proto: awsJSON, jsonVer: "1.1", target: "Firehose_20150804"},
	"sfn":            {arnService: "states", signing: "states", host: "states", proto: awsJSON, jsonVer: "1.0", target: "AWSStepFunctions"},
	"states":         {arnService: "states", signing: "states", host: "states", proto: awsJSON, jsonVer: "1.0", target: "AWSStepFunctions"},
	"cloudwatchlogs": {arnService: "logs", signing: "logs", host: "logs", proto: awsJSON, jsonVer: "1.1", target: "Logs_20140328"},
	"logs":           {arnService: "logs", signing: "logs", host: "logs", proto: awsJSON, jsonVer: "1.1", target: "Logs_20140328"},
	"eventbridge":    {arnService: "events", signing: "events", host: "events", proto: awsJSON, jsonVer: "1.1", target: "AWSEvents"},
	"events":         {arnService: "events", signing: "events", host: "events", proto: awsJSON, jsonVer: "1.1", target: "AWSEvents"},
	"ssm":            {arnService: "ssm", signing: "ssm", host: "ssm", proto: awsJSON, jsonVer: "1.1", target: "AmazonSSM"},
	"ecs":            {arnService: "ecs", signing: "ecs", host: "ecs", proto: awsJSON, jsonVer: "1.1", target: "AmazonEC2ContainerServiceV20141113"},
	"sns":            {arnService: "sns", signing: "sns", host: "sns", proto: awsQuery, version: "2010-03-31"},
}

// readOnlyPrefixes start the names of the actions universal targets do not
// call: AWS lists read-only actions (those beginning with Get, List,
// Describe, ...) as unsupported ("Unsupported actions", ibid.).
var readOnlyPrefixes = []string{"Get", "List", "Describe", "Poll", "Receive", "Search", "Scan", "Query", "Select",
	"Read", "Lookup", "Discover", "Validate", "Batch", "Fetch", "Download", "Retrieve", "Detect", "Head", "Check", "Export"}

var actionName = regexp.MustCompile(`^[a-z][a-zA-Z0-9]{0,127}$`)

// ParseUniversal splits a universal target ARN into its service and its
// action (with a capital first letter, as the API names it). It reports
// whether arn is a universal target ARN at all (ok), and err when it is
// one Switchyard cannot call; err's text is the ValidationException
// message CreateSchedule answers with.
func ParseUniversal(arn string) (service, action string, ok bool, err error) {
	rest, found := strings.CutPrefix(arn, universalPrefix)
	if !found {
		return "", "", false, nil
	}
	service, action, found = strings.Cut(rest, ":")
	if !found || service == "" || !actionName.MatchString(action) {
		return "", "", true, universalError(fmt.Sprintf("Invalid universal target ARN %s: it must be arn:aws:scheduler:::aws-sdk:<service>:<apiAction>, with the action in camelCase.", arn))
	}
	if _, known := universalServices[service]; !known {
		names := make([]string, 0, len(universalServices))
		for k := range universalServices {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", "", true, universalError(fmt.Sprintf("Universal target service %s is not supported by this server; supported services: %s.", service, strings.Join(names, ", ")))
	}
	action = strings.ToUpper(action[:1]) + action[1:]
	for _, p := range readOnlyPrefixes {
		if strings.HasPrefix(action, p) && (len(action) == len(p) || action[len(p)] >= 'A' && action[len(p)] <= 'Z') {
			return "", "", true, universalError(fmt.Sprintf("Universal target action %s is not supported: read-only actions (%s...) cannot be scheduled.", action, p))
		}
	}
	return service, action, true, nil
}

// universalError is a universal target ARN Switchyard cannot call; its
// text is the sentence CreateSchedule answers with.
type universalError string

func (e universalError) Error() string { return string(e) }

// universalInvoker calls a universal target's action.
type universalInvoker struct {
	f      *awsclient.Factory
	client *http.Client
}

func newUniversal(f *awsclient.Factory) *universalInvoker {
	return &universalInvoker{f: f, client: &http.Client{Timeout: callTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// maxAnswer bounds the part of an error answer read for its code.
const maxAnswer = 64 << 10

func (u *universalInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	service, action, _, err := ParseUniversal(inv.Target.Arn)
	if err != nil {
		return deliver.Permanent("InvalidTarget", err)
	}
	svc := universalServices[service]
	var members map[string]json.RawMessage
	if err := json.Unmarshal(inv.Input, &members); err != nil {
		return deliver.Permanent("InvalidTargetInput", fmt.Errorf("universal target %s: the input is not a JSON object: %w", inv.Target.Arn, err))
	}
	region := inv.Scope.Region
	role := ""
	if inv.Target.RoleArn != nil {
		role = *inv.Target.RoleArn
	}
	cfg, err := u.f.RoleConfig(ctx, region, role)
	if err != nil {
		return deliver.Retryable("SDK_CLIENT_ERROR", err)
	}
	base := "https://" + svc.host + "." + region + "." + dnsSuffix("aws")
	if ep := u.f.BaseEndpoint(svc.arnService, nil); ep != nil {
		base = strings.TrimRight(*ep, "/")
	}
	var body []byte
	header := http.Header{}
	switch svc.proto {
	case awsJSON:
		body = inv.Input
		header.Set("Content-Type", "application/x-amz-json-"+svc.jsonVer)
		header.Set("X-Amz-Target", svc.target+"."+action)
	case awsQuery:
		form := url.Values{"Action": {action}, "Version": {svc.version}}
		for k, v := range members {
			if err := flattenQuery(form, k, v); err != nil {
				return deliver.Permanent("InvalidTargetInput", fmt.Errorf("universal target %s: %w", inv.Target.Arn, err))
			}
		}
		body = []byte(form.Encode())
		header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/", bytes.NewReader(body))
	if err != nil {
		return deliver.Permanent("InvalidEndpoint", fmt.Errorf("universal target %s: %w", inv.Target.Arn, err))
	}
	req.Header = header
	req.Header.Set("User-Agent", "Switchyard")
	if inv.Trace != "" {
		req.Header.Set(deliver.TraceHeader, inv.Trace)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return classify(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), svc.signing, region, time.Now()); err != nil {
		return deliver.Permanent("SDK_CLIENT_ERROR", fmt.Errorf("universal target %s: signing: %w", inv.Target.Arn, err))
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return deliver.Retryable("CONNECTION_FAILURE", fmt.Errorf("universal target %s: %w", inv.Target.Arn, err))
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	code := answerCode(resp.Header, ans)
	err = fmt.Errorf("universal target %s: %s %d: %s", inv.Target.Arn, action, resp.StatusCode, truncateAnswer(ans))
	if code == "" {
		code = "SDK_CLIENT_ERROR"
	}
	if resp.StatusCode == 429 || resp.StatusCode >= 500 || retryableCodes[code] {
		return deliver.Retryable(code, err)
	}
	return deliver.Permanent(code, err)
}

// answerCode reads the error code of an AWS error answer: the
// x-amzn-ErrorType header, a JSON body's __type (or code), or a query
// protocol's <Code>; a "prefix#" namespace is dropped.
func answerCode(h http.Header, body []byte) string {
	code := h.Get("X-Amzn-Errortype")
	if code == "" {
		var j struct {
			Type string `json:"__type"`
			Code string `json:"code"`
		}
		if json.Unmarshal(body, &j) == nil {
			code = j.Type
			if code == "" {
				code = j.Code
			}
		}
	}
	if code == "" {
		if i := bytes.Index(body, []byte("<Code>")); i >= 0 {
			rest := body[i+len("<Code>"):]
			if j := bytes.Index(rest, []byte("</Code>")); j >= 0 {
				code = string(rest[:j])
			}
		}
	}
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	return code
}

func truncateAnswer(b []byte) string {
	if len(b) > 512 {
		b = b[:512]
	}
	return string(b)
}

// flattenQuery adds a JSON member to a query-protocol form: scalars as
// they are, lists as Name.member.N, objects as Name.Member. (Members of
// the query protocol's map shapes, Name.entry.N.key, are not told apart
// from structures without the model; write them as such lists.)
func flattenQuery(form url.Values, name string, v json.RawMessage) error {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil
	}
	switch v[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		for k, sub := range m {
			if err := flattenQuery(form, name+"."+k, sub); err != nil {
				return err
			}
		}
	case '[':
		var l []json.RawMessage
		if err := json.Unmarshal(v, &l); err != nil {
			return err
		}
		for i, sub := range l {
			if err := flattenQuery(form, name+".member."+strconv.Itoa(i+1), sub); err != nil {
				return err
			}
		}
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		form.Set(name, s)
	case 'n':
		// null: the member is absent.
	default:
		if !json.Valid(v) {
			return errors.New("invalid JSON member " + name)
		}
		form.Set(name, string(v))
	}
	return nil
}
