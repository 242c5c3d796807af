package awstarget

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/awsclient/awsclienttest"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/sigv4"
)

type testKeys struct{}

func (testKeys) Lookup(id string) (sigv4.Key, bool) {
	return sigv4.Key{AccessKeyID: "test", SecretAccessKey: "test"}, id == "test"
}

// received is one request the stand-in endpoint got, and what its
// signature proved (nil: unsigned).
type received struct {
	r        *http.Request
	body     []byte
	identity *sigv4.Identity
	sigErr   error
}

// endpoint stands in for the execute-api and AppSync endpoints, which
// moto_server does not serve (it runs no API Gateway stage and no GraphQL
// resolver): an HTTP server that verifies each request's SigV4 signature
// with Switchyard's own verifier, and answers status.
func endpoint(t *testing.T, service string, status int) (string, chan received) {
	t.Helper()
	got := make(chan received, 10)
	v := &sigv4.Verifier{Credentials: testKeys{}, Service: service}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc := received{r: r, body: b}
		if r.Header.Get("Authorization") != "" {
			rc.identity, rc.sigErr = v.Verify(r, b)
		}
		got <- rc
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

func signedInvokers(t *testing.T, endpoints map[string]string) map[string]deliver.Invoker {
	awsclienttest.IsolateEnv(t)
	f := awsclient.New(endpoints)
	// The stand-in knows Switchyard's own key, not a role's.
	f.IgnoreRoles = true
	return Invokers(f)
}

func TestAPIGateway(t *testing.T) {
	url, got := endpoint(t, "execute-api", 200)
	inv := signedInvokers(t, map[string]string{"execute-api": url + "/api-{id}"})["execute-api"]
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	tg := &control.Target{Id: "t", Arn: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/*/POST/orders/*", RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
		HttpParameters: &control.HttpParameters{PathParameterValues: []string{"prod", "$.detail.order"},
			QueryStringParameters: map[string]string{"state": "$.detail.state", "v": "1"},
			HeaderParameters:      map[string]string{"X-Tenant": "blue", "X-Amz-Date": "forged", "Authorization": "forged", "Host": "evil"}}}
	ev := []byte(`{"id":"e1","detail":{"order":"o-7","state":"paid"}}`)
	call := &deliver.Invocation{Target: tg, Event: ev, Input: ev, Trace: trace, ID: "x"}
	if err := inv.Invoke(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	rc := <-got
	if rc.r.Method != "POST" || rc.r.URL.Path != "/api-a1b2c3/prod/orders/o-7" || rc.r.URL.Query().Get("state") != "paid" || rc.r.URL.Query().Get("v") != "1" {
		t.Errorf("%s %s, want POST /api-a1b2c3/prod/orders/o-7?state=paid&v=1", rc.r.Method, rc.r.URL)
	}
	if string(rc.body) != string(ev) || rc.r.Header.Get("X-Tenant") != "blue" || rc.r.Header.Get("X-Amzn-Trace-Id") != trace || rc.r.Host == "evil" {
		t.Errorf("body %s headers %v: want the event, X-Tenant, the trace header", rc.body, rc.r.Header)
	}
	if rc.sigErr != nil || rc.identity == nil || rc.identity.Service != "execute-api" || rc.identity.Region != "us-east-1" {
		t.Errorf("signature: %v %+v, want SigV4 for execute-api in us-east-1", rc.sigErr, rc.identity)
	}

	// Without a role the call is not signed: an API without IAM
	// authorization takes it as it is.
	tg.RoleArn = nil
	if err := inv.Invoke(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	if rc := <-got; rc.r.Header.Get("Authorization") != "" {
		t.Errorf("a target without a role was signed: %s", rc.r.Header.Get("Authorization"))
	}
}

// TestAPIGatewayAnswers: 5xx and 429 are retried, other 4xx are not
// ("Amazon EventBridge targets for Amazon API Gateway", EventBridge User
// Guide).
func TestAPIGatewayAnswers(t *testing.T) {
	for _, c := range []struct {
		status    int
		permanent bool
	}{{500, false}, {503, false}, {429, false}, {404, true}, {403, true}, {400, true}} {
		url, _ := endpoint(t, "execute-api", c.status)
		inv := signedInvokers(t, map[string]string{"execute-api": url})["execute-api"]
		err := inv.Invoke(context.Background(), &deliver.Invocation{Target: &control.Target{Id: "t", Arn: "arn:aws:execute-api:us-east-1:1:api/prod/GET/x"},
			Event: []byte(`{}`), Input: []byte(`{}`)})
		var de *deliver.Error
		if !errors.As(err, &de) || de.Permanent != c.permanent {
			t.Errorf("status %d: %v, want permanent %v", c.status, err, c.permanent)
		}
	}
}

func TestAppSync(t *testing.T) {
	url, got := endpoint(t, "appsync", 200)
	inv := signedInvokers(t, map[string]string{"appsync": url + "/{id}"})["appsync"]
	op := "mutation Publish($message: String!){ publish(message: $message) { message } }"
	tg := &control.Target{Id: "t", Arn: "arn:aws:appsync:us-east-1:123456789012:endpoints/graphql-api/abcdefghijklmnopqrstuvwxyz",
		RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), AppSyncParameters: &control.AppSyncParameters{GraphQLOperation: &op}}
	in := []byte(`{"message":"hello world"}`)
	if err := inv.Invoke(context.Background(), &deliver.Invocation{Target: tg, Event: []byte(`{"id":"e1"}`), Input: in}); err != nil {
		t.Fatal(err)
	}
	rc := <-got
	if rc.r.Method != "POST" || rc.r.URL.Path != "/abcdefghijklmnopqrstuvwxyz/graphql" {
		t.Errorf("%s %s, want POST /<id>/graphql", rc.r.Method, rc.r.URL)
	}
	var req struct {
		Query     string
		Variables map[string]string
	}
	if err := json.Unmarshal(rc.body, &req); err != nil || req.Query != op || req.Variables["message"] != "hello world" {
		t.Errorf("GraphQL request %s: want the operation and the input as variables", rc.body)
	}
	if rc.sigErr != nil || rc.identity == nil || rc.identity.Service != "appsync" {
		t.Errorf("signature: %v %+v, want SigV4 for appsync (AWS_IAM)", rc.sigErr, rc.identity)
	}
	// Variables must be an object: other input cannot be sent.
	err := inv.Invoke(context.Background(), &deliver.Invocation{Target: tg, Event: []byte(`{}`), Input: []byte(`"text"`)})
	var de *deliver.Error
	if !errors.As(err, &de) || !de.Permanent {
		t.Errorf("a string input: %v, want a permanent failure", err)
	}
}
