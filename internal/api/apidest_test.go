package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
)

func TestValidateConnectionShapes(t *testing.T) {
	basic := func(user, pass *string) *createConnectionIn {
		return &createConnectionIn{Name: ptr("c"), AuthorizationType: ptr("BASIC"),
			AuthParameters: &createAuthIn{BasicAuthParameters: &basicAuthCreateIn{Username: user, Password: pass}}}
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"valid basic", basic(ptr("u"), ptr("p")), ""},
		{"missing auth parameters", &createConnectionIn{Name: ptr("c"), AuthorizationType: ptr("BASIC")},
			"1 validation error detected: Value null at 'authParameters' failed to satisfy constraint: Member must not be null"},
		{"null password", basic(ptr("u"), nil),
			"Value null at 'authParameters.basicAuthParameters.password' failed to satisfy constraint: Member must not be null"},
		// A secret that breaks a constraint is never echoed.
		{"sensitive value not echoed", basic(ptr("u"), ptr("sec:ret")),
			`1 validation error detected: Value at 'authParameters.basicAuthParameters.password' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$`},
		{"username echoed", basic(ptr("a:b"), ptr("p")), "Value 'a:b' at 'authParameters.basicAuthParameters.username'"},
		{"auth type", &createConnectionIn{Name: ptr("c"), AuthorizationType: ptr("DIGEST"), AuthParameters: &createAuthIn{}},
			"Value 'DIGEST' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"},
		{"oauth method", &createConnectionIn{Name: ptr("c"), AuthorizationType: ptr("OAUTH_CLIENT_CREDENTIALS"),
			AuthParameters: &createAuthIn{OAuthParameters: &oauthCreateIn{ClientParameters: &oauthClientCreateIn{ptr("i"), ptr("s")},
				AuthorizationEndpoint: ptr("https://a/token"), HttpMethod: ptr("PATCH")}}},
			"Value 'PATCH' at 'authParameters.oAuthParameters.httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [GET, POST, PUT]"},
		{"header key", &createConnectionIn{Name: ptr("c"), AuthorizationType: ptr("API_KEY"),
			AuthParameters: &createAuthIn{ApiKeyAuthParameters: &apiKeyCreateIn{ptr("x-key"), ptr("v")},
				InvocationHttpParameters: &connHTTPParamsIn{HeaderParameters: []headerParamIn{{Key: ptr("ok")}, {Key: ptr("bad key"), Value: ptr("secret\x01"), IsValueSecret: true}}}}},
			"2 validation errors detected: Value 'bad key' at 'authParameters.invocationHttpParameters.headerParameters.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$; " +
				"Value at 'authParameters.invocationHttpParameters.headerParameters.2.member.value' failed to satisfy constraint"},
		{"destination method", &createApiDestinationIn{Name: ptr("d"), ConnectionArn: ptr("arn:aws:events:us-east-1:123456789012:connection/c/1-2"),
			InvocationEndpoint: ptr("https://x/y"), HttpMethod: ptr("TRACE")},
			"Value 'TRACE' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]"},
		{"destination connection arn", &createApiDestinationIn{Name: ptr("d"), ConnectionArn: ptr("arn:aws:events:us-east-1:123456789012:connection/c"),
			InvocationEndpoint: ptr("https://x/y"), HttpMethod: ptr("POST")},
			`Value 'arn:aws:events:us-east-1:123456789012:connection/c' at 'connectionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$`},
		{"rate limit", &updateApiDestinationIn{Name: ptr("d"), InvocationRateLimitPerSecond: ptr(int32(0))},
			"Value '0' at 'invocationRateLimitPerSecond' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"endpoint with a space", &updateApiDestinationIn{Name: ptr("d"), InvocationEndpoint: ptr("https://x/a b")},
			"at 'invocationEndpoint' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"list state", &listConnectionsIn{ConnectionState: ptr("READY")}, "at 'connectionState' failed to satisfy constraint: Member must satisfy enum value set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := checkValidate(t, tt.in, tt.want)
			if strings.Contains(msg, "sec:ret") || strings.Contains(msg, "secret\x01") {
				t.Errorf("message echoes a secret: %s", msg)
			}
		})
	}
}

// newSecretsHandler is newTestHandler with a secrets key, returning the
// store too so that tests can read the bucket.
func newSecretsHandler(t *testing.T) (*Handler, *store.Store) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, ctl := controltest.Open(t, store.Config{Logger: log})
	box, err := secretbox.LoadOrCreate(filepath.Join(t.TempDir(), "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctl.Secrets = box
	return New(ctl, ingest.NewService(st.JS, ctl, log), log, 0, nil), st
}

func mustCall(t *testing.T, h http.Handler, op, body string, wantStatus int) map[string]any {
	t.Helper()
	rec := call(h, op, []byte(body))
	if rec.Code != wantStatus {
		t.Fatalf("%s: status %d, want %d: %s", op, rec.Code, wantStatus, rec.Body.String())
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConnectionLifecycle(t *testing.T) {
	h, st := newSecretsHandler(t)
	out := mustCall(t, h, "CreateConnection", `{"Name":"hook","AuthorizationType":"BASIC",
		"AuthParameters":{"BasicAuthParameters":{"Username":"alice","Password":"pa55-w0rd-plain"},
		"InvocationHttpParameters":{"HeaderParameters":[{"Key":"X-Team","Value":"blue"},{"Key":"X-Token","Value":"tok-plain-secret","IsValueSecret":true}]}}}`, 200)
	arn, _ := out["ConnectionArn"].(string)
	if !regexp.MustCompile(`^arn:aws:events:us-east-1:[0-9]{12}:connection/hook/[0-9a-f-]{36}$`).MatchString(arn) || out["ConnectionState"] != "AUTHORIZED" {
		t.Fatalf("CreateConnection = %v", out)
	}
	mustCall(t, h, "CreateConnection", `{"Name":"hook","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"k","ApiKeyValue":"v"}}}`, 400)
	rec := call(h, "CreateConnection", []byte(`{"Name":"mixed","AuthorizationType":"API_KEY","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "ValidationException") {
		t.Errorf("auth parameters of another type: %d %s", rec.Code, rec.Body.String())
	}

	desc := call(h, "DescribeConnection", []byte(`{"Name":"hook"}`)).Body.String()
	for _, secret := range []string{"pa55-w0rd-plain", "tok-plain-secret", "Password"} {
		if strings.Contains(desc, secret) {
			t.Errorf("DescribeConnection shows %q: %s", secret, desc)
		}
	}
	for _, want := range []string{`"Username":"alice"`, `"Key":"X-Team","Value":"blue"`, `"Key":"X-Token","IsValueSecret":true`,
		`"SecretArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/hook/`} {
		if !strings.Contains(desc, want) {
			t.Errorf("DescribeConnection lacks %s: %s", want, desc)
		}
	}

	// The bucket holds the record, never the plaintext.
	e, err := st.Control.Get(context.Background(), "conn.123456789012.us-east-1.hook")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"pa55-w0rd-plain", "tok-plain-secret", "alice"} {
		if bytes.Contains(e.Value(), []byte(secret)) {
			t.Errorf("bucket record holds %q in plaintext: %s", secret, e.Value())
		}
	}

	mustCall(t, h, "CreateConnection", `{"Name":"oauth","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{
		"ClientParameters":{"ClientID":"id","ClientSecret":"s"},"AuthorizationEndpoint":"https://auth.example/token","HttpMethod":"POST"}}}`, 200)
	list := call(h, "ListConnections", []byte(`{"ConnectionState":"AUTHORIZING"}`)).Body.String()
	if !strings.Contains(list, `"Name":"oauth"`) || strings.Contains(list, `"Name":"hook"`) {
		t.Errorf("ListConnections AUTHORIZING: %s", list)
	}
	page := mustCall(t, h, "ListConnections", `{"Limit":1}`, 200)
	if page["NextToken"] == nil || len(page["Connections"].([]any)) != 1 {
		t.Errorf("ListConnections Limit 1: %v", page)
	}

	// An update without credentials keeps them and the state.
	up := mustCall(t, h, "UpdateConnection", `{"Name":"hook","Description":"d2"}`, 200)
	if up["ConnectionState"] != "AUTHORIZED" {
		t.Errorf("UpdateConnection: %v", up)
	}
	de := mustCall(t, h, "DeauthorizeConnection", `{"Name":"hook"}`, 200)
	if de["ConnectionState"] != "DEAUTHORIZING" {
		t.Errorf("DeauthorizeConnection: %v", de)
	}
	if d := mustCall(t, h, "DescribeConnection", `{"Name":"hook"}`, 200); d["ConnectionState"] != "DEAUTHORIZED" || d["Description"] != "d2" {
		t.Errorf("after deauthorize: %v", d)
	}
	// Reauthorizing needs the password again.
	rec = call(h, "UpdateConnection", []byte(`{"Name":"hook","AuthParameters":{"BasicAuthParameters":{"Username":"bob"}}}`))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "Password") {
		t.Errorf("reauthorize without password: %d %s", rec.Code, rec.Body.String())
	}
	up = mustCall(t, h, "UpdateConnection", `{"Name":"hook","AuthParameters":{"BasicAuthParameters":{"Password":"n3w"}}}`, 200)
	if up["ConnectionState"] != "AUTHORIZED" {
		t.Errorf("reauthorize: %v", up)
	}

	// API destinations.
	rec = call(h, "CreateApiDestination", []byte(`{"Name":"d","ConnectionArn":"arn:aws:events:us-east-1:123456789012:connection/nope/0000","InvocationEndpoint":"https://x/y","HttpMethod":"POST"}`))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"Failed to describe the connection(s). Connection 'nope' does not exist."`) {
		t.Errorf("destination on a missing connection: %d %s", rec.Code, rec.Body.String())
	}
	rec = call(h, "CreateApiDestination", []byte(`{"Name":"d","ConnectionArn":"`+arn+`","InvocationEndpoint":"ftp://x/y","HttpMethod":"POST"}`))
	if rec.Code != 400 {
		t.Errorf("ftp endpoint accepted: %s", rec.Body.String())
	}
	d := mustCall(t, h, "CreateApiDestination", `{"Name":"d","ConnectionArn":"`+arn+`","InvocationEndpoint":"https://x/*/y","HttpMethod":"PUT"}`, 200)
	darn, _ := d["ApiDestinationArn"].(string)
	if !regexp.MustCompile(`^arn:aws:events:us-east-1:123456789012:api-destination/d/[0-9a-f-]{36}$`).MatchString(darn) || d["ApiDestinationState"] != "ACTIVE" {
		t.Errorf("CreateApiDestination = %v", d)
	}
	dd := mustCall(t, h, "DescribeApiDestination", `{"Name":"d"}`, 200)
	if dd["InvocationRateLimitPerSecond"] != float64(300) || dd["HttpMethod"] != "PUT" || dd["ConnectionArn"] != arn {
		t.Errorf("DescribeApiDestination = %v", dd)
	}
	mustCall(t, h, "UpdateApiDestination", `{"Name":"d","InvocationRateLimitPerSecond":5}`, 200)
	ld := mustCall(t, h, "ListApiDestinations", `{"ConnectionArn":"`+arn+`"}`, 200)
	if items := ld["ApiDestinations"].([]any); len(items) != 1 || items[0].(map[string]any)["InvocationRateLimitPerSecond"] != float64(5) {
		t.Errorf("ListApiDestinations = %v", ld)
	}
	mustCall(t, h, "DeleteApiDestination", `{"Name":"d"}`, 200)
	rec = call(h, "DescribeApiDestination", []byte(`{"Name":"d"}`))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"Failed to describe the api-destination(s). An api-destination 'd' does not exist."`) {
		t.Errorf("describe deleted destination: %s", rec.Body.String())
	}

	del := mustCall(t, h, "DeleteConnection", `{"Name":"hook"}`, 200)
	if del["ConnectionState"] != "DELETING" || del["ConnectionArn"] != arn {
		t.Errorf("DeleteConnection = %v", del)
	}
	rec = call(h, "DescribeConnection", []byte(`{"Name":"hook"}`))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "ResourceNotFoundException") {
		t.Errorf("describe deleted connection: %s", rec.Body.String())
	}
}
