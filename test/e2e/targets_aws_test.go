package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
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
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// motoAccount is the account moto creates resources in.
const motoAccount = "123456789012"

// awsRegion is where the AWS targets of these tests live; the rules are in
// another region, so that the target's ARN, not the rule, picks the region.
const awsRegion = "us-west-2"

func motoConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       awsRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

// awsTargetEnv is a switchyard delivering to moto, and a bus with one rule
// per test on it.
type awsTargetEnv struct {
	s    *server
	eb   *eventbridge.Client
	cfg  aws.Config
	moto string
}

func newAWSTargetEnv(t *testing.T) *awsTargetEnv {
	m := startMoto(t)
	s := startServer(t, "--aws-endpoint", m)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	return &awsTargetEnv{s: s, eb: s.client(acct, "eu-central-1"), cfg: motoConfig(m), moto: m}
}

// route puts a rule matching source src with the given target, then one
// event of that source, and returns the event's id.
func (e *awsTargetEnv) route(t *testing.T, src string, target types.Target, detail string) string {
	t.Helper()
	cx := ctx(t)
	if _, err := e.eb.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(src),
		EventPattern: aws.String(fmt.Sprintf(`{"source":[%q]}`, src))}); err != nil {
		t.Fatal(err)
	}
	target.Id = aws.String("t")
	out, err := e.eb.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String(src), Targets: []types.Target{target}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	return e.put(t, src, detail)
}

func (e *awsTargetEnv) put(t *testing.T, src, detail string) string {
	t.Helper()
	pe, err := e.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String(src), DetailType: aws.String("Test"), Detail: aws.String(detail)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	return aws.ToString(pe.Entries[0].EventId)
}

// eventually calls f until it returns true, for up to 15 seconds.
func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkEnvelope checks that body is the event with id and detail.
func checkEnvelope(t *testing.T, body, id, src, detail string) {
	t.Helper()
	var ev event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("not an event: %s", body)
	}
	if ev.ID != id || ev.Source != src || ev.Account != acct || ev.Region != "eu-central-1" || ev.DetailType != "Test" {
		t.Errorf("envelope %s: want id %s, source %s, account %s, region eu-central-1", body, id, src, acct)
	}
	if !jsonEqual(ev.Detail, []byte(detail)) {
		t.Errorf("detail %s, want %s", ev.Detail, detail)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func createQueue(t *testing.T, q *sqs.Client, name string, attrs map[string]string) (url, arn string) {
	t.Helper()
	out, err := q.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl), fmt.Sprintf("arn:aws:sqs:%s:%s:%s", awsRegion, motoAccount, name)
}

func receive(t *testing.T, q *sqs.Client, url string) sqstypes.Message {
	t.Helper()
	var msg sqstypes.Message
	eventually(t, "a message on "+url, func() bool {
		out, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			msg = out.Messages[0]
			return true
		}
		return false
	})
	return msg
}

// TestAWSTargets delivers to each AWS service through moto and reads what
// arrived back with the AWS SDK.
func TestAWSTargets(t *testing.T) {
	e := newAWSTargetEnv(t)
	q := sqs.NewFromConfig(e.cfg)

	t.Run("SQS", func(t *testing.T) {
		url, arn := createQueue(t, q, "plain", nil)
		detail := `{"order":1,"text":"quotes \" and ünïcode"}`
		id := e.route(t, "test.sqs", types.Target{Arn: aws.String(arn)}, detail)
		checkEnvelope(t, aws.ToString(receive(t, q, url).Body), id, "test.sqs", detail)
	})

	t.Run("SQSFIFO", func(t *testing.T) {
		url, arn := createQueue(t, q, "orders.fifo", map[string]string{"FifoQueue": "true"})
		// AWS refuses a FIFO queue without SqsParameters.
		_, err := e.eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("default-rule-none"),
			Targets: []types.Target{{Id: aws.String("fifo"), Arn: aws.String(arn)}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" ||
			ae.ErrorMessage() != "Parameter(s) SqsParameters must be specified for target: fifo." {
			t.Errorf("FIFO queue without SqsParameters: %v", err)
		}
		id := e.route(t, "test.fifo", types.Target{Arn: aws.String(arn),
			SqsParameters: &types.SqsParameters{MessageGroupId: aws.String("group-7")}}, `{"n":1}`)
		msg := receive(t, q, url)
		checkEnvelope(t, aws.ToString(msg.Body), id, "test.fifo", `{"n":1}`)
		if g := msg.Attributes["MessageGroupId"]; g != "group-7" {
			t.Errorf("MessageGroupId = %q, want group-7", g)
		}
		if d := msg.Attributes["MessageDeduplicationId"]; d != id {
			t.Errorf("MessageDeduplicationId = %q, want the event id %s", d, id)
		}
	})

	t.Run("SNS", func(t *testing.T) {
		sn := sns.NewFromConfig(e.cfg)
		topic, err := sn.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("alerts")})
		if err != nil {
			t.Fatal(err)
		}
		url, qarn := createQueue(t, q, "alerts-sub", nil)
		if _, err := sn.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
			Endpoint: aws.String(qarn)}); err != nil {
			t.Fatal(err)
		}
		id := e.route(t, "test.sns", types.Target{Arn: topic.TopicArn}, `{"alert":"disk"}`)
		var note struct{ Type, TopicArn, Message string }
		if err := json.Unmarshal([]byte(aws.ToString(receive(t, q, url).Body)), &note); err != nil {
			t.Fatal(err)
		}
		if note.Type != "Notification" || note.TopicArn != aws.ToString(topic.TopicArn) {
			t.Errorf("notification %+v", note)
		}
		checkEnvelope(t, note.Message, id, "test.sns", `{"alert":"disk"}`)
	})

	t.Run("SNSFIFO", func(t *testing.T) {
		sn := sns.NewFromConfig(e.cfg)
		topic, err := sn.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("alerts.fifo"),
			Attributes: map[string]string{"FifoTopic": "true"}})
		if err != nil {
			t.Fatal(err)
		}
		url, qarn := createQueue(t, q, "alerts-sub.fifo", map[string]string{"FifoQueue": "true"})
		if _, err := sn.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
			Endpoint: aws.String(qarn), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
			t.Fatal(err)
		}
		// No SqsParameters: the target id is the message group.
		id := e.route(t, "test.snsfifo", types.Target{Arn: topic.TopicArn}, `{"alert":"cpu"}`)
		msg := receive(t, q, url)
		checkEnvelope(t, aws.ToString(msg.Body), id, "test.snsfifo", `{"alert":"cpu"}`)
		if g := msg.Attributes["MessageGroupId"]; g != "t" {
			t.Errorf("MessageGroupId = %q, want the target id t", g)
		}
	})

	t.Run("Kinesis", func(t *testing.T) {
		k := kinesis.NewFromConfig(e.cfg)
		if _, err := k.CreateStream(ctx(t), &kinesis.CreateStreamInput{StreamName: aws.String("clicks"), ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
		arn := fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/clicks", awsRegion, motoAccount)
		// AWS puts records on a stream only as the target's role, and
		// refuses the target without one.
		role := aws.String("arn:aws:iam::" + motoAccount + ":role/events-to-kinesis")
		refusedWithoutRole(t, e.eb, arn)
		id1 := e.route(t, "test.kinesis", types.Target{Arn: aws.String(arn), RoleArn: role,
			KinesisParameters: &types.KinesisParameters{PartitionKeyPath: aws.String("$.detail.user")}}, `{"user":"u-42"}`)
		// A path the event lacks falls back to the event id.
		id2 := e.put(t, "test.kinesis", `{"other":1}`)
		shards, err := k.ListShards(ctx(t), &kinesis.ListShardsInput{StreamName: aws.String("clicks")})
		if err != nil || len(shards.Shards) != 1 {
			t.Fatalf("ListShards: %v %+v", err, shards)
		}
		it, err := k.GetShardIterator(ctx(t), &kinesis.GetShardIteratorInput{StreamName: aws.String("clicks"),
			ShardId: shards.Shards[0].ShardId, ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		var recs []kinesistypes.Record
		eventually(t, "two records", func() bool {
			out, err := k.GetRecords(ctx(t), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, out.Records...)
			it.ShardIterator = out.NextShardIterator
			return len(recs) >= 2
		})
		keys := map[string]string{}
		for _, r := range recs {
			var ev event
			_ = json.Unmarshal(r.Data, &ev)
			keys[ev.ID] = aws.ToString(r.PartitionKey)
		}
		if keys[id1] != "u-42" || keys[id2] != id2 {
			t.Errorf("partition keys %v: want %s→u-42 and %s→its id", keys, id1, id2)
		}
		calledAsRole(t, *role, "Kinesis_20131202.PutRecord")
	})

	t.Run("Firehose", func(t *testing.T) {
		rcv := newReceiver(t)
		fh := firehose.NewFromConfig(e.cfg)
		if _, err := fh.CreateDeliveryStream(ctx(t), &firehose.CreateDeliveryStreamInput{
			DeliveryStreamName: aws.String("archive"),
			HttpEndpointDestinationConfiguration: &firehosetypes.HttpEndpointDestinationConfiguration{
				EndpointConfiguration: &firehosetypes.HttpEndpointConfiguration{Url: aws.String(rcv.URL)},
				S3Configuration: &firehosetypes.S3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::unused"),
					RoleARN: aws.String("arn:aws:iam::" + motoAccount + ":role/firehose")},
			},
		}); err != nil {
			t.Fatal(err)
		}
		arn := fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/archive", awsRegion, motoAccount)
		id := e.route(t, "test.firehose", types.Target{Arn: aws.String(arn)}, `{"row":1}`)
		// moto hands the record to the stream's HTTP endpoint destination
		// in Firehose's request format.
		var req struct{ Records []struct{ Data string } }
		if err := json.Unmarshal(rcv.waitFor(t, 1, 15*time.Second)[0], &req); err != nil || len(req.Records) != 1 {
			t.Fatalf("firehose request: %v %+v", err, req)
		}
		data, err := base64.StdEncoding.DecodeString(req.Records[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		checkEnvelope(t, string(data), id, "test.firehose", `{"row":1}`)
	})

	t.Run("StepFunctions", func(t *testing.T) {
		st := sfn.NewFromConfig(e.cfg)
		sm, err := st.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("flow"),
			Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`),
			RoleArn:    aws.String("arn:aws:iam::" + motoAccount + ":role/sfn")})
		if err != nil {
			t.Fatal(err)
		}
		refusedWithoutRole(t, e.eb, aws.ToString(sm.StateMachineArn))
		id := e.route(t, "test.sfn", types.Target{Arn: sm.StateMachineArn,
			RoleArn: aws.String("arn:aws:iam::" + motoAccount + ":role/events-to-sfn")}, `{"step":1}`)
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
		checkEnvelope(t, aws.ToString(d.Input), id, "test.sfn", `{"step":1}`)
		if n := aws.ToString(d.Name); len(n) != 36 {
			t.Errorf("execution name %q: want a UUID-shaped name", n)
		}
		calledAsRole(t, "arn:aws:iam::"+motoAccount+":role/events-to-sfn", "AWSStepFunctions.StartExecution")
	})

	t.Run("Logs", func(t *testing.T) {
		lg := cloudwatchlogs.NewFromConfig(e.cfg)
		if _, err := lg.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/events/audit")}); err != nil {
			t.Fatal(err)
		}
		// The ARN as DescribeLogGroups gives it, with ":*".
		arn := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:/aws/events/audit:*", awsRegion, motoAccount)
		id := e.route(t, "test.logs", types.Target{Arn: aws.String(arn)}, `{"who":"me"}`)
		var out *cloudwatchlogs.GetLogEventsOutput
		eventually(t, "a log event", func() bool {
			var err error
			out, err = lg.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/events/audit"),
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
		checkEnvelope(t, aws.ToString(out.Events[0].Message), id, "test.logs", `{"who":"me"}`)
		if ts := time.UnixMilli(aws.ToInt64(out.Events[0].Timestamp)); time.Since(ts) > time.Minute || time.Until(ts) > time.Minute {
			t.Errorf("log event timestamp %v: want the event's time", ts)
		}
	})

	t.Run("Lambda", func(t *testing.T) {
		// moto runs no function code without Docker; what it can show is
		// the Invoke call itself — asynchronous, with the event as payload
		// — which its request recording holds.
		createRole(t, e.moto, "lambda-role")
		lm := lambda.NewFromConfig(e.cfg)
		fn, err := lm.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("handler"),
			Runtime: lambdatypes.RuntimePython312, Handler: aws.String("index.handler"),
			Role: aws.String("arn:aws:iam::" + motoAccount + ":role/lambda-role"),
			Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK\x05\x06" + strings.Repeat("\x00", 18))}})
		if err != nil {
			t.Fatal(err)
		}
		id := e.route(t, "test.lambda", types.Target{Arn: fn.FunctionArn}, `{"fn":1}`)
		var inv *motoRequest
		eventually(t, "the Invoke call", func() bool {
			for _, r := range motoRequests(t) {
				// The recording is shared with the other tests using moto:
				// this test's call is the one carrying its event.
				if r.Method == "POST" && strings.Contains(r.URL, "/2015-03-31/functions/") && strings.HasSuffix(strings.Split(r.URL, "?")[0], "/invocations") &&
					strings.Contains(r.body(), id) {
					r := r
					inv = &r
				}
			}
			return inv != nil
		})
		checkEnvelope(t, inv.body(), id, "test.lambda", `{"fn":1}`)
		if it := header(inv.Headers, "X-Amz-Invocation-Type"); it != "Event" {
			t.Errorf("X-Amz-Invocation-Type = %q, want Event (asynchronous)", it)
		}
		if u, _ := url.PathUnescape(inv.URL); !strings.Contains(u, aws.ToString(fn.FunctionArn)) && !strings.Contains(u, "/handler/") {
			t.Errorf("Invoke URL %s does not name the function", inv.URL)
		}
	})

	// A target with a RoleArn is called as the role: Switchyard assumes it
	// through STS (moto's, by --aws-endpoint) and signs the target's call
	// with the temporary credentials, as EventBridge does. A target
	// without one is called with Switchyard's own credentials ("test").
	t.Run("SQSRoleArn", func(t *testing.T) {
		role := "arn:aws:iam::" + motoAccount + ":role/events-to-sqs"
		qurl, arn := createQueue(t, q, "as-role", nil)
		detail := `{"role":1}`
		id := e.route(t, "test.role", types.Target{Arn: aws.String(arn), RoleArn: aws.String(role)}, detail)
		checkEnvelope(t, aws.ToString(receive(t, q, qurl).Body), id, "test.role", detail)

		var assumed, sent, plain []motoRequest
		for _, r := range motoRequests(t) {
			b := r.body()
			switch {
			case strings.Contains(b, "Action=AssumeRole") && strings.Contains(b, "RoleArn="+url.QueryEscape(role)):
				assumed = append(assumed, r)
			case strings.Contains(header(r.Headers, "X-Amz-Target"), "SendMessage") && strings.Contains(b, id):
				sent = append(sent, r)
			case strings.Contains(header(r.Headers, "X-Amz-Target"), "SendMessage") && strings.Contains(b, "test.sqs"):
				plain = append(plain, r)
			}
		}
		if len(assumed) != 1 || !strings.Contains(assumed[0].body(), "RoleSessionName=Switchyard") {
			t.Fatalf("moto saw %d AssumeRole calls for %s, want 1 with RoleSessionName=Switchyard: %+v", len(assumed), role, assumed)
		}
		if len(sent) != 1 {
			t.Fatalf("moto saw %d SendMessage calls with the event, want 1", len(sent))
		}
		if key := credentialKey(header(sent[0].Headers, "Authorization")); key == "" || key == "test" ||
			header(sent[0].Headers, "X-Amz-Security-Token") == "" {
			t.Errorf("SendMessage as the role signed with key %q (session token %q); want the role's temporary credentials",
				key, header(sent[0].Headers, "X-Amz-Security-Token"))
		}
		if len(plain) != 1 || credentialKey(header(plain[0].Headers, "Authorization")) != "test" {
			t.Errorf("the target without a RoleArn: %d calls, want 1 signed with Switchyard's own key \"test\"", len(plain))
		}
	})

	t.Run("MissingQueueNotRetried", func(t *testing.T) {
		// A name of its own: moto's request log is shared by the suite's
		// tests (the KMS tests ask for "alias/does-not-exist").
		queue := fmt.Sprintf("missing-queue-%d", time.Now().UnixNano())
		arn := fmt.Sprintf("arn:aws:sqs:%s:%s:%s", awsRegion, motoAccount, queue)
		e.route(t, "test.missing", types.Target{Arn: aws.String(arn)}, `{}`)
		eventually(t, "the permanent failure in the log", func() bool {
			return strings.Contains(e.s.logs(), "NonExistentQueue")
		})
		time.Sleep(1500 * time.Millisecond) // a retry would come after about a second
		n := 0
		for _, r := range motoRequests(t) {
			if strings.Contains(r.body(), queue) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("moto saw %d requests for the missing queue, want 1 (no retries)", n)
		}
	})
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// createRole creates an IAM role in moto with a plain query request (the
// IAM SDK module is not a dependency); moto's Lambda wants an existing role.
func createRole(t *testing.T, endpoint, name string) {
	t.Helper()
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {name},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		t.Fatalf("CreateRole: status %d", resp.StatusCode)
	}
}

// credentialKey is the access key id of a SigV4 Authorization header
// ("AWS4-HMAC-SHA256 Credential=KEY/date/region/service/aws4_request, ...").
func credentialKey(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(rest, "/")
	return key
}

// refusedWithoutRole checks that PutTargets refuses a target of arn
// without a RoleArn with AWS's ValidationException, "RoleArn is required
// for target <ARN>." (hashicorp/terraform-provider-aws#19913).
func refusedWithoutRole(t *testing.T, eb *eventbridge.Client, arn string) {
	t.Helper()
	if _, err := eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("role-required"), EventPattern: aws.String(`{"source":["nope"]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err := eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("role-required"),
		Targets: []types.Target{{Id: aws.String("no-role"), Arn: aws.String(arn)}}})
	var ae smithy.APIError
	if want := "RoleArn is required for target " + arn + "."; !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != want {
		t.Errorf("PutTargets %s without a RoleArn: %v, want ValidationException %q", arn, err, want)
	}
}

// calledAsRole checks that Switchyard assumed role through moto's STS and
// made the call whose X-Amz-Target is target with the role's temporary
// credentials, not its own key "test".
func calledAsRole(t *testing.T, role, target string) {
	t.Helper()
	assumed, asRole := 0, 0
	for _, r := range motoRequests(t) {
		if b := r.body(); strings.Contains(b, "Action=AssumeRole") && strings.Contains(b, "RoleArn="+url.QueryEscape(role)+"&") {
			assumed++
		}
		if header(r.Headers, "X-Amz-Target") == target && header(r.Headers, "X-Amz-Security-Token") != "" &&
			credentialKey(header(r.Headers, "Authorization")) != "test" {
			asRole++
		}
	}
	if assumed == 0 || asRole == 0 {
		t.Errorf("%s: %d AssumeRole calls for %s, %d calls with temporary credentials; want both", target, assumed, role, asRole)
	}
}
