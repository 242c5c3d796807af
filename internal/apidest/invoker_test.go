package apidest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
)

var sc = control.Scope{Account: "123456789012", Region: "eu-west-1"}

func newControl(t *testing.T) (*control.Service, *store.Store) {
	t.Helper()
	st, ctl := controltest.Open(t, store.Config{})
	var err error
	if ctl.Secrets, err = secretbox.LoadOrCreate(filepath.Join(t.TempDir(), "k")); err != nil {
		t.Fatal(err)
	}
	return ctl, st
}

// serve runs h on a loopback port.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + lis.Addr().String()
}

// tokenServer is a real OAuth2 client-credentials endpoint: it checks the
// grant and the client's credentials and issues numbered tokens.
type tokenServer struct {
	URL     string
	issued  atomic.Int32
	expires int
	mu      sync.Mutex
	forms   []map[string][]string
	headers []http.Header
}

func newTokenServer(t *testing.T, expires int) *tokenServer {
	ts := &tokenServer{expires: expires}
	ts.URL = serve(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ts.mu.Lock()
		ts.forms = append(ts.forms, r.Form)
		ts.headers = append(ts.headers, r.Header.Clone())
		ts.mu.Unlock()
		if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != "cid" || r.Form.Get("client_secret") != "csecret" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		n := ts.issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + string(rune('0'+n)), "token_type": "bearer", "expires_in": ts.expires})
	}) + "/oauth/token"
	return ts
}

func createOAuth(t *testing.T, ctl *control.Service, name, endpoint, secret string) *control.Connection {
	t.Helper()
	c, err := ctl.CreateConnection(context.Background(), sc, control.ConnectionInput{Name: name, AuthorizationType: control.AuthOAuth,
		Auth: &control.ConnectionAuth{OAuthParameters: &control.OAuthParameters{
			ClientParameters:      control.OAuthClientParameters{ClientID: "cid", ClientSecret: secret},
			AuthorizationEndpoint: endpoint, HttpMethod: "POST",
			OAuthHttpParameters: &control.ConnectionHttpParameters{
				BodyParameters:   []control.ConnectionParameter{{Key: "scope", Value: "events.write"}},
				HeaderParameters: []control.ConnectionParameter{{Key: "X-Auth-Tenant", Value: "t1"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitState(t *testing.T, ctl *control.Service, name, state string) *control.Connection {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, _ := ctl.View().Connection(sc, name)
		if c != nil && c.State == state {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %s: state %+v, want %s", name, c, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOAuthConnection(t *testing.T) {
	ctl, st := newControl(t)
	ts := newTokenServer(t, 3600)
	var mu sync.Mutex
	var auths []string
	refuse := atomic.Int32{} // the receiver answers 401 this many times
	dest := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		if refuse.Load() > 0 {
			refuse.Add(-1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})

	inv := New(ctl, st.Rates, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = inv.Run(ctx) }()

	c := createOAuth(t, ctl, "oauth", ts.URL, "csecret")
	if c.State != control.ConnAuthorizing {
		t.Fatalf("new OAuth connection is %s, want AUTHORIZING", c.State)
	}
	c = waitState(t, ctl, "oauth", control.ConnAuthorized)
	if c.LastAuthorizedTime.IsZero() {
		t.Error("no LastAuthorizedTime")
	}
	ts.mu.Lock()
	form, hdr := ts.forms[0], ts.headers[0]
	ts.mu.Unlock()
	if form["scope"][0] != "events.write" || hdr.Get("X-Auth-Tenant") != "t1" {
		t.Errorf("token request: form %v headers %v", form, hdr)
	}

	d, err := ctl.CreateApiDestination(ctx, sc, control.ApiDestinationInput{Name: "d", ConnectionArn: ptr(c.ARN()),
		InvocationEndpoint: ptr(dest + "/hook"), HttpMethod: ptr("POST")})
	if err != nil {
		t.Fatal(err)
	}
	invoke := func() error {
		return inv.Invoke(ctx, &deliver.Invocation{Scope: sc, Target: &control.Target{Id: "t", Arn: d.ARN()}, Input: []byte(`{}`)})
	}
	for i := 0; i < 3; i++ {
		if err := invoke(); err != nil {
			t.Fatal(err)
		}
	}
	if n := ts.issued.Load(); n != 1 {
		t.Errorf("%d tokens issued for 3 invocations, want 1 (cached)", n)
	}
	// The destination refuses the token once: a new one is obtained and the
	// call made again within the same invocation.
	refuse.Store(1)
	if err := invoke(); err != nil {
		t.Fatalf("after a 401: %v", err)
	}
	if n := ts.issued.Load(); n != 2 {
		t.Errorf("%d tokens issued after a 401, want 2", n)
	}
	mu.Lock()
	got := append([]string(nil), auths...)
	mu.Unlock()
	want := []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"}
	if len(got) != len(want) {
		t.Fatalf("Authorization headers %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d: Authorization %q, want %q", i, got[i], want[i])
		}
	}
	// Refused twice: the invocation fails, to be retried.
	refuse.Store(2)
	if err := invoke(); err == nil || asDeliverError(err).Permanent {
		t.Errorf("401 twice: %v, want a retryable error", err)
	}

	// Wrong client secret: the connection ends DEAUTHORIZED with a reason,
	// and its destinations are not invoked.
	createOAuth(t, ctl, "bad", ts.URL, "wrong")
	bad := waitState(t, ctl, "bad", control.ConnDeauthorized)
	if bad.StateReason == "" {
		t.Error("DEAUTHORIZED without StateReason")
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	ctl, _ := newControl(t)
	ts := newTokenServer(t, 1) // a one-second token is refreshed after 0.75 s
	c := createOAuth(t, ctl, "short", ts.URL, "csecret")
	a, err := control.OpenAuth(ctl.Secrets, c)
	if err != nil {
		t.Fatal(err)
	}
	tk := newTokens(http.DefaultClient)
	v1, err := tk.header(context.Background(), c, a.OAuthParameters, "")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := tk.header(context.Background(), c, a.OAuthParameters, ""); v != v1 {
		t.Errorf("token not cached: %s then %s", v1, v)
	}
	time.Sleep(800 * time.Millisecond)
	if v, _ := tk.header(context.Background(), c, a.OAuthParameters, ""); v == v1 || ts.issued.Load() != 2 {
		t.Errorf("token about to expire was not refreshed: %s, %d issued", v, ts.issued.Load())
	}
}

func TestBasicAndAPIKey(t *testing.T) {
	ctl, st := newControl(t)
	var mu sync.Mutex
	var got []*http.Request
	dest := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(context.Background()))
		mu.Unlock()
	})
	ctx := context.Background()
	basic, err := ctl.CreateConnection(ctx, sc, control.ConnectionInput{Name: "b", AuthorizationType: control.AuthBasic,
		Auth: &control.ConnectionAuth{BasicAuthParameters: &control.BasicAuthParameters{Username: "u", Password: "p"}}})
	if err != nil || basic.State != control.ConnAuthorized {
		t.Fatalf("basic: %v %+v", err, basic)
	}
	key, err := ctl.CreateConnection(ctx, sc, control.ConnectionInput{Name: "k", AuthorizationType: control.AuthAPIKey,
		Auth: &control.ConnectionAuth{ApiKeyAuthParameters: &control.ApiKeyAuthParameters{ApiKeyName: "x-api-key", ApiKeyValue: "k3y"}}})
	if err != nil {
		t.Fatal(err)
	}
	inv := New(ctl, st.Rates, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, c := range []*control.Connection{basic, key} {
		d, err := ctl.CreateApiDestination(ctx, sc, control.ApiDestinationInput{Name: "d" + c.Name, ConnectionArn: ptr(c.ARN()),
			InvocationEndpoint: ptr(dest + "/x"), HttpMethod: ptr("POST")})
		if err != nil {
			t.Fatal(err)
		}
		if err := inv.Invoke(ctx, &deliver.Invocation{Scope: sc, Target: &control.Target{Arn: d.ARN()}, Input: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if u, p, ok := got[0].BasicAuth(); !ok || u != "u" || p != "p" {
		t.Errorf("basic auth: %q %q %v", u, p, ok)
	}
	if got[1].Header.Get("X-Api-Key") != "k3y" || got[1].Header.Get("User-Agent") != userAgent {
		t.Errorf("api key request headers: %v", got[1].Header)
	}

	// Deauthorized: retried, not sent. Deleted destination: permanent.
	if _, err := ctl.DeauthorizeConnection(ctx, sc, "b"); err != nil {
		t.Fatal(err)
	}
	db, _ := ctl.View().ApiDestination(sc, "db")
	err = inv.Invoke(ctx, &deliver.Invocation{Scope: sc, Target: &control.Target{Arn: db.ARN()}, Input: []byte(`{}`)})
	if err == nil || asDeliverError(err).Permanent {
		t.Errorf("deauthorized connection: %v", err)
	}
	if err := ctl.DeleteApiDestination(ctx, sc, "db"); err != nil {
		t.Fatal(err)
	}
	err = inv.Invoke(ctx, &deliver.Invocation{Scope: sc, Target: &control.Target{Arn: db.ARN()}, Input: []byte(`{}`)})
	if err == nil || !asDeliverError(err).Permanent {
		t.Errorf("deleted destination: %v", err)
	}
	if len(got) != 2 {
		t.Errorf("%d requests, want 2", len(got))
	}
}

func ptr[T any](v T) *T { return &v }
