package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	ptypes "github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/aws/smithy-go"
)

// pipesClient returns an EventBridge Pipes client of the server.
func (s *server) pipesClient(account, region string) *pipes.Client {
	return pipes.New(pipes.Options{
		Region:           region,
		BaseEndpoint:     aws.String("http://" + s.addr),
		Credentials:      credentials.NewStaticCredentialsProvider(account, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

const pipeRole = "arn:aws:iam::123456789012:role/pipe"

// waitPipeState waits until the pipe's CurrentState is want.
func waitPipeState(t *testing.T, c *pipes.Client, name string, want ptypes.PipeState) *pipes.DescribePipeOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.DescribePipe(ctx(t), &pipes.DescribePipeInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribePipe %s: %v", name, err)
		}
		if out.CurrentState == want {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipe %s is %s (%s), want %s", name, out.CurrentState, aws.ToString(out.StateReason), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func apiErr(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae
}

// TestPipesAPI: the ten operations through aws-sdk-go-v2's pipes client,
// with AWS's shapes, states, pagination and errors.
func TestPipesAPI(t *testing.T) {
	s := startServer(t)
	c := s.pipesClient("123456789012", "us-east-1")
	cx := ctx(t)
	src := "arn:aws:sqs:us-east-1:123456789012:pipes-api-src"
	tgt := "arn:aws:sqs:us-east-1:123456789012:pipes-api-tgt"

	created, err := c.CreatePipe(cx, &pipes.CreatePipeInput{
		Name: aws.String("orders"), RoleArn: aws.String(pipeRole), Source: aws.String(src), Target: aws.String(tgt),
		DesiredState: ptypes.RequestedPipeStateStopped, Description: aws.String("the orders"),
		SourceParameters: &ptypes.PipeSourceParameters{
			SqsQueueParameters: &ptypes.PipeSourceSqsQueueParameters{BatchSize: aws.Int32(5)},
			FilterCriteria:     &ptypes.FilterCriteria{Filters: []ptypes.Filter{{Pattern: aws.String(`{"body":{"kind":["order"]}}`)}}},
		},
		TargetParameters: &ptypes.PipeTargetParameters{InputTemplate: aws.String(`{"id": <$.body.id>}`)},
		Tags:             map[string]string{"team": "shop"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.Arn) != "arn:aws:pipes:us-east-1:123456789012:pipe/orders" || created.DesiredState != ptypes.RequestedPipeStateStopped ||
		created.CurrentState != ptypes.PipeStateCreating || created.CreationTime == nil {
		t.Fatalf("CreatePipe answered %+v", created)
	}
	d := waitPipeState(t, c, "orders", ptypes.PipeStateStopped)
	if aws.ToString(d.Description) != "the orders" || aws.ToString(d.Source) != src || aws.ToString(d.Target) != tgt ||
		aws.ToInt32(d.SourceParameters.SqsQueueParameters.BatchSize) != 5 || d.Tags["team"] != "shop" ||
		aws.ToString(d.TargetParameters.InputTemplate) != `{"id": <$.body.id>}` ||
		aws.ToString(d.SourceParameters.FilterCriteria.Filters[0].Pattern) != `{"body":{"kind":["order"]}}` {
		t.Fatalf("DescribePipe answered %+v", d)
	}

	// A second pipe of the name is a conflict.
	_, err = c.CreatePipe(cx, &pipes.CreatePipeInput{Name: aws.String("orders"), RoleArn: aws.String(pipeRole), Source: aws.String(src), Target: aws.String(tgt)})
	var ce *ptypes.ConflictException
	if !errors.As(err, &ce) || aws.ToString(ce.ResourceId) != "orders" || aws.ToString(ce.ResourceType) != "pipe" {
		t.Fatalf("second CreatePipe: %v", err)
	}

	// Update replaces what it names, merges the parameter objects.
	up, err := c.UpdatePipe(cx, &pipes.UpdatePipeInput{Name: aws.String("orders"), RoleArn: aws.String(pipeRole),
		Description: aws.String("new"), SourceParameters: &ptypes.UpdatePipeSourceParameters{
			SqsQueueParameters: &ptypes.UpdatePipeSourceSqsQueueParameters{BatchSize: aws.Int32(7)}}})
	if err != nil {
		t.Fatal(err)
	}
	if up.CurrentState != ptypes.PipeStateUpdating {
		t.Fatalf("UpdatePipe answered %s", up.CurrentState)
	}
	d = waitPipeState(t, c, "orders", ptypes.PipeStateStopped)
	if aws.ToString(d.Description) != "new" || aws.ToInt32(d.SourceParameters.SqsQueueParameters.BatchSize) != 7 || d.SourceParameters.FilterCriteria == nil {
		t.Fatalf("after UpdatePipe: %+v", d)
	}

	// Tags.
	arn := aws.ToString(created.Arn)
	if _, err := c.TagResource(cx, &pipes.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(cx, &pipes.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(cx, &pipes.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || tags.Tags["env"] != "prod" {
		t.Fatalf("tags %v", tags.Tags)
	}
	_, err = c.ListTagsForResource(cx, &pipes.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:pipes:us-east-1:123456789012:pipe/nope")})
	var nf *ptypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("tags of a missing pipe: %v", err)
	}

	// Pagination and filters over 7 pipes.
	for i := range 6 {
		if _, err := c.CreatePipe(cx, &pipes.CreatePipeInput{Name: aws.String(fmt.Sprintf("p%d", i)), RoleArn: aws.String(pipeRole),
			Source: aws.String(src), Target: aws.String(tgt), DesiredState: ptypes.RequestedPipeStateStopped}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pager := pipes.NewListPipesPaginator(c, &pipes.ListPipesInput{Limit: aws.Int32(3)})
	pages := 0
	for pager.HasMorePages() {
		page, err := pager.NextPage(cx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range page.Pipes {
			names = append(names, aws.ToString(p.Name))
		}
	}
	if strings.Join(names, ",") != "orders,p0,p1,p2,p3,p4,p5" || pages != 3 {
		t.Fatalf("ListPipes gave %v in %d pages", names, pages)
	}
	lp, err := c.ListPipes(cx, &pipes.ListPipesInput{NamePrefix: aws.String("p"), DesiredState: ptypes.RequestedPipeStateStopped})
	if err != nil || len(lp.Pipes) != 6 {
		t.Fatalf("ListPipes NamePrefix p: %v %v", lp, err)
	}
	// Another account and another region see none of them.
	for _, other := range []*pipes.Client{s.pipesClient("210987654321", "us-east-1"), s.pipesClient("123456789012", "eu-west-1")} {
		lp, err := other.ListPipes(cx, &pipes.ListPipesInput{})
		if err != nil || len(lp.Pipes) != 0 {
			t.Fatalf("other scope lists %v %v", lp, err)
		}
		if _, err := other.DescribePipe(cx, &pipes.DescribePipeInput{Name: aws.String("orders")}); !errors.As(err, &nf) {
			t.Fatalf("other scope describes orders: %v", err)
		}
	}

	// Delete.
	del, err := c.DeletePipe(cx, &pipes.DeletePipeInput{Name: aws.String("p0")})
	if err != nil {
		t.Fatal(err)
	}
	if del.CurrentState != ptypes.PipeStateDeleting || del.DesiredState != ptypes.RequestedPipeStateDescribeResponseDeleted {
		t.Fatalf("DeletePipe answered %+v", del)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.DescribePipe(cx, &pipes.DescribePipeInput{Name: aws.String("p0")})
		if errors.As(err, &nf) {
			if !strings.Contains(nf.ErrorMessage(), "p0") {
				t.Fatalf("NotFoundException message %q", nf.ErrorMessage())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("p0 still there after DeletePipe: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := c.StartPipe(cx, &pipes.StartPipeInput{Name: aws.String("p0")}); !errors.As(err, &nf) {
		t.Fatalf("StartPipe of a deleted pipe: %v", err)
	}
}

// TestPipesValidation: requests AWS refuses, with its ValidationException
// and fieldList.
func TestPipesValidation(t *testing.T) {
	s := startServer(t)
	c := s.pipesClient("123456789012", "us-east-1")
	sqsArn := "arn:aws:sqs:us-east-1:123456789012:q"
	kin := "arn:aws:kinesis:us-east-1:123456789012:stream/s"
	cases := []struct {
		name  string
		in    pipes.CreatePipeInput
		field string
		msg   string
	}{
		{"bad name", pipes.CreatePipeInput{Name: aws.String("no spaces"), RoleArn: aws.String(pipeRole), Source: aws.String(sqsArn), Target: aws.String(sqsArn)},
			"name", "Member must satisfy regular expression pattern"},
		{"long name", pipes.CreatePipeInput{Name: aws.String(strings.Repeat("a", 65)), RoleArn: aws.String(pipeRole), Source: aws.String(sqsArn), Target: aws.String(sqsArn)},
			"name", "Member must have length less than or equal to 64"},
		{"bad role", pipes.CreatePipeInput{Name: aws.String("p"), RoleArn: aws.String("role"), Source: aws.String(sqsArn), Target: aws.String(sqsArn)},
			"roleArn", "Member must satisfy regular expression pattern"},
		{"batch too big", pipes.CreatePipeInput{Name: aws.String("p"), RoleArn: aws.String(pipeRole), Source: aws.String(sqsArn), Target: aws.String(sqsArn),
			SourceParameters: &ptypes.PipeSourceParameters{SqsQueueParameters: &ptypes.PipeSourceSqsQueueParameters{BatchSize: aws.Int32(10001)}}},
			"sourceParameters.sqsQueueParameters.batchSize", "Member must have value less than or equal to 10000"},
		{"kinesis without its parameters", pipes.CreatePipeInput{Name: aws.String("p"), RoleArn: aws.String(pipeRole), Source: aws.String(kin), Target: aws.String(sqsArn)},
			"SourceParameters.KinesisStreamParameters", "Missing required parameter."},
		{"kinesis with sqs parameters", pipes.CreatePipeInput{Name: aws.String("p"), RoleArn: aws.String(pipeRole), Source: aws.String(sqsArn), Target: aws.String(sqsArn),
			SourceParameters: &ptypes.PipeSourceParameters{KinesisStreamParameters: &ptypes.PipeSourceKinesisStreamParameters{StartingPosition: ptypes.KinesisStreamStartPositionLatest}}},
			"SourceParameters.KinesisStreamParameters", "is not valid for source"},
		{"bad filter", pipes.CreatePipeInput{Name: aws.String("p"), RoleArn: aws.String(pipeRole), Source: aws.String(sqsArn), Target: aws.String(sqsArn),
			SourceParameters: &ptypes.PipeSourceParameters{FilterCriteria: &ptypes.FilterCriteria{Filters: []ptypes.Filter{{Pattern: aws.String(`{"body": "x"}`)}}}}},
			"SourceParameters.FilterCriteria.Filters[0].Pattern", "Invalid filter pattern definition"},
		{"bad template", pipes.CreatePipeInput{Name: aws.String("p"), RoleArn: aws.String(pipeRole), Source: aws.String(sqsArn), Target: aws.String(sqsArn),
			TargetParameters: &ptypes.PipeTargetParameters{InputTemplate: aws.String(`{"a": <nope>}`)}},
			"TargetParameters.InputTemplate", "placeholder <nope>"},
		{"not a source", pipes.CreatePipeInput{Name: aws.String("p"), RoleArn: aws.String(pipeRole), Source: aws.String("arn:aws:s3:::bucket"), Target: aws.String(sqsArn)},
			"Source", "is not a supported source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreatePipe(ctx(t), &tc.in)
			var ve *ptypes.ValidationException
			if !errors.As(err, &ve) {
				t.Fatalf("want ValidationException, got %v", err)
			}
			if !strings.Contains(ve.ErrorMessage(), tc.msg) {
				t.Errorf("message %q does not say %q", ve.ErrorMessage(), tc.msg)
			}
			found := false
			for _, f := range ve.FieldList {
				if aws.ToString(f.Name) == tc.field && strings.Contains(aws.ToString(f.Message), tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("fieldList %+v has no %s saying %q", ve.FieldList, tc.field, tc.msg)
			}
		})
	}
	// Required members the SDK itself lets through (it validates only
	// presence): a missing Source is AWS's "Member must not be null".
	_, err := c.DescribePipe(ctx(t), &pipes.DescribePipeInput{Name: aws.String("missing")})
	if ae := apiErr(t, err); ae.ErrorCode() != "NotFoundException" {
		t.Fatalf("DescribePipe of a missing pipe: %v", err)
	}
	_, err = c.ListPipes(ctx(t), &pipes.ListPipesInput{NextToken: aws.String("garbage")})
	if ae := apiErr(t, err); ae.ErrorCode() != "ValidationException" {
		t.Fatalf("ListPipes with a bad token: %v", err)
	}
}

// signedPipesRequest sends a SigV4-signed request to the pipes API, as
// an SDK would, with any body.
func signedPipesRequest(t *testing.T, s *server, method, path string, body []byte) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "123456789012", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(ctx(t), creds, req, hex.EncodeToString(sum[:]), "pipes", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), string(b)
}

// TestPipesHostileRequests: bodies no SDK would send get AWS's error
// shape, never a 500; an MQ source is stored but not polled, and says so.
func TestPipesHostileRequests(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"not JSON", []byte(`{"Source": `), 400, "SerializationException"},
		{"not an object", []byte(`[1,2]`), 400, "SerializationException"},
		{"wrong type", []byte(`{"Source":["a"],"Target":"arn:aws:sqs:us-east-1:123456789012:q","RoleArn":"arn:aws:iam::123456789012:role/r"}`), 400, "ValidationException"},
		{"huge", append(append([]byte(`{"Description":"`), bytes.Repeat([]byte("x"), 2<<20)...), `"}`...), 413, "RequestEntityTooLargeException"},
		{"deep", append(bytes.Repeat([]byte(`{"a":`), 100000), bytes.Repeat([]byte(`}`), 100000)...), 400, "SerializationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code, body := signedPipesRequest(t, s, http.MethodPost, "/v1/pipes/hostile", tc.body)
			if status != tc.status || code != tc.code || !strings.Contains(body, `"message"`) {
				t.Fatalf("%d %s %s", status, code, body)
			}
		})
	}
	c := s.pipesClient("123456789012", "us-east-1")
	if _, err := c.CreatePipe(ctx(t), &pipes.CreatePipeInput{Name: aws.String("mq"), RoleArn: aws.String(pipeRole),
		Source: aws.String("arn:aws:mq:us-east-1:123456789012:broker:b:b-1"), Target: aws.String("arn:aws:sqs:us-east-1:123456789012:q"),
		SourceParameters: &ptypes.PipeSourceParameters{ActiveMQBrokerParameters: &ptypes.PipeSourceActiveMQBrokerParameters{
			QueueName: aws.String("q"), Credentials: &ptypes.MQBrokerAccessCredentialsMemberBasicAuth{Value: "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"}}}}); err != nil {
		t.Fatal(err)
	}
	d := waitPipeState(t, c, "mq", ptypes.PipeStateCreateFailed)
	if !strings.Contains(aws.ToString(d.StateReason), "not read by Switchyard") {
		t.Fatalf("StateReason %q", aws.ToString(d.StateReason))
	}
}
