package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// captured is a request as a server received it, with its body.
type captured struct {
	r    *http.Request
	body []byte
}

// v4aRequest has aws-sdk-go-v2 sign a PutEvents with an EndpointId — which
// the SDK signs with SigV4a for every region — and returns it as received.
func v4aRequest(t *testing.T, id, secret string) captured {
	t.Helper()
	got := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- captured{r.Clone(context.Background()), b}:
		default:
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"Entries":[],"FailedEntryCount":0}`))
	}))
	defer srv.Close()
	c := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""), RetryMaxAttempts: 1})
	if _, err := c.PutEvents(context.Background(), &eventbridge.PutEventsInput{EndpointId: aws.String("abcde12345.veo"),
		Entries: []types.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}")}}}); err != nil {
		t.Fatal(err)
	}
	return <-got
}

// SigV4a signatures by the SDK verify with the public key derived from the
// secret; a wrong secret, a changed body, a region set changed after
// signing and an unsigned region set do not.
func TestVerifyV4a(t *testing.T) {
	const id, secret = "AKIDV4AEXAMPLE", "v4a/secret+KEY"
	req := v4aRequest(t, id, secret)
	if !strings.HasPrefix(req.r.Header.Get("Authorization"), AlgorithmV4a+" ") {
		t.Fatalf("the SDK did not sign with SigV4a: %s", req.r.Header.Get("Authorization"))
	}
	verifier := func(secret string) *Verifier {
		return &Verifier{Credentials: keyring{id: {AccessKeyID: id, SecretAccessKey: secret}}, Service: "events"}
	}
	fresh := func() *http.Request {
		r := req.r.Clone(context.Background())
		r.Body = io.NopCloser(bytes.NewReader(req.body))
		return r
	}
	got, err := verifier(secret).Verify(fresh(), req.body)
	if err != nil {
		t.Fatalf("the SDK's SigV4a signature: %v", err)
	}
	if got.RegionSet != "*" || got.Region != "" || got.Key.AccessKeyID != id || time.Since(got.Time) > time.Minute {
		t.Errorf("identity %+v", got)
	}
	if _, err := verifier("another secret").Verify(fresh(), req.body); !isCode(err, CodeInvalidSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := verifier(secret).Verify(fresh(), append([]byte(nil), bytes.Replace(req.body, []byte(`"s"`), []byte(`"x"`), 1)...)); !isCode(err, CodeInvalidSignature) {
		t.Errorf("changed body: %v", err)
	}
	r := fresh()
	r.Header.Set("X-Amz-Region-Set", "us-east-1")
	if _, err := verifier(secret).Verify(r, req.body); !isCode(err, CodeInvalidSignature) {
		t.Errorf("region set changed after signing: %v", err)
	}
	r = fresh()
	r.Header.Del("X-Amz-Region-Set")
	if _, err := verifier(secret).Verify(r, req.body); !isCode(err, CodeIncompleteSignature) {
		t.Errorf("no region set: %v", err)
	}
}

func isCode(err error, code string) bool {
	e, ok := err.(*Error)
	return ok && e.Code == code
}

func TestRegionSetCovers(t *testing.T) {
	for _, tt := range []struct {
		set, region string
		want        bool
	}{
		{"*", "eu-west-1", true}, {"us-east-1", "us-east-1", true}, {"us-east-1", "us-east-2", false},
		{"us-*", "us-west-2", true}, {"us-*", "eu-west-1", false}, {"eu-west-1, us-east-1", "us-east-1", true},
		{"*-west-*", "eu-west-3", true}, {"", "us-east-1", false},
	} {
		if got := RegionSetCovers(tt.set, tt.region); got != tt.want {
			t.Errorf("RegionSetCovers(%q, %q) = %v", tt.set, tt.region, got)
		}
	}
}
