package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

// The tests of --auth sigv4: real aws-sdk-go-v2 clients sign with keys of a
// credentials file the test writes, against a real server process.

const authKeys = `keys:
  - access_key_id: AKIAALICEEXAMPLE
    secret_access_key: alice/secret+KEY
    account: "111122223333"
    principal: alice
  # A 12-digit key id is only a key id: the account is the file's.
  - access_key_id: "444455556666"
    secret_access_key: digits-secret
    account: "777788889999"
  - access_key_id: ASIASESSIONEXAMPLE
    secret_access_key: session-secret
    account: "111122223333"
    session_token: FwoGZXIvYXdzEXAMPLE//token+=
  - access_key_id: ASIAEXPIREDEXAMPLE
    secret_access_key: expired-secret
    account: "111122223333"
    session_token: old-token
    expiration: 2020-01-01T00:00:00Z
`

// writeCredentials replaces the credentials file at path as a
// configuration tool would: a new file renamed over the old.
func writeCredentials(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func startAuthServer(t *testing.T, keys string) (*server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	writeCredentials(t, path, keys)
	return startServer(t, "--auth", "sigv4", "--credentials-file", path), path
}

// shiftedSigner signs as a client whose clock is off by skew.
type shiftedSigner struct {
	skew time.Duration
	v4.Signer
}

func (s shiftedSigner) SignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payloadHash, service, region string, t time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.Signer.SignHTTP(ctx, c, r, payloadHash, service, region, t.Add(s.skew), opts...)
}

func (s *server) signedClient(id, secret, token, region string, opts ...func(*eventbridge.Options)) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           region,
		BaseEndpoint:     aws.String("http://" + s.addr),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		RetryMaxAttempts: 1,
	}, opts...)
}

func wantAPIError(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v, want %s", what, err, code)
		return
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Errorf("%s:\n got %s: %q\nwant %s: %q", what, ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("%s: HTTP %d, want 400", what, re.HTTPStatusCode())
	}
}

func TestAuthSigV4(t *testing.T) {
	s, _ := startAuthServer(t, authKeys)
	alice := s.signedClient("AKIAALICEEXAMPLE", "alice/secret+KEY", "", "us-east-1")

	// The allowed call acts in the file's account.
	out, err := alice.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	if err != nil {
		t.Fatalf("CreateEventBus with a key from the file: %v", err)
	}
	if got, want := aws.ToString(out.EventBusArn), "arn:aws:events:us-east-1:111122223333:event-bus/orders"; got != want {
		t.Errorf("bus ARN %s, want %s", got, want)
	}
	digits := s.signedClient("444455556666", "digits-secret", "", "eu-west-1")
	out, err = digits.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.EventBusArn), "arn:aws:events:eu-west-1:777788889999:event-bus/orders"; got != want {
		t.Errorf("bus ARN %s, want %s (the account of the file, not the key id)", got, want)
	}
	pe, err := alice.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String("orders"), Source: aws.String("app.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(`{"id":1}`)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Errorf("PutEvents signed: %+v, %v", pe, err)
	}

	session := s.signedClient("ASIASESSIONEXAMPLE", "session-secret", "FwoGZXIvYXdzEXAMPLE//token+=", "us-east-1")
	if _, err := session.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
		t.Errorf("a key with its session token: %v", err)
	}

	const invalidToken = "The security token included in the request is invalid."
	for _, tt := range []struct {
		name      string
		client    *eventbridge.Client
		code, msg string
	}{
		{"unknown key", s.signedClient("AKIAUNKNOWNEXAMPLE", "x", "", "us-east-1"), "UnrecognizedClientException", invalidToken},
		{"bad secret", s.signedClient("AKIAALICEEXAMPLE", "not-alice's", "", "us-east-1"), "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		{"session token missing", s.signedClient("ASIASESSIONEXAMPLE", "session-secret", "", "us-east-1"), "UnrecognizedClientException", invalidToken},
		{"session token wrong", s.signedClient("ASIASESSIONEXAMPLE", "session-secret", "FwoGZXIvYXdzEXAMPLE//token+!", "us-east-1"), "UnrecognizedClientException", invalidToken},
		{"session token expired", s.signedClient("ASIAEXPIREDEXAMPLE", "expired-secret", "old-token", "us-east-1"), "ExpiredTokenException",
			"The security token included in the request is expired"},
		{"invalid region", s.signedClient("AKIAALICEEXAMPLE", "alice/secret+KEY", "", "moon-1"), "InvalidSignatureException",
			"Credential should be scoped to a valid region, not 'moon-1'. "},
	} {
		_, err := tt.client.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
		wantAPIError(t, tt.name, err, tt.code, tt.msg)
	}

	// A clock 10 minutes slow, then 10 minutes fast.
	for _, skew := range []time.Duration{-10 * time.Minute, 10 * time.Minute} {
		c := s.signedClient("AKIAALICEEXAMPLE", "alice/secret+KEY", "", "us-east-1", func(o *eventbridge.Options) {
			o.HTTPSignerV4 = shiftedSigner{skew: skew, Signer: *v4.NewSigner()}
		})
		_, err := c.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
		var ae smithy.APIError
		want := "Signature expired: "
		if skew > 0 {
			want = "Signature not yet current: "
		}
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" || !strings.HasPrefix(ae.ErrorMessage(), want) ||
			!strings.Contains(ae.ErrorMessage(), " 5 min.)") {
			t.Errorf("clock off by %v: %v", skew, err)
		}
	}

	// No Authorization at all.
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AWSEvents.ListEventBuses")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	code, msg, status := authCall(t, req)
	if code != "MissingAuthenticationTokenException" || msg != "Request is missing Authentication Token" || status != http.StatusBadRequest {
		t.Errorf("no Authorization: %d %s %q", status, code, msg)
	}
}

// authCall sends req and returns AWS's error type, message and the status.
func authCall(t *testing.T, req *http.Request) (code, msg string, status int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(data, &e)
	return e.Type, e.Message, resp.StatusCode
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A presigned URL works as the Authorization header does, and a changed
// body breaks it.
func TestAuthPresigned(t *testing.T) {
	s, _ := startAuthServer(t, authKeys)
	if _, err := s.signedClient("AKIAALICEEXAMPLE", "alice/secret+KEY", "", "us-east-1").CreateEventBus(ctx(t),
		&eventbridge.CreateEventBusInput{Name: aws.String("presigned")}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"NamePrefix":"pre"}`)
	presign := func(id, secret, token string) string {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/?X-Amz-Expires=300", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "AWSEvents.ListEventBuses")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		u, _, err := v4.NewSigner().PresignHTTP(ctx(t), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token},
			req, sha256Hex(body), "events", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	send := func(u string, b []byte) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
		req.Header.Set("X-Amz-Target", "AWSEvents.ListEventBuses")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		return req
	}
	u := presign("AKIAALICEEXAMPLE", "alice/secret+KEY", "")
	if !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Credential=") {
		t.Fatalf("not a presigned URL: %s", u)
	}
	resp, err := http.DefaultClient.Do(send(u, body))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), "arn:aws:events:us-east-1:111122223333:event-bus/presigned") {
		t.Errorf("presigned ListEventBuses: %d %s", resp.StatusCode, data)
	}
	if code, _, _ := authCall(t, send(u, []byte(`{"NamePrefix":"other"}`))); code != "InvalidSignatureException" {
		t.Errorf("presigned URL with another body: %s", code)
	}
	u = presign("ASIASESSIONEXAMPLE", "session-secret", "FwoGZXIvYXdzEXAMPLE//token+=")
	if code, msg, status := authCall(t, send(u, body)); status != http.StatusOK {
		t.Errorf("presigned with a session token: %d %s %s", status, code, msg)
	}
	u = presign("ASIASESSIONEXAMPLE", "session-secret", "other-token")
	if code, _, _ := authCall(t, send(u, body)); code != "UnrecognizedClientException" {
		t.Errorf("presigned with a wrong session token: %s", code)
	}
}

// The file is reloaded without a restart: on a change, and on SIGHUP; a
// bad file keeps the keys in force.
func TestAuthReload(t *testing.T) {
	s, path := startAuthServer(t, authKeys)
	bob := s.signedClient("AKIABOBEXAMPLE", "bob-secret", "", "us-east-1")
	_, err := bob.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
	wantAPIError(t, "bob before he is in the file", err, "UnrecognizedClientException", "")

	withBob := authKeys + `  - access_key_id: AKIABOBEXAMPLE
    secret_access_key: bob-secret
    account: "222233334444"
`
	writeCredentials(t, path, withBob)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := bob.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("bobs")})
		if err == nil {
			if !strings.Contains(aws.ToString(out.EventBusArn), ":222233334444:") {
				t.Errorf("bob's bus %s is not in bob's account", aws.ToString(out.EventBusArn))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a key added to the file does not work after 10s: %v\n%s", err, s.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A broken file is logged and the keys in force stay.
	writeCredentials(t, path, withBob+"  - access_key_id: [\n")
	waitLog(t, s, "credentials file not reloaded")
	if _, err := bob.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
		t.Errorf("bob after a bad file: %v", err)
	}

	// SIGHUP: bob removed again.
	writeCredentials(t, path, authKeys)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s, "SIGHUP, reloading the credentials file")
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := bob.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "UnrecognizedClientException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a key removed from the file still works after SIGHUP: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.signedClient("AKIAALICEEXAMPLE", "alice/secret+KEY", "", "us-east-1").ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
		t.Errorf("the server after SIGHUP: %v", err)
	}
}

func waitLog(t *testing.T, s *server, text string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.logs(), text); {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", text, s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The rule-fire endpoint authenticates as the API does.
func TestAuthFireEndpoint(t *testing.T) {
	s, _ := startAuthServer(t, authKeys)
	body := []byte(`{"Name":"no-such-rule"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/_switchyard/rules/fire", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if code, _, _ := authCall(t, req); code != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned fire: %s", code)
	}
	req, _ = http.NewRequest(http.MethodPost, "http://"+s.addr+"/_switchyard/rules/fire", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := v4.NewSigner().SignHTTP(ctx(t), aws.Credentials{AccessKeyID: "AKIAALICEEXAMPLE", SecretAccessKey: "alice/secret+KEY"},
		req, sha256Hex(body), "events", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, msg, _ := authCall(t, req); code != "ResourceNotFoundException" {
		t.Errorf("signed fire of a missing rule: %s %s", code, msg)
	}

	// `switchyard rules fire` signs with the AWS credentials of its
	// environment, as the AWS CLI would.
	for _, tt := range []struct{ secret, want string }{
		{"alice/secret+KEY", "ResourceNotFoundException"},
		{"wrong", "InvalidSignatureException"},
	} {
		cli := exec.Command(binary, "rules", "fire", "--name", "no-such-rule", "--endpoint", "http://"+s.addr, "--region", "us-east-1")
		cli.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIAALICEEXAMPLE", "AWS_SECRET_ACCESS_KEY="+tt.secret, "AWS_SESSION_TOKEN=",
			"AWS_PROFILE=", "AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"))
		out, err := cli.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("rules fire with secret %q: %v %s, want %s", tt.secret, err, out, tt.want)
		}
	}
}

// --auth sigv4 without a credentials file fails at once, saying what to do;
// --auth none warns.
func TestAuthStartup(t *testing.T) {
	start := time.Now()
	out, err := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--credentials-file") || !strings.Contains(string(out), "--auth none") {
		t.Errorf("sigv4 without a file: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("refusing took %v", took)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeCredentials(t, bad, "keys:\n  - access_key_id: AKID\n    secret_access_key: s\n    account: \"12\"\n")
	out, err = exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--credentials-file", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "must be 12 digits") {
		t.Errorf("a bad credentials file: %v\n%s", err, out)
	}
	s := startServer(t) // the harness's dev mode
	if !strings.Contains(s.logs(), "level=WARN") || !strings.Contains(s.logs(), "AUTHENTICATION IS OFF") {
		t.Errorf("--auth none does not warn:\n%s", s.logs())
	}
}

// PutEvents with an EndpointId is signed SigV4a by the SDK (ECDSA, every
// region): verified against the file's key, it reaches the operation (an
// endpoint that does not exist is the answer); signed with a wrong secret
// it is refused.
func TestAuthSigV4a(t *testing.T) {
	s, _ := startAuthServer(t, authKeys)
	put := func(secret string) error {
		_, err := s.signedClient("AKIAALICEEXAMPLE", secret, "", "us-east-1").PutEvents(ctx(t), &eventbridge.PutEventsInput{
			EndpointId: aws.String("nosuch1234.veo"),
			Entries:    []types.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}")}}})
		return err
	}
	var ae smithy.APIError
	if err := put("alice/secret+KEY"); !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("SigV4a-signed PutEvents with an unknown EndpointId: %v, want ResourceNotFoundException (past authentication)", err)
	}
	wantAPIError(t, "SigV4a with a wrong secret", put("wrong"), "InvalidSignatureException", "")
}
