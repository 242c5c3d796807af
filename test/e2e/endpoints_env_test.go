package e2e

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	firehosetypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchyard/switchyard/internal/testpeer"
)

// sdkEndpointVars are the variables of the SDK's configured endpoints
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html)
// for the services switchyard calls, by the ARN service name of
// --aws-endpoint: AWS_ENDPOINT_URL_ and the service's SDK id, upper case,
// spaces as underscores.
var sdkEndpointVars = map[string]string{
	"sqs":      "AWS_ENDPOINT_URL_SQS",
	"sns":      "AWS_ENDPOINT_URL_SNS",
	"lambda":   "AWS_ENDPOINT_URL_LAMBDA",
	"kinesis":  "AWS_ENDPOINT_URL_KINESIS",
	"firehose": "AWS_ENDPOINT_URL_FIREHOSE",
	"states":   "AWS_ENDPOINT_URL_SFN",
	"logs":     "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
	"sts":      "AWS_ENDPOINT_URL_STS",
}

// sdkServicesKeys are the same services' keys in a services section of the
// shared config file: the SDK id, lower case, spaces as underscores.
var sdkServicesKeys = map[string]string{
	"sqs": "sqs", "sns": "sns", "lambda": "lambda", "kinesis": "kinesis", "firehose": "firehose",
	"states": "sfn", "logs": "cloudwatch_logs", "sts": "sts",
}

// deadEndpoint is a URL nothing listens on: a call sent there fails at
// once, so a case whose endpoint loses to the wrong source fails quickly
// instead of reaching real AWS.
const deadEndpoint = "http://127.0.0.1:1"

// TestEndpointsFromSDKConfiguration runs every AWS target kind, a
// dead-letter queue and a target role (STS) through switchyard with the
// endpoints given to the SDK — environment variables, a services section of
// the shared config file — instead of, or besides, --aws-endpoint. The
// precedence is --aws-endpoint (per service, or for all), then the SDK's
// configured endpoint (AWS_ENDPOINT_URL_<SERVICE> over AWS_ENDPOINT_URL
// over the services section over the profile's endpoint_url), then AWS's.
// In each case, the endpoints that must lose are deadEndpoint.
func TestEndpointsFromSDKConfiguration(t *testing.T) {
	m := startMoto(t)
	// This process's environment reaches switchyard too: no endpoint or
	// profile of the machine's may take part.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL") || k == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" ||
			k == "AWS_CONFIG_FILE" || k == "AWS_PROFILE" || k == "AWS_DEFAULT_PROFILE" {
			t.Setenv(k, "")
			os.Unsetenv(k) // the SDK tells a variable set empty from one unset
		}
	}
	// Every service's variable at url.
	vars := func(url string, except ...string) []string {
		var env []string
		for svc, v := range sdkEndpointVars {
			u := url
			for _, e := range except {
				if svc == e {
					u = deadEndpoint
				}
			}
			env = append(env, v+"="+u)
		}
		return env
	}
	// A shared config file whose profile x has every service's endpoint
	// at url in its services section, and endpoint_url (for all services,
	// below the services section) at global.
	sharedConfig := func(t *testing.T, url, global string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "[profile x]\nservices = local\nendpoint_url = %s\n\n[services local]\n", global)
		for _, key := range sdkServicesKeys {
			fmt.Fprintf(&b, "%s =\n  endpoint_url = %s\n", key, url)
		}
		p := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		env  func(t *testing.T) []string
		args []string
	}{
		// AWS_ENDPOINT_URL_<SERVICE> over AWS_ENDPOINT_URL.
		{name: "ServiceVariables", env: func(*testing.T) []string {
			return append(vars(m), "AWS_ENDPOINT_URL="+deadEndpoint)
		}},
		{name: "GlobalVariable", env: func(*testing.T) []string { return []string{"AWS_ENDPOINT_URL=" + m} }},
		// The services section over the profile's endpoint_url.
		{name: "SharedConfigServices", env: func(t *testing.T) []string {
			return []string{"AWS_CONFIG_FILE=" + sharedConfig(t, m, deadEndpoint), "AWS_PROFILE=x"}
		}},
		// --aws-endpoint for SQS (targets and dead letters) over its
		// variable; the other services from theirs.
		{name: "FlagForOneService", args: []string{"--aws-endpoint", "sqs=" + m}, env: func(*testing.T) []string {
			return vars(m, "sqs")
		}},
		// --aws-endpoint for all over every configured endpoint.
		{name: "FlagForAll", args: []string{"--aws-endpoint", m}, env: func(t *testing.T) []string {
			return append(vars(deadEndpoint), "AWS_ENDPOINT_URL="+deadEndpoint,
				"AWS_CONFIG_FILE="+sharedConfig(t, deadEndpoint, deadEndpoint), "AWS_PROFILE=x")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServerEnv(t, c.env(t), c.args...)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("switchyard log:\n%s", s.logs())
				}
			})
			e := &awsTargetEnv{s: s, eb: s.client(acct, "eu-central-1"), cfg: motoConfig(m), moto: m}
			deliverToEveryTarget(t, e, "ep-"+strings.ToLower(c.name))
		})
	}
}

// deliverToEveryTarget routes one event to a target of each AWS kind, to a
// missing queue with a dead-letter queue, and to a queue as a role, with
// resources named after p (moto is shared), and checks each arrived.
func deliverToEveryTarget(t *testing.T, e *awsTargetEnv, p string) {
	q := sqs.NewFromConfig(e.cfg)

	t.Run("SQS", func(t *testing.T) {
		qurl, arn := createQueue(t, q, p+"-sqs", nil)
		id := e.route(t, p+".sqs", types.Target{Arn: aws.String(arn)}, `{"k":"sqs"}`)
		checkEnvelope(t, aws.ToString(receive(t, q, qurl).Body), id, p+".sqs", `{"k":"sqs"}`)
	})

	t.Run("SNS", func(t *testing.T) {
		sn := sns.NewFromConfig(e.cfg)
		topic, err := sn.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String(p + "-topic")})
		if err != nil {
			t.Fatal(err)
		}
		qurl, qarn := createQueue(t, q, p+"-topic-sub", nil)
		if _, err := sn.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
			Endpoint: aws.String(qarn), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
			t.Fatal(err)
		}
		id := e.route(t, p+".sns", types.Target{Arn: topic.TopicArn}, `{"k":"sns"}`)
		checkEnvelope(t, aws.ToString(receive(t, q, qurl).Body), id, p+".sns", `{"k":"sns"}`)
	})

	t.Run("Lambda", func(t *testing.T) {
		createRole(t, e.moto, "lambda-role")
		fn, err := lambda.NewFromConfig(e.cfg).CreateFunction(ctx(t), &lambda.CreateFunctionInput{
			FunctionName: aws.String(p + "-fn"), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("index.handler"),
			Role: aws.String("arn:aws:iam::" + motoAccount + ":role/lambda-role"),
			Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK\x05\x06" + strings.Repeat("\x00", 18))}})
		if err != nil {
			t.Fatal(err)
		}
		id := e.route(t, p+".lambda", types.Target{Arn: fn.FunctionArn}, `{"k":"lambda"}`)
		// moto runs no code without Docker: its recording shows the call.
		eventually(t, "the Invoke call", func() bool {
			for _, r := range motoRequests(t) {
				if strings.HasSuffix(strings.Split(r.URL, "?")[0], "/invocations") && strings.Contains(r.body(), id) {
					return true
				}
			}
			return false
		})
	})

	t.Run("Kinesis", func(t *testing.T) {
		k := kinesis.NewFromConfig(e.cfg)
		stream := aws.String(p + "-stream")
		if _, err := k.CreateStream(ctx(t), &kinesis.CreateStreamInput{StreamName: stream, ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
		id := e.route(t, p+".kinesis", types.Target{Arn: aws.String(fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s",
			awsRegion, motoAccount, *stream)), RoleArn: aws.String("arn:aws:iam::" + motoAccount + ":role/kinesis-" + p)}, `{"k":"kinesis"}`)
		shards, err := k.ListShards(ctx(t), &kinesis.ListShardsInput{StreamName: stream})
		if err != nil || len(shards.Shards) != 1 {
			t.Fatalf("ListShards: %v %+v", err, shards)
		}
		it, err := k.GetShardIterator(ctx(t), &kinesis.GetShardIteratorInput{StreamName: stream,
			ShardId: shards.Shards[0].ShardId, ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		eventually(t, "the record", func() bool {
			out, err := k.GetRecords(ctx(t), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				t.Fatal(err)
			}
			it.ShardIterator = out.NextShardIterator
			if len(out.Records) > 0 {
				data = out.Records[0].Data
			}
			return data != nil
		})
		checkEnvelope(t, string(data), id, p+".kinesis", `{"k":"kinesis"}`)
	})

	t.Run("Firehose", func(t *testing.T) {
		rcv := newReceiver(t)
		name := p + "-firehose"
		if _, err := firehose.NewFromConfig(e.cfg).CreateDeliveryStream(ctx(t), &firehose.CreateDeliveryStreamInput{
			DeliveryStreamName: aws.String(name),
			HttpEndpointDestinationConfiguration: &firehosetypes.HttpEndpointDestinationConfiguration{
				EndpointConfiguration: &firehosetypes.HttpEndpointConfiguration{Url: aws.String(rcv.URL)},
				S3Configuration: &firehosetypes.S3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::unused"),
					RoleARN: aws.String("arn:aws:iam::" + motoAccount + ":role/firehose")},
			},
		}); err != nil {
			t.Fatal(err)
		}
		id := e.route(t, p+".firehose", types.Target{Arn: aws.String(fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s",
			awsRegion, motoAccount, name))}, `{"k":"firehose"}`)
		var req struct{ Records []struct{ Data string } }
		if err := json.Unmarshal(rcv.waitFor(t, 1, 15*time.Second)[0], &req); err != nil || len(req.Records) != 1 {
			t.Fatalf("firehose request: %v %+v", err, req)
		}
		data, err := base64.StdEncoding.DecodeString(req.Records[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		checkEnvelope(t, string(data), id, p+".firehose", `{"k":"firehose"}`)
	})

	t.Run("StepFunctions", func(t *testing.T) {
		st := sfn.NewFromConfig(e.cfg)
		sm, err := st.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String(p + "-flow"),
			Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`),
			RoleArn:    aws.String("arn:aws:iam::" + motoAccount + ":role/sfn")})
		if err != nil {
			t.Fatal(err)
		}
		id := e.route(t, p+".sfn", types.Target{Arn: sm.StateMachineArn,
			RoleArn: aws.String("arn:aws:iam::" + motoAccount + ":role/sfn-" + p)}, `{"k":"sfn"}`)
		var execs *sfn.ListExecutionsOutput
		eventually(t, "an execution", func() bool {
			execs, err = st.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
			if err != nil {
				t.Fatal(err)
			}
			return len(execs.Executions) > 0
		})
		d, err := st.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: execs.Executions[0].ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		checkEnvelope(t, aws.ToString(d.Input), id, p+".sfn", `{"k":"sfn"}`)
	})

	t.Run("Logs", func(t *testing.T) {
		lg := cloudwatchlogs.NewFromConfig(e.cfg)
		group := "/aws/events/" + p
		if _, err := lg.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
			t.Fatal(err)
		}
		id := e.route(t, p+".logs", types.Target{Arn: aws.String(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*",
			awsRegion, motoAccount, group))}, `{"k":"logs"}`)
		var out *cloudwatchlogs.GetLogEventsOutput
		eventually(t, "a log event", func() bool {
			var err error
			out, err = lg.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group),
				LogStreamName: aws.String(id), StartFromHead: aws.Bool(true)})
			var nf interface{ ErrorCode() string }
			if errors.As(err, &nf) && nf.ErrorCode() == "ResourceNotFoundException" {
				return false // the stream, named by the event id, is not there yet
			}
			if err != nil {
				t.Fatal(err)
			}
			return len(out.Events) > 0
		})
		checkEnvelope(t, aws.ToString(out.Events[0].Message), id, p+".logs", `{"k":"logs"}`)
	})

	// A missing queue fails permanently: the event goes to the dead-letter
	// queue at once, sent by the deliverer's own SQS client.
	t.Run("DeadLetterQueue", func(t *testing.T) {
		dlqURL, dlqArn := createQueue(t, q, p+"-dlq", nil)
		id := e.route(t, p+".dlq", types.Target{Arn: aws.String(fmt.Sprintf("arn:aws:sqs:%s:%s:%s-missing", awsRegion, motoAccount, p)),
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}, `{"k":"dlq"}`)
		got := testpeer.Drain(t, q, dlqURL, 1, 15*time.Second)
		if len(got) != 1 {
			t.Fatalf("dead-letter queue holds %d messages, want 1", len(got))
		}
		checkEnvelope(t, got[0].Body, id, p+".dlq", `{"k":"dlq"}`)
		if c := got[0].Attrs["ERROR_CODE"]; !strings.Contains(c, "NonExistentQueue") && c != "QueueDoesNotExist" {
			t.Errorf("ERROR_CODE = %q, want the missing queue's code", c)
		}
	})

	// A target with a RoleArn: the role is assumed through STS at its
	// configured endpoint.
	t.Run("RoleArn", func(t *testing.T) {
		role := "arn:aws:iam::" + motoAccount + ":role/" + p
		qurl, arn := createQueue(t, q, p+"-as-role", nil)
		id := e.route(t, p+".role", types.Target{Arn: aws.String(arn), RoleArn: aws.String(role)}, `{"k":"role"}`)
		checkEnvelope(t, aws.ToString(receive(t, q, qurl).Body), id, p+".role", `{"k":"role"}`)
		assumed := 0
		for _, r := range motoRequests(t) {
			if b := r.body(); strings.Contains(b, "Action=AssumeRole") && strings.Contains(b, "RoleArn="+url.QueryEscape(role)) {
				assumed++
			}
		}
		if assumed != 1 {
			t.Errorf("moto saw %d AssumeRole calls for %s, want 1", assumed, role)
		}
	})
}
