package pipes

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard/switchyard/internal/restapi"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func bodyInput(body string, path map[string]string, query map[string][]string) input {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&m)
	return input{path: func(k string) string { return path[k] }, query: func(k string) []string { return query[k] }, body: m}
}

// TestValidate: requests checked against the model's constraints, and
// the ValidationException each gives (testdata/validate.golden).
func TestValidate(t *testing.T) {
	cases := []struct {
		name, op, body string
		path           map[string]string
		query          map[string][]string
	}{
		{"valid", "CreatePipe", `{"Source":"arn:aws:sqs:us-east-1:123456789012:q","Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r"}`, map[string]string{"Name": "p"}, nil},
		{"missing members", "CreatePipe", `{}`, map[string]string{"Name": "p"}, nil},
		{"bad name and role", "CreatePipe", `{"Source":"arn:aws:sqs:us-east-1:123456789012:q","Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"nope"}`, map[string]string{"Name": "a b"}, nil},
		{"batch size and window", "CreatePipe", `{"Source":"arn:aws:sqs:us-east-1:123456789012:q","Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r","SourceParameters":{"SqsQueueParameters":{"BatchSize":0,"MaximumBatchingWindowInSeconds":301}}}`, map[string]string{"Name": "p"}, nil},
		{"enum", "CreatePipe", `{"Source":"arn:aws:sqs:us-east-1:123456789012:q","Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r","DesiredState":"PAUSED"}`, map[string]string{"Name": "p"}, nil},
		{"nested required", "CreatePipe", `{"Source":"arn:aws:kinesis:us-east-1:123456789012:stream/s","Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r","SourceParameters":{"KinesisStreamParameters":{}}}`, map[string]string{"Name": "p"}, nil},
		{"too many filters", "CreatePipe", `{"Source":"arn:aws:sqs:us-east-1:123456789012:q","Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r","SourceParameters":{"FilterCriteria":{"Filters":[{},{},{},{},{},{}]}}}`, map[string]string{"Name": "p"}, nil},
		{"wrong types", "CreatePipe", `{"Source":7,"Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r","Tags":[]}`, map[string]string{"Name": "p"}, nil},
		{"list limit", "ListPipes", ``, nil, map[string][]string{"Limit": {"101"}}},
		{"list state", "ListPipes", ``, nil, map[string][]string{"CurrentState": {"SLEEPING"}}},
		{"tag keys", "TagResource", `{"tags":{"":"v"}}`, map[string]string{"resourceArn": "arn:aws:pipes:us-east-1:123456789012:pipe/p"}, nil},
	}
	var out strings.Builder
	for _, tc := range cases {
		err := validateInput(tc.op, bodyInput(tc.body, tc.path, tc.query))
		out.WriteString("## " + tc.name + "\n")
		if err == nil {
			out.WriteString("ok\n\n")
			continue
		}
		var fe *restapi.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: %T %v", tc.name, err, err)
		}
		fields, _ := json.Marshal(fe.Fields["fieldList"])
		out.WriteString(fe.Err.Code + ": " + fe.Err.Message + "\n" + string(fields) + "\n\n")
	}
	golden(t, "validate.golden", out.String())
}

// TestTemplate: Pipes' input templates, filled from records
// (testdata/template.golden).
func TestTemplate(t *testing.T) {
	p := &Pipe{Name: "orders", Arn: "arn:aws:pipes:us-east-1:123456789012:pipe/orders",
		Source: "arn:aws:sqs:us-east-1:123456789012:src", Target: "arn:aws:sqs:us-east-1:123456789012:tgt"}
	event := `{"messageId":"m1","body":{"id":7,"name":"Ann \"A\"","tags":["a","b"]},"eventSource":"aws:sqs"}`
	cases := []string{
		`{"id": <$.body.id>}`,
		`{"who": "<$.body.name>", "n": <$.body.id>}`,
		`"order <$.body.id> for <$.body.name>"`,
		`order <$.body.id>`,
		`{"tags": <$.body.tags>, "first": <$.body.tags[0]>}`,
		`{"pipe": <aws.pipes.pipe-name>, "arn": "<aws.pipes.pipe-arn>", "src": <aws.pipes.source-arn>, "tgt": <aws.pipes.target-arn>}`,
		`{"event": <aws.pipes.event.json>}`,
		`{"missing": <$.body.nope>, "in": "x<$.body.nope>y"}`,
		`{"bad": <nope>}`,
		`{"bad": <$.[>}`,
	}
	var out strings.Builder
	for _, tmpl := range cases {
		out.WriteString("## " + tmpl + "\n")
		tp, err := compileTemplate("TargetParameters.InputTemplate", tmpl)
		if err != nil {
			out.WriteString("error: " + err.Error() + "\n\n")
			continue
		}
		got, err := tp.apply([]byte(event), p, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		if err != nil {
			out.WriteString("apply error: " + err.Error() + "\n\n")
			continue
		}
		out.WriteString(string(got) + "\n\n")
	}
	golden(t, "template.golden", out.String())
}

// TestMergeParams: UpdatePipe replaces each parameter object it names
// and keeps the others.
func TestMergeParams(t *testing.T) {
	cases := []struct{ old, upd, want string }{
		{`{"SqsQueueParameters":{"BatchSize":5},"FilterCriteria":{"Filters":[]}}`, `{"SqsQueueParameters":{"MaximumBatchingWindowInSeconds":3}}`,
			`{"FilterCriteria":{"Filters":[]},"SqsQueueParameters":{"MaximumBatchingWindowInSeconds":3}}`},
		{``, `{"InputTemplate":"x"}`, `{"InputTemplate":"x"}`},
		{`{"InputTemplate":"x"}`, ``, `{"InputTemplate":"x"}`},
		{`{"InputTemplate":"x","HttpParameters":{}}`, `{"InputTemplate":null}`, `{"HttpParameters":{}}`},
	}
	for _, tc := range cases {
		if got := string(mergeParams(json.RawMessage(tc.old), json.RawMessage(tc.upd))); got != tc.want {
			t.Errorf("merge %s with %s = %s, want %s", tc.old, tc.upd, got, tc.want)
		}
	}
}

// TestRecordShapes: each source's record as its target receives it and
// as its filters see it (testdata/records.golden).
func TestRecordShapes(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 2, 3, 456e6, time.UTC)
	p := &Pipe{Name: "p", Arn: "arn:aws:pipes:us-east-1:123456789012:pipe/p", RoleArn: "arn:aws:iam::123456789012:role/r",
		Source: "arn:aws:kinesis:us-east-1:123456789012:stream/s"}
	run := &pipeRun{p: p}
	var out strings.Builder
	add := func(name string, r record) {
		out.WriteString("## " + name + "\nraw:  " + string(r.raw) + "\nview: " + string(r.view) + "\n\n")
	}
	add("sqs, JSON body", sqsRecord(sqstypes.Message{MessageId: aws.String("m-1"), ReceiptHandle: aws.String("rh"), Body: aws.String(`{"kind":"order","id":7}`),
		MD5OfBody: aws.String("md5"), Attributes: map[string]string{"SentTimestamp": "1765069323456", "ApproximateReceiveCount": "1"},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"a": {DataType: aws.String("String"), StringValue: aws.String("v")}}},
		"arn:aws:sqs:us-east-1:123456789012:q", "us-east-1"))
	add("sqs, text body", sqsRecord(sqstypes.Message{MessageId: aws.String("m-2"), ReceiptHandle: aws.String("rh"), Body: aws.String(`hello <b>`), MD5OfBody: aws.String("md5")},
		"arn:aws:sqs:us-east-1:123456789012:q", "us-east-1"))
	k := &kinesisReader{run: run, region: "us-east-1"}
	add("kinesis", k.record("shardId-000000000000", ktypes.Record{SequenceNumber: aws.String("4959"), PartitionKey: aws.String("pk"),
		Data: []byte(`{"n":1}`), ApproximateArrivalTimestamp: aws.Time(at)}).record)
	d := &dynamoDBReader{run: &pipeRun{p: &Pipe{Source: "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026"}}, region: "us-east-1"}
	add("dynamodb", d.record(dtypes.Record{EventID: aws.String("e-1"), EventName: dtypes.OperationTypeInsert, EventVersion: aws.String("1.1"),
		Dynamodb: &dtypes.StreamRecord{ApproximateCreationDateTime: aws.Time(at), SequenceNumber: aws.String("100"), SizeBytes: aws.Int64(26),
			StreamViewType: dtypes.StreamViewTypeNewImage, Keys: map[string]dtypes.AttributeValue{"id": &dtypes.AttributeValueMemberS{Value: "1"}},
			NewImage: map[string]dtypes.AttributeValue{"id": &dtypes.AttributeValueMemberS{Value: "1"}, "n": &dtypes.AttributeValueMemberN{Value: "2"},
				"l": &dtypes.AttributeValueMemberL{Value: []dtypes.AttributeValue{&dtypes.AttributeValueMemberBOOL{Value: true}}}}}}).record)
	add("kafka", kafkaRecord("b1:9092,b2:9092", &kgo.Record{Topic: "orders", Partition: 1, Offset: 42, Timestamp: at, Key: []byte("k"),
		Value: []byte(`{"n":3}`), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}}))
	golden(t, "records.golden", out.String())

	raw := []byte(`{"body":"{\"a\":1}","eventSource":"aws:sqs"}`)
	if got := string(decodedView(raw, "body", []byte(`not json`))); got != string(raw) {
		t.Errorf("text body view %s", got)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// FuzzValidate: any body either validates or gives a ValidationException
// with a fieldList; it never panics.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{`{}`, `{"Source":"arn:aws:sqs:us-east-1:123456789012:q"}`,
		`{"SourceParameters":{"SqsQueueParameters":{"BatchSize":1e400}}}`, `{"Tags":{"a":null}}`,
		`{"SourceParameters":{"FilterCriteria":{"Filters":[null,{"Pattern":7}]}}}`, `{"TargetParameters":{"HttpParameters":{"PathParameterValues":[1]}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		err := validateInput("CreatePipe", bodyInput(body, map[string]string{"Name": "p"}, nil))
		if err == nil {
			return
		}
		var fe *restapi.FieldError
		if !errors.As(err, &fe) || fe.Err.Code != "ValidationException" {
			t.Fatalf("%T %v", err, err)
		}
	})
}

// FuzzTemplate: any template either fails to compile or fills from any
// record without panicking.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{`{"a": <$.body.a>}`, `<$>`, `"<aws.pipes.event>"`, `<$.a[0]><$.b>`, `<<$.a>>`, `{"x": "<$.a\`, `<$..a>`} {
		f.Add(s, `{"body":{"a":[1,2]},"b":"x"}`)
	}
	p := &Pipe{Name: "n", Arn: "a"}
	f.Fuzz(func(t *testing.T, tmpl, event string) {
		tp, err := compileTemplate("T", tmpl)
		if err != nil || tp == nil || !json.Valid([]byte(event)) {
			return
		}
		_, _ = tp.apply([]byte(event), p, time.Unix(0, 0))
	})
}
