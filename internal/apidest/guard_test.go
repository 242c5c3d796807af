package apidest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/netguard"
)

// TestDeniedAddresses: with loopback denied, an API destination whose
// InvocationEndpoint names a loopback host (localhost), and an OAuth
// connection whose AuthorizationEndpoint does, are never called: the
// invocation fails for good with TARGET_ADDRESS_DENIED, the connection
// being authorized ends DEAUTHORIZED saying why, and each refusal is
// counted. The names pass creation (they cannot be judged then): only
// the check on the address dialled stops them.
func TestDeniedAddresses(t *testing.T) {
	ctl, st := newControl(t)
	ctl.TargetGuard = mustParse(t, "127.0.0.1/32,::1/128")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	dest := serve(t, func(http.ResponseWriter, *http.Request) { calls.Add(1) })
	ts := newTokenServer(t, 3600)
	byName := func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }

	inv := New(ctl, st.Rates, slog.New(slog.NewTextHandler(io.Discard, nil)))
	inv.SetTargetGuard(ctl.TargetGuard)
	before := testutil.ToFloat64(deliver.HTTPDenied)

	key, err := ctl.CreateConnection(ctx, sc, control.ConnectionInput{Name: "k", AuthorizationType: control.AuthAPIKey,
		Auth: &control.ConnectionAuth{ApiKeyAuthParameters: &control.ApiKeyAuthParameters{ApiKeyName: "x-api-key", ApiKeyValue: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := ctl.CreateApiDestination(ctx, sc, control.ApiDestinationInput{Name: "local", ConnectionArn: ptr(key.ARN()),
		InvocationEndpoint: ptr(byName(dest) + "/hook"), HttpMethod: ptr("POST")})
	if err != nil {
		t.Fatal(err)
	}
	err = inv.Invoke(ctx, &deliver.Invocation{Scope: sc, Target: &control.Target{Arn: d.ARN()}, Input: []byte(`{}`)})
	if e := asDeliverError(err); e == nil || !e.Permanent || e.Code != deliver.CodeAddressDenied || !errors.Is(err, netguard.ErrDenied) {
		t.Errorf("destination on a denied address: %v, want a final %s", err, deliver.CodeAddressDenied)
	}

	// An OAuth connection: the invocation that would fetch the token is
	// final, and the authorization run deauthorizes the connection.
	c := createOAuth(t, ctl, "oauth", byName(ts.URL), "csecret")
	od, err := ctl.CreateApiDestination(ctx, sc, control.ApiDestinationInput{Name: "o", ConnectionArn: ptr(c.ARN()),
		InvocationEndpoint: ptr("https://example.com/hook"), HttpMethod: ptr("POST")})
	if err != nil {
		t.Fatal(err)
	}
	err = inv.Invoke(ctx, &deliver.Invocation{Scope: sc, Target: &control.Target{Arn: od.ARN()}, Input: []byte(`{}`)})
	if e := asDeliverError(err); e == nil || !e.Permanent || e.Code != deliver.CodeAddressDenied {
		t.Errorf("token endpoint on a denied address: %v, want a final %s", err, deliver.CodeAddressDenied)
	}
	go func() { _ = inv.Run(ctx) }()
	bad := waitState(t, ctl, "oauth", control.ConnDeauthorized)
	if !strings.Contains(bad.StateReason, "--deny-target-cidrs") {
		t.Errorf("StateReason %q does not say the address is denied", bad.StateReason)
	}

	if n := calls.Load() + ts.issued.Load(); n != 0 {
		t.Errorf("%d calls reached the denied servers", n)
	}
	// One invocation, and the token requests: the invocation's and one of
	// the run's (a refusal is not tried again).
	if got := testutil.ToFloat64(deliver.HTTPDenied) - before; got != 3 {
		t.Errorf("switchyard_http_denied_total rose by %v, want 3", got)
	}
}

// TestTokenEndpointLiteralDeniedThroughProxy: through a proxy the token
// client's dialer sees the proxy only; a literal denied address is refused
// before the request.
func TestTokenEndpointLiteralDeniedThroughProxy(t *testing.T) {
	var proxied atomic.Int32
	proxy, err := url.Parse(serve(t, func(http.ResponseWriter, *http.Request) { proxied.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	g := netguard.Default()
	// As HTTP_PROXY would (http.ProxyFromEnvironment reads the
	// environment once per process).
	client := newTokenClient(g)
	client.Transport.(*http.Transport).Proxy = http.ProxyURL(proxy)
	tk := newTokens(client)
	tk.guard = g
	_, _, err = tk.fetch(context.Background(), &control.OAuthParameters{AuthorizationEndpoint: "http://169.254.169.254/latest/meta-data/iam", HttpMethod: "POST"})
	if !errors.Is(err, netguard.ErrDenied) {
		t.Errorf("token request to the metadata address through a proxy: %v", err)
	}
	if proxied.Load() != 0 {
		t.Errorf("the proxy was asked")
	}
}

func mustParse(t *testing.T, list string) *netguard.Guard {
	t.Helper()
	g, err := netguard.Parse(list)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
