package apidest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/ratelimit"
	"github.com/switchyard/switchyard/internal/tracing"
)

// Timeout is AWS's limit on an API destination call ("a maximum client
// execution timeout of 5 seconds").
const Timeout = 5 * time.Second

// Invoker is the deliver.Invoker of "api-destination" targets. Its Run
// authorizes new OAuth connections.
type Invoker struct {
	ctl    *control.Service
	view   *control.View
	log    *slog.Logger
	client *deliver.HTTPClient
	tokens *tokens
	limits *ratelimit.Limiter
	// MaxWait is the longest an invocation waits for its destination's
	// rate limit; beyond it the invocation is retried later. It must stay
	// well under the delivery consumer's ack wait.
	MaxWait time.Duration

	mu     sync.Mutex
	opened map[string]openedAuth // decrypted authorizations, by connection ARN
}

type openedAuth struct {
	sealed string
	auth   *control.ConnectionAuth
}

// New returns the invoker of API destinations over ctl's view, opening
// connection secrets with ctl.Secrets and counting invocations against the
// destinations' rate limits in rates (store.RatesBucket), which every
// process of the cluster shares.
func New(ctl *control.Service, rates jetstream.KeyValue, log *slog.Logger) *Invoker {
	i := &Invoker{ctl: ctl, view: ctl.View(), log: log, limits: ratelimit.New(rates), MaxWait: 10 * time.Second,
		opened: make(map[string]openedAuth)}
	i.SetTargetGuard(netguard.Default())
	return i
}

// SetTargetGuard makes invocations and OAuth token requests connect to no
// address guard denies (netguard.Default until set): both endpoints are
// the user's choice. Call it before Run and before the first Invoke.
func (i *Invoker) SetTargetGuard(guard *netguard.Guard) {
	// AWS does not follow redirects: a 3xx is the destination's answer,
	// and following it would carry the credentials to another host.
	i.client = deliver.NewGuardedHTTPClient(Timeout, guard)
	i.tokens = newTokens(newTokenClient(guard))
	i.tokens.guard = guard
}

// newTokenClient returns the client of OAuth token requests. It follows no
// redirects, as AWS does not: a 3xx is the answer, and following it would
// carry the client secret to another host. Its dialer refuses, after name
// resolution and before connecting, the addresses guard denies.
func newTokenClient(guard *netguard.Guard) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guard.Control}
	t.DialContext = d.DialContext
	return &http.Client{Timeout: Timeout, Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// open returns the connection's decrypted authorization, decrypting once
// per version of its sealed value.
func (i *Invoker) open(c *control.Connection) (*control.ConnectionAuth, error) {
	i.mu.Lock()
	o, ok := i.opened[c.ARN()]
	i.mu.Unlock()
	if ok && o.sealed == c.Auth {
		return o.auth, nil
	}
	a, err := control.OpenAuth(i.ctl.Secrets, c)
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	i.opened[c.ARN()] = openedAuth{c.Auth, a}
	i.mu.Unlock()
	return a, nil
}

// Invoke sends the input to the API destination the target names.
func (i *Invoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	arn := inv.Target.Arn
	d := i.view.ApiDestinationByARN(arn)
	if d == nil {
		return deliver.Permanent("ResourceNotFoundException", fmt.Errorf("api destination %s does not exist", arn))
	}
	if d.Scope != inv.Scope {
		return deliver.Permanent("UnsupportedTarget", fmt.Errorf("api destination %s is not in the rule's account and region", arn))
	}
	c := i.view.ConnectionByARN(d.ConnectionArn)
	if c == nil {
		return deliver.Permanent("ResourceNotFoundException", fmt.Errorf("connection %s of api destination %s does not exist", d.ConnectionArn, arn))
	}
	switch c.State {
	case control.ConnAuthorized, control.ConnAuthorizing:
	default:
		// Not permanent: UpdateConnection with new credentials makes the
		// pending events deliverable again.
		return deliver.Retryable("ConnectionNotAuthorized", fmt.Errorf("connection %s is %s", c.ARN(), c.State))
	}
	auth, err := i.open(c)
	if err != nil {
		i.log.Error("apidest: connection secrets unreadable", "connection", c.ARN(), "err", err)
		return deliver.Retryable("InternalError", err)
	}
	// HttpParameters values may be JSON paths into the event.
	r, err := build(d, auth, deliver.ResolveHttpParameters(inv.Target.HttpParameters, inv.Event), inv.Input)
	if err != nil {
		return deliver.Permanent("InvalidEndpoint", err)
	}
	r.trace = inv.Trace
	if err := i.throttle(ctx, d); err != nil {
		return err
	}

	header, value, err := i.authorization(ctx, c, auth, "")
	if err != nil {
		return err
	}
	r.keepBody = inv.Reply != nil
	a, err := i.send(ctx, r, header, value)
	if err == nil && (a.Status == 401 || a.Status == 407) && c.AuthorizationType == control.AuthOAuth {
		// The token was refused (revoked, expired early): get a new one and
		// try once more, as AWS refreshes on 401 and 407.
		if header, value, err = i.authorization(ctx, c, auth, value); err != nil {
			return err
		}
		a, err = i.send(ctx, r, header, value)
	}
	if err != nil {
		return err
	}
	if err := classify(arn, a.Status, a.RetryAfter); err != nil {
		return err
	}
	if inv.Reply != nil {
		*inv.Reply = a.Body
	}
	return nil
}

// throttle waits for the destination's rate limit, or defers the
// invocation when the wait would be too long.
func (i *Invoker) throttle(ctx context.Context, d *control.ApiDestination) error {
	wait, ok, err := i.limits.Reserve(ctx, d.ARN(), int(d.InvocationRateLimitPerSecond), i.MaxWait)
	if err != nil {
		return deliver.Retryable("InternalError", err)
	}
	if !ok {
		return &deliver.Error{Code: "THROTTLING", RetryAfter: wait,
			Err: fmt.Errorf("api destination %s: InvocationRateLimitPerSecond %d reached", d.ARN(), d.InvocationRateLimitPerSecond)}
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return deliver.Retryable("THROTTLING", ctx.Err())
	}
}

// authorization returns the header that authorizes a request through c.
func (i *Invoker) authorization(ctx context.Context, c *control.Connection, a *control.ConnectionAuth, stale string) (string, string, error) {
	switch c.AuthorizationType {
	case control.AuthBasic:
		if p := a.BasicAuthParameters; p != nil {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.SetBasicAuth(p.Username, p.Password)
			return "Authorization", r.Header.Get("Authorization"), nil
		}
	case control.AuthAPIKey:
		if p := a.ApiKeyAuthParameters; p != nil {
			return p.ApiKeyName, p.ApiKeyValue, nil
		}
	case control.AuthOAuth:
		if p := a.OAuthParameters; p != nil {
			value, err := i.tokens.header(ctx, c, p, stale)
			if errors.Is(err, netguard.ErrDenied) {
				// The authorization endpoint's address is denied: no
				// token can be had until the connection or the list
				// changes.
				return "", "", deliver.Permanent(deliver.CodeAddressDenied, fmt.Errorf("connection %s: %w", c.ARN(), err))
			}
			if err != nil {
				return "", "", deliver.Retryable("OAuthTokenUnavailable", fmt.Errorf("connection %s: %w", c.ARN(), err))
			}
			if c.State == control.ConnAuthorizing {
				if err := i.ctl.ReportAuthorization(ctx, c, nil); err != nil {
					i.log.Warn("apidest: recording authorization", "connection", c.ARN(), "err", err)
				}
			}
			return "Authorization", value, nil
		}
	}
	return "", "", deliver.Retryable("ConnectionNotAuthorized", fmt.Errorf("connection %s has no %s credentials", c.ARN(), c.AuthorizationType))
}

// send makes one HTTP call and returns the answer.
func (i *Invoker) send(ctx context.Context, r *request, header, value string) (deliver.Answer, error) {
	a, err := i.client.Do(ctx, r.call(header, value))
	if errors.Is(err, deliver.ErrInvalidURL) {
		return deliver.Answer{}, deliver.Permanent("InvalidEndpoint", err)
	}
	if err != nil {
		return deliver.Answer{}, deliver.CallFailed("api destination "+r.url, err)
	}
	tracing.SetHTTPStatus(ctx, a.Status)
	return a, nil
}

// classify turns a destination's answer into the delivery outcome: 2xx is
// delivered; 401, 407, 409, 429 and 5xx are retried, no sooner than
// Retry-After (a negative Retry-After stops the retries, as AWS documents);
// anything else is final.
func classify(arn string, status int, retryAfter string) error {
	if status >= 200 && status <= 299 {
		return nil
	}
	e := &deliver.Error{Code: "SDK_CLIENT_ERROR", Err: fmt.Errorf("api destination %s: status %d", arn, status)}
	switch {
	case status == 429:
		e.Code = "THROTTLING"
	case status == 401 || status == 407 || status == 409 || status >= 500:
	default:
		e.Permanent = true
		return e
	}
	d, negative := parseRetryAfter(retryAfter)
	if negative {
		e.Permanent = true
	}
	e.RetryAfter = d
	return e
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string) (d time.Duration, negative bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, true
		}
		return time.Duration(s) * time.Second, false
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), false
	}
	return 0, false
}

// Run authorizes OAuth connections that are AUTHORIZING (new, or given new
// credentials), until ctx ends. Every process does, so a connection is
// authorized even if the process that stored it stopped; each process
// obtains its own token, which it needs for its own invocations anyway.
func (i *Invoker) Run(ctx context.Context) error {
	var mu sync.Mutex
	inflight := map[string]bool{}
	lastGC := time.Now()
	for {
		rev := i.view.Rev()
		for _, c := range i.view.AllConnections() {
			if c.AuthorizationType != control.AuthOAuth || c.State != control.ConnAuthorizing {
				continue
			}
			key := c.ARN() + "|" + c.Auth
			mu.Lock()
			busy := inflight[key]
			inflight[key] = true
			mu.Unlock()
			if busy {
				continue
			}
			go func() {
				i.authorize(ctx, c)
				mu.Lock()
				delete(inflight, key)
				mu.Unlock()
			}()
		}
		if time.Since(lastGC) > time.Minute {
			i.gc()
			lastGC = time.Now()
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = i.view.WaitRev(wctx, rev+1)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// authorize requests a token for an AUTHORIZING connection and records the
// outcome; a server that cannot be reached is tried a few times first.
func (i *Invoker) authorize(ctx context.Context, c *control.Connection) {
	auth, err := i.open(c)
	if err != nil {
		i.log.Error("apidest: connection secrets unreadable", "connection", c.ARN(), "err", err)
		return
	}
	if auth.OAuthParameters == nil {
		return
	}
	for attempt := 0; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, Timeout)
		_, err = i.tokens.header(tctx, c, auth.OAuthParameters, "")
		cancel()
		var refused *errAuthorization
		if err == nil || errors.As(err, &refused) || errors.Is(err, netguard.ErrDenied) || attempt == 2 || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		i.log.Warn("apidest: connection not authorized", "connection", c.ARN(), "err", err)
	}
	if err := i.ctl.ReportAuthorization(ctx, c, err); err != nil {
		i.log.Warn("apidest: recording authorization", "connection", c.ARN(), "err", err)
	}
}

// gc forgets tokens, keys and buckets of deleted resources.
func (i *Invoker) gc() {
	i.mu.Lock()
	for arn := range i.opened {
		if i.view.ConnectionByARN(arn) == nil {
			delete(i.opened, arn)
		}
	}
	i.mu.Unlock()
	i.tokens.mu.Lock()
	var gone []string
	for arn := range i.tokens.m {
		if i.view.ConnectionByARN(arn) == nil {
			gone = append(gone, arn)
		}
	}
	i.tokens.mu.Unlock()
	for _, arn := range gone {
		i.tokens.forget(arn)
	}
	i.limits.Forget(func(arn string) bool { return i.view.ApiDestinationByARN(arn) == nil })
}
