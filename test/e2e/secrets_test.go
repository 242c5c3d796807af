package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard/switchyard/internal/secretbox"
)

// secretsArgs gives a server a secrets key file of its own, outside its
// data directory, unless its arguments name a key already: the server
// keeps none in the data directory, and without one it cannot store
// connections.
func (s *server) secretsArgs() []string {
	if slices.ContainsFunc(s.args, func(a string) bool { return strings.HasPrefix(a, "--secrets-key") }) {
		return nil
	}
	if s.keyFile == "" {
		s.keyFile = newKeyFile(s.t, "secrets.key")
	}
	return []string{"--secrets-key-file", s.keyFile}
}

// newKeyFile makes a fresh secrets key file in a temporary directory.
func newKeyFile(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := secretbox.WriteNewKey(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// apiKeyDestination makes an API-key connection, an API destination on it
// calling peer, and a rule sending source "rot" there.
func apiKeyDestination(t *testing.T, c *eventbridge.Client, peer string) {
	t.Helper()
	cx := ctx(t)
	conn, err := c.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String("key-conn"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("k3y-before-rotation")}}})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := c.CreateApiDestination(cx, &eventbridge.CreateApiDestinationInput{Name: aws.String("dest"),
		ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(peer + "/hook"), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	mustRule(t, c, "default", "to-dest", `{"source":["rot"]}`, aws.ToString(dest.ApiDestinationArn))
}

func putRot(t *testing.T, c *eventbridge.Client, n int) {
	t.Helper()
	out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("rot"), DetailType: aws.String("t"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, n))}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
}

// A key rotation: the server restarted with a new key and the old one as
// previous still calls the destination with the right credentials, seals
// the connection again under the new key by itself, and from then on runs
// with the new key alone; a process with only the old key is refused.
func TestSecretsKeyRotation(t *testing.T) {
	oldKey := newKeyFile(t, "old.key")
	s := startServer(t, "--secrets-key-file", oldKey)
	c := s.client(acct, "us-east-1")
	peer := newHTTPPeer(t, nil)
	apiKeyDestination(t, c, peer.URL)
	withKey := func(h hit) bool { return h.header.Get("x-api-key") == "k3y-before-rotation" }
	putRot(t, c, 1)
	peer.wait(t, 1, 15*time.Second, withKey)

	newKey := newKeyFile(t, "new.key")
	s.stop()
	s.args = []string{"--secrets-key-file", newKey, "--secrets-previous-key-file", oldKey}
	s.restart()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(s.logs(), "rotation finished") {
		if time.Now().After(deadline) {
			t.Fatalf("the rotation did not finish:\n%s", s.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(s.logs(), "sealed_again=1") {
		t.Errorf("the rotation did not seal the one connection again:\n%s", s.logs())
	}
	putRot(t, c, 2)
	peer.wait(t, 2, 15*time.Second, withKey)

	s.stop()
	s.args = []string{"--secrets-key-file", newKey}
	s.restart()
	putRot(t, c, 3)
	peer.wait(t, 3, 15*time.Second, withKey)
	if _, err := c.DescribeConnection(ctx(t), &eventbridge.DescribeConnectionInput{Name: aws.String("key-conn")}); err != nil {
		t.Fatal(err)
	}

	// The old key alone is not the cluster's any more.
	s.stop()
	out, err := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", s.dataDir, "--secrets-key-file", oldKey, "--auth", "none").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "must use the same --secrets-key-file") {
		t.Errorf("a process with the old key: %v\n%s", err, out)
	}
}

// Without a key the server runs, and CreateConnection says what is
// missing; a key file that is named but missing stops the start with how
// to make one.
func TestNoSecretsKey(t *testing.T) {
	s := startServer(t, "--secrets-key-file=")
	_, err := s.client(acct, "us-east-1").CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String("c"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "no secrets key") {
		t.Errorf("CreateConnection without a key = %v", err)
	}
	if st, _ := http.Get("http://" + s.addr + "/health"); st == nil || st.StatusCode != http.StatusOK {
		t.Error("the server without a key is not healthy")
	}
	missing := filepath.Join(t.TempDir(), "absent.key")
	out, err := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--secrets-key-file", missing, "--auth", "none").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "switchyard secrets new-key --out "+missing) {
		t.Errorf("a missing key file: %v\n%s", err, out)
	}
}
