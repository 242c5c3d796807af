package control

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
)

// Connection states, as AWS reports them.
const (
	ConnCreating      = "CREATING"
	ConnUpdating      = "UPDATING"
	ConnDeleting      = "DELETING"
	ConnAuthorized    = "AUTHORIZED"
	ConnDeauthorized  = "DEAUTHORIZED"
	ConnAuthorizing   = "AUTHORIZING"
	ConnDeauthorizing = "DEAUTHORIZING"
)

// Authorization types of a connection.
const (
	AuthBasic  = "BASIC"
	AuthAPIKey = "API_KEY"
	AuthOAuth  = "OAUTH_CLIENT_CREDENTIALS"
)

// AWS's default quotas: connections and API destinations per account and
// region.
const (
	maxConnections     = 3000
	maxAPIDestinations = 3000
)

// Connection is an EventBridge connection: how to authorize against an HTTP
// endpoint. Its credentials live only in Auth, sealed with the secrets key;
// the record is otherwise what DescribeConnection shows.
type Connection struct {
	Scope
	Name                             string
	UUID                             string
	Description                      string `json:",omitempty"`
	AuthorizationType                string
	State                            string
	StateReason                      string          `json:",omitempty"`
	SecretArn                        string          `json:",omitempty"`
	KmsKeyIdentifier                 string          `json:",omitempty"`
	InvocationConnectivityParameters json.RawMessage `json:",omitempty"`
	// Auth is the sealed JSON of a ConnectionAuth.
	Auth               string
	CreationTime       time.Time
	LastModifiedTime   time.Time
	LastAuthorizedTime time.Time `json:",omitzero"`
}

// ARN is the connection's ARN, connection/<name>/<uuid> as AWS forms it.
func (c *Connection) ARN() string { return ConnectionARN(c.Scope, c.Name, c.UUID) }

// ConnectionARN is the ARN of a connection.
func ConnectionARN(s Scope, name, id string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:connection/%s/%s", s.Partition(), s.Region, s.Account, name, id)
}

// ConnectionAuth is a connection's authorization, secrets included. It is
// never stored or returned as it is: Seal encrypts it for the bucket and
// Public strips it for DescribeConnection.
type ConnectionAuth struct {
	BasicAuthParameters      *BasicAuthParameters      `json:",omitempty"`
	ApiKeyAuthParameters     *ApiKeyAuthParameters     `json:",omitempty"`
	OAuthParameters          *OAuthParameters          `json:",omitempty"`
	InvocationHttpParameters *ConnectionHttpParameters `json:",omitempty"`
	ConnectivityParameters   json.RawMessage           `json:",omitempty"`
}

// BasicAuthParameters are HTTP Basic credentials.
type BasicAuthParameters struct {
	Username string `json:",omitempty"`
	Password string `json:",omitempty"`
}

// ApiKeyAuthParameters name a header and its secret value.
type ApiKeyAuthParameters struct {
	ApiKeyName  string `json:",omitempty"`
	ApiKeyValue string `json:",omitempty"`
}

// OAuthParameters configure the client-credentials token request.
type OAuthParameters struct {
	ClientParameters      OAuthClientParameters
	AuthorizationEndpoint string                    `json:",omitempty"`
	HttpMethod            string                    `json:",omitempty"`
	OAuthHttpParameters   *ConnectionHttpParameters `json:",omitempty"`
}

// OAuthClientParameters are the OAuth client's id and secret.
type OAuthClientParameters struct {
	ClientID     string `json:",omitempty"`
	ClientSecret string `json:",omitempty"`
}

// ConnectionHttpParameters are headers, query-string and body parameters a
// connection adds to its requests.
type ConnectionHttpParameters struct {
	HeaderParameters      []ConnectionParameter `json:",omitempty"`
	QueryStringParameters []ConnectionParameter `json:",omitempty"`
	BodyParameters        []ConnectionParameter `json:",omitempty"`
}

// ConnectionParameter is one key and value; a secret value is never shown.
type ConnectionParameter struct {
	Key           string
	Value         string `json:",omitempty"`
	IsValueSecret bool
}

// Public returns a copy of a without its secrets: passwords, API key
// values, client secrets and parameter values marked secret.
func (a *ConnectionAuth) Public() *ConnectionAuth {
	if a == nil {
		return nil
	}
	out := *a
	if p := a.BasicAuthParameters; p != nil {
		out.BasicAuthParameters = &BasicAuthParameters{Username: p.Username}
	}
	if p := a.ApiKeyAuthParameters; p != nil {
		out.ApiKeyAuthParameters = &ApiKeyAuthParameters{ApiKeyName: p.ApiKeyName}
	}
	if p := a.OAuthParameters; p != nil {
		o := *p
		o.ClientParameters.ClientSecret = ""
		o.OAuthHttpParameters = p.OAuthHttpParameters.public()
		out.OAuthParameters = &o
	}
	out.InvocationHttpParameters = a.InvocationHttpParameters.public()
	return &out
}

func (h *ConnectionHttpParameters) public() *ConnectionHttpParameters {
	if h == nil {
		return nil
	}
	strip := func(ps []ConnectionParameter) []ConnectionParameter {
		if ps == nil {
			return nil
		}
		out := make([]ConnectionParameter, len(ps))
		for i, p := range ps {
			if p.IsValueSecret {
				p.Value = ""
			}
			out[i] = p
		}
		return out
	}
	return &ConnectionHttpParameters{HeaderParameters: strip(h.HeaderParameters),
		QueryStringParameters: strip(h.QueryStringParameters), BodyParameters: strip(h.BodyParameters)}
}

// OpenAuth decrypts a connection's authorization.
func OpenAuth(box *secretbox.Box, c *Connection) (*ConnectionAuth, error) {
	if box == nil {
		return nil, errors.New("no secrets key configured")
	}
	plain, err := box.Open(c.Auth, []byte(c.ARN()))
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", c.ARN(), err)
	}
	var a ConnectionAuth
	if err := json.Unmarshal(plain, &a); err != nil {
		return nil, fmt.Errorf("connection %s: undecodable authorization: %w", c.ARN(), err)
	}
	return &a, nil
}

func (s *Service) sealAuth(c *Connection, a *ConnectionAuth) error {
	if s.Secrets == nil {
		// Not the caller's fault, but nothing a retry changes either: the
		// operator must give the server a key.
		return awserr.Validation("This Switchyard server has no secrets key to seal connection credentials with; start it with --secrets-key-file or SWITCHYARD_SECRETS_KEY (switchyard secrets new-key makes one).")
	}
	plain, err := json.Marshal(a)
	if err != nil {
		return err
	}
	c.Auth = s.Secrets.Seal(plain, []byte(c.ARN()))
	return nil
}

func connKeyName(sc Scope, name string) string {
	return connPrefix + "." + sc.Account + "." + sc.Region + "." + store.Token(name)
}

// connectionNotFound is AWS's answer for a connection that does not exist,
// for every operation naming one, as LocalStack recorded it from AWS
// (tests/aws/services/events/test_api_destinations_and_connection.snapshot.json,
// describe-deleted-connection).
func connectionNotFound(name string) error {
	return awserr.NotFound("Failed to describe the connection(s). Connection '%s' does not exist.", name)
}

// ConnectionInput holds what CreateConnection and UpdateConnection set. On
// update, empty fields (and nil parameters) keep their values.
type ConnectionInput struct {
	Name                             string
	Description                      *string
	AuthorizationType                string
	Auth                             *ConnectionAuth
	InvocationConnectivityParameters json.RawMessage
	KmsKeyIdentifier                 *string
}

// checkAuth reports AWS's complaint about authorization parameters that do
// not fit the authorization type.
func checkAuth(typ string, a *ConnectionAuth) error {
	if a == nil {
		return awserr.Validation("Parameter(s) AuthParameters must be specified.")
	}
	given := 0
	for _, ok := range []bool{a.BasicAuthParameters != nil, a.ApiKeyAuthParameters != nil, a.OAuthParameters != nil} {
		if ok {
			given++
		}
	}
	var have bool
	var want string
	switch typ {
	case AuthBasic:
		have, want = a.BasicAuthParameters != nil, "BasicAuthParameters"
	case AuthAPIKey:
		have, want = a.ApiKeyAuthParameters != nil, "ApiKeyAuthParameters"
	case AuthOAuth:
		have, want = a.OAuthParameters != nil, "OAuthParameters"
	}
	if !have || given != 1 {
		return awserr.Validation("Parameter(s) %s must be specified for AuthorizationType %s, and no other authorization parameters.", want, typ)
	}
	if o := a.OAuthParameters; o != nil {
		if err := checkEndpoint("AuthorizationEndpoint", o.AuthorizationEndpoint); err != nil {
			return err
		}
	}
	return nil
}

// checkAuthorizationEndpoint refuses an OAuth AuthorizationEndpoint given
// as a literal address that TargetGuard denies (see checkAddress).
func (s *Service) checkAuthorizationEndpoint(a *ConnectionAuth) error {
	if a == nil || a.OAuthParameters == nil || a.OAuthParameters.AuthorizationEndpoint == "" {
		return nil
	}
	return s.checkAddress("AuthorizationEndpoint", a.OAuthParameters.AuthorizationEndpoint)
}

// checkEndpoint accepts http and https URLs. AWS accepts only public HTTPS
// endpoints; a self-hosted Switchyard delivers to private and plain-HTTP
// services as well.
func checkEndpoint(param, u string) error {
	lower := strings.ToLower(u)
	if !(strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://")) || len(u) <= len("https://") {
		return awserr.Validation("Parameter %s is not valid. Reason: %s must be an http:// or https:// URL.", param, param)
	}
	return nil
}

// CreateConnection creates a connection. BASIC and API_KEY connections are
// authorized at once; OAuth ones are AUTHORIZING until a token is obtained
// (see ReportAuthorization).
func (s *Service) CreateConnection(ctx context.Context, sc Scope, in ConnectionInput) (*Connection, error) {
	if err := checkAuth(in.AuthorizationType, in.Auth); err != nil {
		return nil, err
	}
	if err := s.checkAuthorizationEndpoint(in.Auth); err != nil {
		return nil, err
	}
	if c, _ := s.view.Connection(sc, in.Name); c != nil {
		return nil, connectionExists(in.Name)
	}
	if len(s.view.Connections(sc)) >= maxConnections {
		return nil, awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
	}
	now := s.now().UTC()
	c := &Connection{Scope: sc, Name: in.Name, UUID: uuid.NewString(), AuthorizationType: in.AuthorizationType,
		Description: deref(in.Description), KmsKeyIdentifier: deref(in.KmsKeyIdentifier),
		InvocationConnectivityParameters: in.InvocationConnectivityParameters,
		CreationTime:                     now, LastModifiedTime: now}
	c.SecretArn = secretARN(sc, in.Name)
	setAuthorizing(c, now)
	if err := s.sealAuth(c, in.Auth); err != nil {
		return nil, err
	}
	if err := s.create(ctx, connKeyName(sc, in.Name), c, connectionExists(in.Name)); err != nil {
		return nil, err
	}
	return c, nil
}

func connectionExists(name string) error {
	return awserr.New(awserr.CodeResourceAlreadyExists, "Connection %s already exists.", name)
}

// setAuthorizing puts c in the state its new credentials give it.
func setAuthorizing(c *Connection, now time.Time) {
	c.StateReason = ""
	if c.AuthorizationType == AuthOAuth {
		c.State = ConnAuthorizing
		return
	}
	c.State, c.LastAuthorizedTime = ConnAuthorized, now
}

// secretARN names the secret AWS would create in Secrets Manager for the
// connection: events!connection/<name>/<uuid> and Secrets Manager's random
// six-character suffix. Switchyard keeps the secret itself.
func secretARN(sc Scope, name string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:events!connection/%s/%s-%s",
		sc.Partition(), sc.Region, sc.Account, name, uuid.NewString(), b)
}

// DescribeConnection returns a connection and its authorization without
// secrets.
func (s *Service) DescribeConnection(ctx context.Context, sc Scope, name string) (*Connection, *ConnectionAuth, error) {
	c, _ := s.view.Connection(sc, name)
	if c == nil {
		return nil, nil, connectionNotFound(name)
	}
	a, err := OpenAuth(s.Secrets, c)
	if err != nil {
		return nil, nil, err
	}
	return c, a.Public(), nil
}

// ListConnections lists connections by name, optionally of one state.
func (s *Service) ListConnections(ctx context.Context, sc Scope, prefix, state string, limit *int32, token *string) ([]*Connection, *string, error) {
	cs := s.view.Connections(sc)
	if state != "" {
		cs = keep(cs, func(c *Connection) bool { return c.State == state })
	}
	return page(cs, func(c *Connection) string { return c.Name }, prefix, limit, token)
}

// UpdateConnection changes a connection. New credentials start a new
// authorization, as in AWS.
func (s *Service) UpdateConnection(ctx context.Context, sc Scope, in ConnectionInput) (*Connection, error) {
	if err := s.checkAuthorizationEndpoint(in.Auth); err != nil {
		return nil, err
	}
	var out *Connection
	err := retry(ctx, func() error {
		c, rev := s.view.Connection(sc, in.Name)
		if c == nil {
			return connectionNotFound(in.Name)
		}
		if c.State == ConnDeleting {
			return awserr.New(awserr.CodeConcurrentModification, "Connection %s is being deleted.", in.Name)
		}
		old, err := OpenAuth(s.Secrets, c)
		if err != nil {
			return err
		}
		nc := *c
		typ := c.AuthorizationType
		if in.AuthorizationType != "" {
			typ = in.AuthorizationType
		}
		reauth := in.Auth != nil || typ != c.AuthorizationType
		auth := mergeAuth(old, in.Auth, typ != c.AuthorizationType)
		if reauth {
			if err := checkAuth(typ, auth); err != nil {
				return err
			}
			if err := checkComplete(typ, auth); err != nil {
				return err
			}
		}
		nc.AuthorizationType = typ
		setGiven(&nc.Description, in.Description)
		setGiven(&nc.KmsKeyIdentifier, in.KmsKeyIdentifier)
		if in.InvocationConnectivityParameters != nil {
			nc.InvocationConnectivityParameters = in.InvocationConnectivityParameters
		}
		now := s.now().UTC()
		nc.LastModifiedTime = now
		if reauth {
			setAuthorizing(&nc, now)
		}
		if err := s.sealAuth(&nc, auth); err != nil {
			return err
		}
		out = &nc
		return s.write(ctx, connKeyName(sc, in.Name), &nc, rev)
	})
	return out, err
}

// mergeAuth applies an update's authorization parameters to the current
// ones: given members replace, absent ones stay. A new authorization type
// drops the old type's parameters.
func mergeAuth(old, upd *ConnectionAuth, typeChanged bool) *ConnectionAuth {
	out := *old
	if typeChanged {
		out.BasicAuthParameters, out.ApiKeyAuthParameters, out.OAuthParameters = nil, nil, nil
	}
	if upd == nil {
		return &out
	}
	if u := upd.BasicAuthParameters; u != nil {
		p := deref(out.BasicAuthParameters)
		p.Username = or(u.Username, p.Username)
		p.Password = or(u.Password, p.Password)
		out.BasicAuthParameters = &p
	}
	if u := upd.ApiKeyAuthParameters; u != nil {
		p := deref(out.ApiKeyAuthParameters)
		p.ApiKeyName = or(u.ApiKeyName, p.ApiKeyName)
		p.ApiKeyValue = or(u.ApiKeyValue, p.ApiKeyValue)
		out.ApiKeyAuthParameters = &p
	}
	if u := upd.OAuthParameters; u != nil {
		p := deref(out.OAuthParameters)
		p.ClientParameters.ClientID = or(u.ClientParameters.ClientID, p.ClientParameters.ClientID)
		p.ClientParameters.ClientSecret = or(u.ClientParameters.ClientSecret, p.ClientParameters.ClientSecret)
		p.AuthorizationEndpoint = or(u.AuthorizationEndpoint, p.AuthorizationEndpoint)
		p.HttpMethod = or(u.HttpMethod, p.HttpMethod)
		if u.OAuthHttpParameters != nil {
			p.OAuthHttpParameters = u.OAuthHttpParameters
		}
		out.OAuthParameters = &p
	}
	if upd.InvocationHttpParameters != nil {
		out.InvocationHttpParameters = upd.InvocationHttpParameters
	}
	if upd.ConnectivityParameters != nil {
		out.ConnectivityParameters = upd.ConnectivityParameters
	}
	return &out
}

// checkComplete reports credentials an update left missing: after a type
// change, or after DeauthorizeConnection removed the secrets.
func checkComplete(typ string, a *ConnectionAuth) error {
	var missing string
	switch typ {
	case AuthBasic:
		switch p := a.BasicAuthParameters; {
		case p.Username == "":
			missing = "BasicAuthParameters.Username"
		case p.Password == "":
			missing = "BasicAuthParameters.Password"
		}
	case AuthAPIKey:
		switch p := a.ApiKeyAuthParameters; {
		case p.ApiKeyName == "":
			missing = "ApiKeyAuthParameters.ApiKeyName"
		case p.ApiKeyValue == "":
			missing = "ApiKeyAuthParameters.ApiKeyValue"
		}
	case AuthOAuth:
		switch p := a.OAuthParameters; {
		case p.ClientParameters.ClientID == "":
			missing = "OAuthParameters.ClientParameters.ClientID"
		case p.ClientParameters.ClientSecret == "":
			missing = "OAuthParameters.ClientParameters.ClientSecret"
		case p.AuthorizationEndpoint == "":
			missing = "OAuthParameters.AuthorizationEndpoint"
		case p.HttpMethod == "":
			missing = "OAuthParameters.HttpMethod"
		}
	}
	if missing != "" {
		return awserr.Validation("Parameter(s) %s must be specified.", missing)
	}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DeleteConnection deletes a connection. API destinations using it stay,
// and fail to deliver until pointed at another connection. The returned
// record is in state DELETING, as AWS answers.
func (s *Service) DeleteConnection(ctx context.Context, sc Scope, name string) (*Connection, error) {
	var out *Connection
	err := retry(ctx, func() error {
		c, rev := s.view.Connection(sc, name)
		if c == nil {
			return connectionNotFound(name)
		}
		nc := *c
		nc.State, nc.LastModifiedTime = ConnDeleting, s.now().UTC()
		out = &nc
		return s.remove(ctx, connKeyName(sc, name), rev)
	})
	return out, err
}

// DeauthorizeConnection removes a connection's secrets; its destinations
// cannot be invoked until UpdateConnection gives new ones. The returned
// record is in state DEAUTHORIZING, as AWS answers; the stored state is
// DEAUTHORIZED.
func (s *Service) DeauthorizeConnection(ctx context.Context, sc Scope, name string) (*Connection, error) {
	var out *Connection
	err := retry(ctx, func() error {
		c, rev := s.view.Connection(sc, name)
		if c == nil {
			return connectionNotFound(name)
		}
		a, err := OpenAuth(s.Secrets, c)
		if err != nil {
			return err
		}
		nc := *c
		nc.State, nc.StateReason, nc.LastModifiedTime = ConnDeauthorized, "", s.now().UTC()
		if err := s.sealAuth(&nc, a.Public()); err != nil {
			return err
		}
		if err := s.write(ctx, connKeyName(sc, name), &nc, rev); err != nil {
			return err
		}
		resp := nc
		resp.State = ConnDeauthorizing
		out = &resp
		return nil
	})
	return out, err
}

// ReportAuthorization records the outcome of an OAuth token request for
// connection c as it was read (same record, same credentials): AUTHORIZED,
// or DEAUTHORIZED with the reason. A connection changed meanwhile is left
// alone; its new credentials get their own request.
func (s *Service) ReportAuthorization(ctx context.Context, c *Connection, authErr error) error {
	return retry(ctx, func() error {
		cur, rev := s.view.Connection(c.Scope, c.Name)
		if cur == nil || cur.UUID != c.UUID || cur.Auth != c.Auth {
			return nil
		}
		nc := *cur
		now := s.now().UTC()
		// Only an authorization under way is concluded: a deauthorized
		// connection stays so until it is given new credentials.
		if cur.State != ConnAuthorizing {
			return nil
		}
		if authErr == nil {
			nc.State, nc.StateReason, nc.LastAuthorizedTime = ConnAuthorized, "", now
		} else {
			reason := authErr.Error()
			if len(reason) > 512 {
				reason = reason[:512]
			}
			nc.State, nc.StateReason = ConnDeauthorized, reason
		}
		nc.LastModifiedTime = now
		return s.write(ctx, connKeyName(c.Scope, c.Name), &nc, rev)
	})
}
