package apidest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/netguard"
)

// tokens caches one OAuth access token per connection. A token belongs to
// the credentials it was obtained with: when the connection's sealed
// authorization changes, its token is forgotten.
type tokens struct {
	client *http.Client
	// guard refuses a literal denied address in the endpoint before the
	// request: through a proxy the client's dialer sees only the proxy.
	guard *netguard.Guard
	now   func() time.Time

	mu sync.Mutex
	m  map[string]*tokenEntry // by connection ARN
}

type tokenEntry struct {
	// mu is held while a token is requested, so that concurrent
	// invocations wait for one request instead of each making their own.
	mu        sync.Mutex
	auth      string // the sealed authorization the token belongs to
	value     string // "<type> <token>", the Authorization header
	refreshAt time.Time
}

func newTokens(client *http.Client) *tokens {
	return &tokens{client: client, now: time.Now, m: make(map[string]*tokenEntry)}
}

func (t *tokens) entry(c *control.Connection) *tokenEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[c.ARN()]
	if e == nil {
		e = &tokenEntry{}
		t.m[c.ARN()] = e
	}
	return e
}

// header returns the connection's Authorization header value, requesting a
// token when none is cached, the cached one is about to expire, or it is
// stale: the one the destination just refused (401 or 407).
func (t *tokens) header(ctx context.Context, c *control.Connection, o *control.OAuthParameters, stale string) (string, error) {
	e := t.entry(c)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.auth == c.Auth && e.value != "" && e.value != stale && (e.refreshAt.IsZero() || t.now().Before(e.refreshAt)) {
		return e.value, nil
	}
	value, lifetime, err := t.fetch(ctx, o)
	if err != nil {
		return "", err
	}
	e.auth, e.value, e.refreshAt = c.Auth, value, time.Time{}
	if lifetime > 0 {
		// Refresh ahead of expiry (a minute, or a quarter of a short
		// lifetime) so that no invocation carries a token about to lapse.
		e.refreshAt = t.now().Add(lifetime - min(time.Minute, lifetime/4))
	}
	return value, nil
}

// forget drops a connection's token (the connection was deleted or changed).
func (t *tokens) forget(arn string) {
	t.mu.Lock()
	delete(t.m, arn)
	t.mu.Unlock()
}

// errAuthorization is a token request the authorization server refused:
// retrying with the same credentials cannot help.
type errAuthorization struct{ msg string }

func (e *errAuthorization) Error() string { return e.msg }

// fetch requests a token with the client-credentials grant: grant_type,
// client_id and client_secret as form parameters (in the body for POST and
// PUT, in the query for GET) with the connection's OAuthHttpParameters
// added (its body parameters may override grant_type), as RFC 6749 section
// 4.4 describes the request.
func (t *tokens) fetch(ctx context.Context, o *control.OAuthParameters) (value string, lifetime time.Duration, err error) {
	form := url.Values{}
	form.Set("grant_type", "client_credentials")
	form.Set("client_id", o.ClientParameters.ClientID)
	form.Set("client_secret", o.ClientParameters.ClientSecret)
	var extra control.ConnectionHttpParameters
	if o.OAuthHttpParameters != nil {
		extra = *o.OAuthHttpParameters
	}
	for _, p := range extra.BodyParameters {
		if p.Key != "" {
			form.Set(p.Key, p.Value)
		}
	}
	u, err := url.Parse(o.AuthorizationEndpoint)
	if err != nil {
		return "", 0, &errAuthorization{fmt.Sprintf("invalid authorization endpoint: %v", err)}
	}
	q := u.Query()
	for _, p := range extra.QueryStringParameters {
		if p.Key != "" {
			q.Set(p.Key, p.Value)
		}
	}
	method := o.HttpMethod
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if method == http.MethodGet {
		for k, vs := range form {
			q[k] = vs
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return "", 0, &errAuthorization{fmt.Sprintf("token request: %v", err)}
	}
	if err := t.guard.CheckHost(u.Hostname()); err != nil {
		deliver.HTTPDenied.Inc()
		return "", 0, fmt.Errorf("token request to %s refused, the address is denied by --deny-target-cidrs: %w", u.Redacted(), err)
	}
	for _, p := range extra.HeaderParameters {
		if p.Key != "" {
			req.Header.Set(p.Key, p.Value)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := t.client.Do(req)
	if err != nil {
		// The error names the endpoint but never the form, which holds the
		// client secret.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		if errors.Is(err, netguard.ErrDenied) {
			deliver.HTTPDenied.Inc()
			return "", 0, fmt.Errorf("token request to %s refused before connecting, the address is denied by --deny-target-cidrs: %w", u.Redacted(), err)
		}
		return "", 0, fmt.Errorf("token request to %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("token response from %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("authorization endpoint %s answered %d", u.Redacted(), resp.StatusCode)
		if resp.StatusCode >= 500 || resp.StatusCode == 429 {
			return "", 0, err
		}
		return "", 0, &errAuthorization{err.Error()}
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" {
		return "", 0, &errAuthorization{fmt.Sprintf("authorization endpoint %s answered without an access_token", u.Redacted())}
	}
	typ := tok.TokenType
	if typ == "" || strings.EqualFold(typ, "bearer") {
		typ = "Bearer"
	}
	// expires_in is a number by RFC 6749; some servers send a string.
	if s := strings.Trim(string(tok.ExpiresIn), `"`); s != "" {
		if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
			lifetime = time.Duration(secs * float64(time.Second))
		}
	}
	return typ + " " + tok.AccessToken, lifetime, nil
}
