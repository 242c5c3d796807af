// Package awsclienttest lets tests see where the SDK clients built from an
// awsclient.Factory send their calls, without a network: a Recorder in
// place of the HTTP client, and an environment from which the machine's own
// AWS settings are gone. Tests only.
package awsclienttest

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

// ErrNotSent is the error of every request a Recorder receives.
var ErrNotSent = errors.New("awsclienttest: request recorded, not sent")

// Recorder is an SDK HTTP client that sends nothing: it records the
// endpoint (scheme://host) of each request and fails it.
type Recorder struct {
	mu        sync.Mutex
	endpoints []string
}

// Do records req's endpoint and fails with ErrNotSent.
func (r *Recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.endpoints = append(r.endpoints, req.URL.Scheme+"://"+req.URL.Host)
	r.mu.Unlock()
	return nil, ErrNotSent
}

// Endpoints returns the endpoints of the requests so far, in order, and
// forgets them.
func (r *Recorder) Endpoints() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.endpoints
	r.endpoints = nil
	return e
}

// LoadOptions are the options for awsclient.Factory.LoadOptions that make
// the factory's clients send through r, one attempt per call (a failed
// attempt is not retried after a backoff).
func (r *Recorder) LoadOptions() []func(*config.LoadOptions) error {
	return []func(*config.LoadOptions) error{config.WithHTTPClient(r), config.WithRetryMaxAttempts(1)}
}

// IsolateEnv removes, for the test, every AWS_ variable of the process's
// environment (the SDK tells a variable set empty from an unset one, so
// they are unset, and restored after the test), and sets static
// credentials, no instance metadata, and empty shared config and
// credentials files: only what the test adds then configures the SDK. It
// returns the path of the shared config file, for the test to write.
func IsolateEnv(t testing.TB) (configFile string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	configFile, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, p := range []string{configFile, creds} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": configFile, "AWS_SHARED_CREDENTIALS_FILE": creds} {
		t.Setenv(k, v)
	}
	return configFile
}
