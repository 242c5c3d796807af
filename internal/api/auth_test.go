package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

// The handler verifies signatures on the body it read (a pooled buffer
// for a large one), and handlers find the verified identity in the
// request's context.
func TestHandlerAuthenticates(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := os.WriteFile(path, []byte(`keys:
  - access_key_id: AKIAHANDLER
    secret_access_key: handler-secret
    account: "121212121212"
    principal: arn:aws:iam::121212121212:role/ops
    policies: ['{"Effect":"Allow","Action":"events:*","Resource":"*"}']
`), 0o600); err != nil {
		t.Fatal(err)
	}
	creds, err := auth.OpenStore(path, log)
	if err != nil {
		t.Fatal(err)
	}
	st, ctl := controltest.Open(t, store.Config{Logger: log})
	h := New(ctl, ingest.NewService(st.JS, ctl, log), log, 0, auth.NewSigV4(creds, log))
	var seen *auth.Identity
	var seenScope control.Scope
	h.ops["WhoAmI"] = func(ctx context.Context, sc control.Scope, _ []byte) (any, error) {
		seen, _ = auth.FromContext(ctx)
		seenScope = sc
		return struct{}{}, nil
	}
	send := func(op string, body []byte, secret string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4010/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", "AWSEvents."+op)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if secret != "" {
			sum := sha256.Sum256(body)
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAHANDLER", SecretAccessKey: secret},
				r, hex.EncodeToString(sum[:]), "events", "ap-southeast-2", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	// Larger than minPooled: read into a pooled buffer, verified there.
	big := []byte(`{"Name":"orders","Description":"` + strings.Repeat("d", 512) + `","Tags":[` +
		strings.TrimSuffix(strings.Repeat(`{"Key":"k`+strings.Repeat("x", 100)+`","Value":"v"},`, 40), ",") + `]}`)
	if len(big) < minPooled {
		t.Fatalf("body of %d bytes is not pooled", len(big))
	}
	w := send("CreateEventBus", []byte(`{"Name":"orders"}`), "handler-secret")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "arn:aws:events:ap-southeast-2:121212121212:event-bus/orders") {
		t.Fatalf("signed CreateEventBus: %d %s", w.Code, w.Body.String())
	}
	if w := send("WhoAmI", big, "handler-secret"); w.Code != http.StatusOK {
		t.Fatalf("signed WhoAmI with a pooled body: %d %s", w.Code, w.Body.String())
	}
	if seen == nil || seen.Account != "121212121212" || seen.Region != "ap-southeast-2" || seen.AccessKeyID != "AKIAHANDLER" ||
		seen.Principal != "arn:aws:iam::121212121212:role/ops" || len(seen.Policies) != 1 || !seen.Verified {
		t.Fatalf("identity in the context = %+v", seen)
	}
	if seenScope != seen.Scope() {
		t.Errorf("scope %+v, identity's %+v", seenScope, seen.Scope())
	}
	for _, tt := range []struct{ secret, code string }{{"", "MissingAuthenticationTokenException"}, {"wrong", "InvalidSignatureException"}} {
		w := send("WhoAmI", big, tt.secret)
		if w.Code != http.StatusBadRequest || w.Header().Get("x-amzn-ErrorType") != tt.code {
			t.Errorf("secret %q: %d %s, want 400 %s", tt.secret, w.Code, w.Body.String(), tt.code)
		}
	}
}
