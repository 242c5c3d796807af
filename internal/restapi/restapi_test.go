package restapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
)

const credentials = `keys:
  - access_key_id: AKIDSCHEMAS0000000001
    secret_access_key: secret-one
    account: "111122223333"
  - access_key_id: AKIDREADONLY000000001
    secret_access_key: secret-two
    account: "111122223333"
    principal: reader
    policies:
      - |
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"schemas:Describe*","Resource":"*"}]}
`

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := os.WriteFile(path, []byte(credentials), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := auth.OpenStore(path, log)
	if err != nil {
		t.Fatal(err)
	}
	authn := auth.ForService(auth.NewSigV4(store, log), "schemas")
	svc := restapi.New("schemas", restapi.Options{Auth: authn, Log: log, CodeField: "Code"})
	svc.Handle("DescribeRegistry", "GET /v1/registries/name/{RegistryName}", nil, func(_ context.Context, r *restapi.Request) (*restapi.Response, error) {
		if r.Path("RegistryName") == "missing" {
			return nil, &awserr.Error{Code: "NotFoundException", Message: "Registry with name 'missing' does not exist.", Status: http.StatusNotFound}
		}
		return restapi.OK(map[string]string{"RegistryName": r.Path("RegistryName"), "Account": r.Scope.Account, "Region": r.Scope.Region})
	})
	svc.Handle("CreateRegistry", "POST /v1/registries/name/{RegistryName}", nil, func(_ context.Context, r *restapi.Request) (*restapi.Response, error) {
		var in struct{ Description string }
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		return &restapi.Response{Status: http.StatusCreated, Body: map[string]string{"Description": in.Description}}, nil
	})
	events := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("events")) })
	srv := httptest.NewServer(restapi.Dispatch(events, svc))
	t.Cleanup(srv.Close)
	return srv
}

// do signs a request as the AWS SDKs do, for service, and returns the
// answer's status, error type and body.
func do(t *testing.T, srv *httptest.Server, service, key, secret, method, path string, body []byte) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), service, "eu-west-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if service == "schemas" {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, data, err)
		}
	} else {
		out = map[string]any{"raw": string(data)}
	}
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), out
}

func TestService(t *testing.T) {
	srv := newServer(t)
	const key, secret = "AKIDSCHEMAS0000000001", "secret-one"
	tests := []struct {
		name, service, key, secret, method, path, body string
		status                                         int
		code, field, want                              string
	}{
		{"routed by signing name", "schemas", key, secret, "GET", "/v1/registries/name/orders", "", 200, "", "Account", "111122223333"},
		{"region from the scope", "schemas", key, secret, "GET", "/v1/registries/name/orders", "", 200, "", "Region", "eu-west-1"},
		{"escaped label", "schemas", key, secret, "GET", "/v1/registries/name/a%2Fb", "", 200, "", "RegistryName", "a/b"},
		{"JSON body and status", "schemas", key, secret, "POST", "/v1/registries/name/orders", `{"Description":"d"}`, 201, "", "Description", "d"},
		{"modelled error", "schemas", key, secret, "GET", "/v1/registries/name/missing", "", 404, "NotFoundException", "Message", "Registry with name 'missing' does not exist."},
		{"bad JSON", "schemas", key, secret, "POST", "/v1/registries/name/orders", `{"Description":1}`, 400, "SerializationException", "Message", "Unexpected value type in payload at 'Description'"},
		{"no such route", "schemas", key, secret, "DELETE", "/v1/nothing", "", 404, "UnknownOperationException", "", ""},
		{"wrong secret", "schemas", key, "nope", "GET", "/v1/registries/name/orders", "", 400, "InvalidSignatureException", "", ""},
		{"identity policy allows", "schemas", "AKIDREADONLY000000001", "secret-two", "GET", "/v1/registries/name/orders", "", 200, "", "RegistryName", "orders"},
		{"identity policy denies", "schemas", "AKIDREADONLY000000001", "secret-two", "POST", "/v1/registries/name/orders", "{}", 403, "AccessDeniedException", "", ""},
		{"other services fall through", "events", key, secret, "POST", "/", "{}", 200, "", "raw", "events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code, out := do(t, srv, tc.service, tc.key, tc.secret, tc.method, tc.path, []byte(tc.body))
			if status != tc.status || code != tc.code {
				t.Fatalf("got %d %q %v, want %d %q", status, code, out, tc.status, tc.code)
			}
			if tc.field != "" && out[tc.field] != tc.want {
				t.Fatalf("%s = %v, want %q (body %v)", tc.field, out[tc.field], tc.want, out)
			}
			if tc.code != "" && (out["Message"] == nil || out["Code"] != tc.code) {
				t.Fatalf("error without Message, or without Code (CodeField): %v", out)
			}
		})
	}
}

func TestSigningName(t *testing.T) {
	tests := []struct{ authz, query, want string }{
		{"AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/scheduler/aws4_request, SignedHeaders=host, Signature=x", "", "scheduler"},
		{"AWS4-ECDSA-P256-SHA256 Credential=AKID/20261207/events/aws4_request, SignedHeaders=host, Signature=x", "", "events"},
		{"", "X-Amz-Credential=AKID%2F20261207%2Fus-east-1%2Fpipes%2Faws4_request", "pipes"},
		{"", "", ""},
		{"Bearer x", "X-Amz-Credential=garbage", ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/?"+tc.query, nil)
		if tc.authz != "" {
			r.Header.Set("Authorization", tc.authz)
		}
		if got := restapi.SigningName(r); got != tc.want {
			t.Errorf("SigningName(%q, %q) = %q, want %q", tc.authz, tc.query, got, tc.want)
		}
	}
}

// refuseAll is a quota that every request is over.
type refuseAll struct{}

func (refuseAll) Allow(context.Context, control.Scope, string) error {
	return awserr.New("ThrottlingException", "Rate exceeded")
}

// A request over its quota gets the service's own throttling error with
// HTTP 429, as the REST-JSON models have it (EventBridge's JSON 1.1 answer
// is a 400).
func TestThrottled(t *testing.T) {
	for _, tc := range []struct{ code, want string }{{"", "ThrottlingException"}, {"TooManyRequestsException", "TooManyRequestsException"}} {
		svc := restapi.New("pipes", restapi.Options{Quotas: refuseAll{}, ThrottleCode: tc.code, MessageField: "message"})
		svc.Handle("ListPipes", "GET /v1/pipes", nil, func(context.Context, *restapi.Request) (*restapi.Response, error) { return restapi.OK(nil) })
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/pipes", nil))
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("x-amzn-ErrorType") != tc.want || body["message"] != "Rate exceeded" {
			t.Errorf("ThrottleCode %q: %d %q %v", tc.code, rec.Code, rec.Header().Get("x-amzn-ErrorType"), body)
		}
	}
}
