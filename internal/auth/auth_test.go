package auth

import (
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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard/switchyard/internal/awserr"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const goodFile = `
keys:
  - access_key_id: AKIAALICE
    secret_access_key: alice-secret
    account: "111122223333"
    principal: alice
    policies:
      - Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: "events:Put*", Resource: "*"}
      - '{"Effect": "Deny", "Action": "events:DeleteEventBus", "Resource": "*"}'
  - access_key_id: AKIABOB
    secret_access_key: bob-secret
    account: 012345678901
    principal: arn:aws:iam::012345678901:role/deployer
    session_token: tok
    expiration: 2030-01-02T03:04:05Z
  - access_key_id: "444455556666"
    secret_access_key: s
    account: "444455556666"
`

func TestParseFile(t *testing.T) {
	es, err := ParseFile([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatalf("%d entries", len(es))
	}
	a, b, c := es[0], es[1], es[2]
	if a.Account != "111122223333" || a.Principal != "arn:aws:iam::111122223333:user/alice" || len(a.Policies) != 2 {
		t.Errorf("alice = %+v", a)
	}
	var doc struct {
		Version   string
		Statement []struct{ Effect, Action, Resource string }
	}
	if err := json.Unmarshal(a.Policies[0], &doc); err != nil || doc.Version != "2012-10-17" || doc.Statement[0].Action != "events:Put*" {
		t.Errorf("policy 0 = %s (%v)", a.Policies[0], err)
	}
	if !json.Valid(a.Policies[1]) || !strings.Contains(string(a.Policies[1]), "DeleteEventBus") {
		t.Errorf("policy 1 = %s", a.Policies[1])
	}
	// An unquoted account keeps its leading zero.
	if b.Account != "012345678901" || b.Principal != "arn:aws:iam::012345678901:role/deployer" || b.SessionToken != "tok" ||
		!b.Expiration.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("bob = %+v", b)
	}
	if c.Principal != "arn:aws:iam::444455556666:root" || c.Policies != nil {
		t.Errorf("default principal = %+v", c)
	}
	if es, err := ParseFile(nil); err != nil || len(es) != 0 {
		t.Errorf("empty file = %v, %v", es, err)
	}
}

func TestParseFileErrors(t *testing.T) {
	key := func(extra string) string {
		return "keys:\n  - access_key_id: AKIDX\n    secret_access_key: s\n    account: \"111122223333\"\n" + extra
	}
	for _, tt := range []struct{ file, want string }{
		{"keys: [", "yaml"},
		{"key: []", "field key not found"},
		{key("    secret_acess_key: typo\n"), "secret_acess_key"},
		{"keys:\n  - secret_access_key: s\n    account: \"111122223333\"\n", "keys[0]: access_key_id is required"},
		{"keys:\n  - access_key_id: AK/ID\n    secret_access_key: s\n    account: \"111122223333\"\n", "may hold only"},
		{"keys:\n  - access_key_id: AKID\n    account: \"111122223333\"\n", "keys[0] (AKID): secret_access_key is required"},
		{"keys:\n  - access_key_id: AKID\n    secret_access_key: s\n", "account is required"},
		{"keys:\n  - access_key_id: AKID\n    secret_access_key: s\n    account: 1234\n", "must be 12 digits"},
		{"keys:\n  - access_key_id: AKID\n    secret_access_key: s\n    account: [1]\n", "single value"},
		{key("    principal: \"arn:aws\"\n"), "not an ARN"},
		{key("    principal: \"a b\"\n"), "neither an ARN nor an IAM user name"},
		{key("    expiration: tomorrow\n"), "RFC 3339"},
		{key("    policies: ['{not json']\n"), "policies[0]"},
		{key("    policies: ['[1]']\n"), "must be a JSON object"},
		{key("    policies: [[1]]\n"), "must be a mapping"},
		{key("    policies:\n      - {1: a}\n"), "not expressible as JSON"},
		{key("") + key("")[len("keys:\n"):], "keys[1]: access_key_id AKIDX is also keys[0]'s"},
		{key("    peer_regions: [us-east-1, \"nowhere!\"]\n"), `peer_regions: "nowhere!" is not a region name`},
		{key("    peer_regions: us-east-1\n"), "cannot unmarshal"},
	} {
		_, err := ParseFile([]byte(tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFile(%q) = %v, want an error with %q", tt.file, err, tt.want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func oneKey(id string) string {
	return "keys:\n  - access_key_id: " + id + "\n    secret_access_key: s\n    account: \"111122223333\"\n"
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStoreReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	writeFile(t, path, oneKey("AKIDONE"))
	s, err := OpenStore(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup("AKIDONE"); !ok {
		t.Fatal("AKIDONE not loaded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { s.watch(ctx, 20*time.Millisecond, hup); close(done) }()

	// A change of the file is seen by the poll.
	writeFile(t, path, oneKey("AKIDONE")+oneKey("AKIDTWO")[len("keys:\n"):])
	waitFor(t, "AKIDTWO", func() bool { _, ok := s.Lookup("AKIDTWO"); return ok })

	// A bad file keeps the keys in force.
	writeFile(t, path, "keys: [")
	time.Sleep(100 * time.Millisecond)
	if _, ok := s.Lookup("AKIDTWO"); !ok {
		t.Fatal("a bad file dropped the keys in force")
	}

	// SIGHUP reloads even when nothing about the file looks changed.
	writeFile(t, path, oneKey("AKIDTHRE3"))
	waitFor(t, "AKIDTHRE3", func() bool { _, ok := s.Lookup("AKIDTHRE3"); return ok })
	st, _ := stampOf(path)
	if err := os.WriteFile(path, []byte(oneKey("AKIDFOUR4")), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	_ = os.Chtimes(path, fi.ModTime(), time.Unix(0, st.mtime)) // the same size and mtime: the poll cannot tell
	if now, _ := stampOf(path); now != st {
		t.Skipf("cannot make the file look unchanged (%+v != %+v)", now, st)
	}
	time.Sleep(100 * time.Millisecond)
	if _, ok := s.Lookup("AKIDFOUR4"); ok {
		t.Fatal("the poll saw an unchanged-looking file change; the SIGHUP test below proves nothing")
	}
	hup <- syscall.SIGHUP
	waitFor(t, "AKIDFOUR4 after SIGHUP", func() bool { _, ok := s.Lookup("AKIDFOUR4"); return ok })
	if _, ok := s.Lookup("AKIDONE"); ok {
		t.Error("a key removed from the file still works")
	}
	cancel()
	<-done
}

func TestOpenStoreErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenStore(filepath.Join(dir, "missing.yaml"), quiet); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, oneKey("AKID")+"    account2: x\n")
	if _, err := OpenStore(bad, quiet); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v", err)
	}
}

func signed(t *testing.T, id, secret, token, region string) *http.Request {
	t.Helper()
	body := `{"Name":"orders"}`
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4010/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", "AWSEvents.CreateEventBus")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token},
		r, hex.EncodeToString(sum[:]), "events", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSigV4Identity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	writeFile(t, path, goodFile)
	s, err := OpenStore(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	a := NewSigV4(s, quiet)
	id, err := a.Authenticate(signed(t, "AKIAALICE", "alice-secret", "", "eu-west-1"), []byte(`{"Name":"orders"}`))
	if err != nil {
		t.Fatal(err)
	}
	if id.Account != "111122223333" || id.Region != "eu-west-1" || id.Principal != "arn:aws:iam::111122223333:user/alice" ||
		id.AccessKeyID != "AKIAALICE" || len(id.Policies) != 2 || !id.Verified {
		t.Errorf("identity = %+v", id)
	}
	if sc := id.Scope(); sc.Account != "111122223333" || sc.Region != "eu-west-1" {
		t.Errorf("scope = %+v", sc)
	}
	// A 12-digit access key id is just a key id: the account is the file's.
	id, err = a.Authenticate(signed(t, "444455556666", "s", "", "us-east-1"), []byte(`{"Name":"orders"}`))
	if err != nil || id.Account != "444455556666" {
		t.Errorf("identity = %+v, %v", id, err)
	}
	_, err = a.Authenticate(signed(t, "AKIABOB", "bob-secret", "", "us-east-1"), []byte(`{"Name":"orders"}`))
	if ae, ok := awserr.As(err); !ok || ae.Code != "UnrecognizedClientException" || ae.Status != 400 {
		t.Errorf("no session token: %v", err)
	}
	_, err = a.Authenticate(signed(t, "AKIAALICE", "wrong", "", "us-east-1"), []byte(`{"Name":"orders"}`))
	if ae, ok := awserr.As(err); !ok || ae.Code != "InvalidSignatureException" {
		t.Errorf("bad secret: %v", err)
	}
}

// TestPeerKeys: a key with peer_regions signs the calls of a peer
// deployment (auth.PeerService) and nothing else; no other key signs
// them.
func TestPeerKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	writeFile(t, path, oneKey("AKIDUSER")+"  - access_key_id: AKIDPEER\n    secret_access_key: s\n    account: \"999988887777\"\n    peer_regions: [us-east-1]\n")
	s, err := OpenStore(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	events := NewSigV4(s, quiet)
	peers := ForService(events, PeerService)
	sign := func(id, service string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4010/peer/v1/info", nil)
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: "s"},
			r, hex.EncodeToString(sum[:]), service, "us-west-2", time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct {
		key, service string
		a            Authenticator
		ok           bool
	}{
		{"AKIDPEER", PeerService, peers, true},
		{"AKIDPEER", Service, events, false},
		{"AKIDUSER", PeerService, peers, false},
		{"AKIDUSER", Service, events, true},
	} {
		id, err := c.a.Authenticate(sign(c.key, c.service), nil)
		if c.ok != (err == nil) {
			t.Errorf("%s for %s: %v", c.key, c.service, err)
			continue
		}
		if err != nil {
			if ae, ok := awserr.As(err); !ok || ae.Code != "AccessDeniedException" {
				t.Errorf("%s for %s: %v", c.key, c.service, err)
			}
			continue
		}
		if (c.key == "AKIDPEER") != (len(id.PeerRegions) == 1 && id.PeerRegions[0] == "us-east-1") {
			t.Errorf("%s: peer regions %v", c.key, id.PeerRegions)
		}
	}
}

func TestNone(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=444455556666/20260101/ap-south-1/events/aws4_request, SignedHeaders=host, Signature=x")
	id, err := None{}.Authenticate(r, nil)
	if err != nil || id.Account != "444455556666" || id.Region != "ap-south-1" || id.Principal != "arn:aws:iam::444455556666:root" || id.Verified {
		t.Errorf("None = %+v, %v", id, err)
	}
	r.Header.Del("Authorization")
	if id, err := (None{}).Authenticate(r, nil); err != nil || id.Account != DefaultAccount || id.Region != DefaultRegion {
		t.Errorf("None without credentials = %+v, %v", id, err)
	}
}

func TestContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Error("identity in an empty context")
	}
	id := &Identity{Account: "111122223333"}
	if got, ok := FromContext(NewContext(context.Background(), id)); !ok || got != id {
		t.Errorf("FromContext = %v, %v", got, ok)
	}
}

func TestParseMode(t *testing.T) {
	for in, ok := range map[string]bool{"sigv4": true, "none": true, "": false, "SIGV4": false} {
		if _, err := ParseMode(in); (err == nil) != ok {
			t.Errorf("ParseMode(%q) = %v", in, err)
		}
	}
}
