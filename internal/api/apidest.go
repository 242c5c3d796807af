package api

import (
	"context"
	"encoding/json"

	"github.com/switchyard/switchyard/internal/control"
)

// The model's patterns of the connection and API destination shapes.
func init() {
	for name, p := range map[string]string{
		"connectionName":     resourceName,
		"apiDestinationName": resourceName,
		"authHeader":         `^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$`,
		"httpsEndpoint":      `^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$`,
		"headerKey":          "^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$",
		"headerValue":        `^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$`,
		"queryKey":           `[^\x00-\x1F\x7F]+`,
		"queryValue":         `[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+`,
		"connectionArn":      `^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$`,
		"resourceConfigArn":  `^(?:^arn:[a-z0-9\-]+:vpc-lattice:[a-zA-Z0-9\-]+:\d{12}:resourceconfiguration/rcfg-[0-9a-z]{17}$|^$)`,
	} {
		patterns[name] = p
	}
}

// ---- connection shapes

type headerParamIn struct {
	Key           *string `v:"len=:512,re=headerKey"`
	Value         *string `v:"len=:512,re=headerValue,sensitive"`
	IsValueSecret bool
}

type queryParamIn struct {
	Key           *string `v:"len=:512,re=queryKey"`
	Value         *string `v:"len=:512,re=queryValue,sensitive"`
	IsValueSecret bool
}

type bodyParamIn struct {
	Key           *string
	Value         *string `v:"sensitive"`
	IsValueSecret bool
}

type connHTTPParamsIn struct {
	HeaderParameters      []headerParamIn `v:"len=0:100"`
	QueryStringParameters []queryParamIn  `v:"len=0:100"`
	BodyParameters        []bodyParamIn   `v:"len=0:100"`
}

func (p *connHTTPParamsIn) model() *control.ConnectionHttpParameters {
	if p == nil {
		return nil
	}
	conv := func(k, v *string, secret bool) control.ConnectionParameter {
		return control.ConnectionParameter{Key: deref(k), Value: deref(v), IsValueSecret: secret}
	}
	out := &control.ConnectionHttpParameters{}
	for _, h := range p.HeaderParameters {
		out.HeaderParameters = append(out.HeaderParameters, conv(h.Key, h.Value, h.IsValueSecret))
	}
	for _, q := range p.QueryStringParameters {
		out.QueryStringParameters = append(out.QueryStringParameters, conv(q.Key, q.Value, q.IsValueSecret))
	}
	for _, b := range p.BodyParameters {
		out.BodyParameters = append(out.BodyParameters, conv(b.Key, b.Value, b.IsValueSecret))
	}
	return out
}

type connectivityIn struct {
	ResourceParameters *struct {
		ResourceConfigurationArn *string `v:"req,len=0:2048,re=resourceConfigArn"`
	} `v:"req"`
}

// raw keeps private-API connectivity settings verbatim: Switchyard reaches
// private endpoints over its own network and only round-trips them.
func (c *connectivityIn) raw() json.RawMessage {
	if c == nil {
		return nil
	}
	b, _ := json.Marshal(c)
	return b
}

type basicAuthCreateIn struct {
	Username *string `v:"req,len=1:512,re=authHeader"`
	Password *string `v:"req,len=1:512,re=authHeader,sensitive"`
}

type apiKeyCreateIn struct {
	ApiKeyName  *string `v:"req,len=1:512,re=authHeader"`
	ApiKeyValue *string `v:"req,len=1:512,re=authHeader,sensitive"`
}

type oauthClientCreateIn struct {
	ClientID     *string `v:"req,len=1:512,re=authHeader"`
	ClientSecret *string `v:"req,len=1:512,re=authHeader,sensitive"`
}

type oauthCreateIn struct {
	ClientParameters      *oauthClientCreateIn `v:"req"`
	AuthorizationEndpoint *string              `v:"req,len=1:2048,re=httpsEndpoint"`
	HttpMethod            *string              `v:"req,enum=GET|POST|PUT"`
	OAuthHttpParameters   *connHTTPParamsIn
}

type createAuthIn struct {
	BasicAuthParameters      *basicAuthCreateIn
	OAuthParameters          *oauthCreateIn
	ApiKeyAuthParameters     *apiKeyCreateIn
	InvocationHttpParameters *connHTTPParamsIn
	ConnectivityParameters   *connectivityIn
}

func (a *createAuthIn) model() *control.ConnectionAuth {
	out := &control.ConnectionAuth{InvocationHttpParameters: a.InvocationHttpParameters.model(),
		ConnectivityParameters: a.ConnectivityParameters.raw()}
	if p := a.BasicAuthParameters; p != nil {
		out.BasicAuthParameters = &control.BasicAuthParameters{Username: deref(p.Username), Password: deref(p.Password)}
	}
	if p := a.ApiKeyAuthParameters; p != nil {
		out.ApiKeyAuthParameters = &control.ApiKeyAuthParameters{ApiKeyName: deref(p.ApiKeyName), ApiKeyValue: deref(p.ApiKeyValue)}
	}
	if p := a.OAuthParameters; p != nil {
		out.OAuthParameters = &control.OAuthParameters{AuthorizationEndpoint: deref(p.AuthorizationEndpoint),
			HttpMethod: deref(p.HttpMethod), OAuthHttpParameters: p.OAuthHttpParameters.model()}
		if c := p.ClientParameters; c != nil {
			out.OAuthParameters.ClientParameters = control.OAuthClientParameters{ClientID: deref(c.ClientID), ClientSecret: deref(c.ClientSecret)}
		}
	}
	return out
}

type createConnectionIn struct {
	Name                             *string       `v:"req,len=1:64,re=connectionName"`
	Description                      *string       `v:"len=:512"`
	AuthorizationType                *string       `v:"req,enum=BASIC|OAUTH_CLIENT_CREDENTIALS|API_KEY"`
	AuthParameters                   *createAuthIn `v:"req"`
	InvocationConnectivityParameters *connectivityIn
	KmsKeyIdentifier                 *string `v:"len=:2048,re=kmsKey"`
}

type basicAuthUpdateIn struct {
	Username *string `v:"len=1:512,re=authHeader"`
	Password *string `v:"len=1:512,re=authHeader,sensitive"`
}

type apiKeyUpdateIn struct {
	ApiKeyName  *string `v:"len=1:512,re=authHeader"`
	ApiKeyValue *string `v:"len=1:512,re=authHeader,sensitive"`
}

type oauthClientUpdateIn struct {
	ClientID     *string `v:"len=1:512,re=authHeader"`
	ClientSecret *string `v:"len=1:512,re=authHeader,sensitive"`
}

type oauthUpdateIn struct {
	ClientParameters      *oauthClientUpdateIn
	AuthorizationEndpoint *string `v:"len=1:2048,re=httpsEndpoint"`
	HttpMethod            *string `v:"enum=GET|POST|PUT"`
	OAuthHttpParameters   *connHTTPParamsIn
}

type updateAuthIn struct {
	BasicAuthParameters      *basicAuthUpdateIn
	OAuthParameters          *oauthUpdateIn
	ApiKeyAuthParameters     *apiKeyUpdateIn
	InvocationHttpParameters *connHTTPParamsIn
	ConnectivityParameters   *connectivityIn
}

// model returns the update's parameters; empty strings stand for members
// not given (the model's minimum length is 1, so none is given empty).
func (a *updateAuthIn) model() *control.ConnectionAuth {
	if a == nil {
		return nil
	}
	c := createAuthIn{InvocationHttpParameters: a.InvocationHttpParameters, ConnectivityParameters: a.ConnectivityParameters}
	if p := a.BasicAuthParameters; p != nil {
		c.BasicAuthParameters = &basicAuthCreateIn{p.Username, p.Password}
	}
	if p := a.ApiKeyAuthParameters; p != nil {
		c.ApiKeyAuthParameters = &apiKeyCreateIn{p.ApiKeyName, p.ApiKeyValue}
	}
	if p := a.OAuthParameters; p != nil {
		c.OAuthParameters = &oauthCreateIn{AuthorizationEndpoint: p.AuthorizationEndpoint, HttpMethod: p.HttpMethod,
			OAuthHttpParameters: p.OAuthHttpParameters}
		if cp := p.ClientParameters; cp != nil {
			c.OAuthParameters.ClientParameters = &oauthClientCreateIn{cp.ClientID, cp.ClientSecret}
		}
	}
	return c.model()
}

type updateConnectionIn struct {
	Name                             *string `v:"req,len=1:64,re=connectionName"`
	Description                      *string `v:"len=:512"`
	AuthorizationType                *string `v:"enum=BASIC|OAUTH_CLIENT_CREDENTIALS|API_KEY"`
	AuthParameters                   *updateAuthIn
	InvocationConnectivityParameters *connectivityIn
	KmsKeyIdentifier                 *string `v:"len=:2048,re=kmsKey"`
}

type connectionRefIn struct {
	Name *string `v:"req,len=1:64,re=connectionName"`
}

type listConnectionsIn struct {
	NamePrefix      *string `v:"len=1:64,re=connectionName"`
	ConnectionState *string `v:"enum=CREATING|UPDATING|DELETING|AUTHORIZED|DEAUTHORIZED|AUTHORIZING|DEAUTHORIZING|ACTIVE|FAILED_CONNECTIVITY"`
	NextToken       *string `v:"len=1:2048"`
	Limit           *int32  `v:"range=1:100"`
}

// connStateOut is the answer of the connection operations that change one.
type connStateOut struct {
	ConnectionArn      string
	ConnectionState    string
	CreationTime       epoch `json:",omitempty"`
	LastModifiedTime   epoch `json:",omitempty"`
	LastAuthorizedTime epoch `json:",omitempty"`
}

func stateOut(c *control.Connection, withAuthorized bool) connStateOut {
	o := connStateOut{ConnectionArn: c.ARN(), ConnectionState: c.State, CreationTime: toEpoch(c.CreationTime),
		LastModifiedTime: toEpoch(c.LastModifiedTime)}
	if withAuthorized {
		o.LastAuthorizedTime = toEpoch(c.LastAuthorizedTime)
	}
	return o
}

type connectionOut struct {
	ConnectionArn                    string
	Name                             string
	Description                      string          `json:",omitempty"`
	InvocationConnectivityParameters json.RawMessage `json:",omitempty"`
	ConnectionState                  string
	StateReason                      string                  `json:",omitempty"`
	AuthorizationType                string                  `json:",omitempty"`
	SecretArn                        string                  `json:",omitempty"`
	KmsKeyIdentifier                 string                  `json:",omitempty"`
	AuthParameters                   *control.ConnectionAuth `json:",omitempty"`
	CreationTime                     epoch                   `json:",omitempty"`
	LastModifiedTime                 epoch                   `json:",omitempty"`
	LastAuthorizedTime               epoch                   `json:",omitempty"`
}

func (h *Handler) createConnection(ctx context.Context, sc control.Scope, in *createConnectionIn) (any, error) {
	c, err := h.control.CreateConnection(ctx, sc, control.ConnectionInput{Name: *in.Name, Description: in.Description,
		AuthorizationType: *in.AuthorizationType, Auth: in.AuthParameters.model(),
		InvocationConnectivityParameters: in.InvocationConnectivityParameters.raw(), KmsKeyIdentifier: in.KmsKeyIdentifier})
	if err != nil {
		return nil, err
	}
	return stateOut(c, false), nil
}

// connSummary is a connection as ListConnections shows it; DescribeConnection
// adds the rest.
func connSummary(c *control.Connection) connectionOut {
	return connectionOut{ConnectionArn: c.ARN(), Name: c.Name, ConnectionState: c.State, StateReason: c.StateReason,
		AuthorizationType: c.AuthorizationType, CreationTime: toEpoch(c.CreationTime),
		LastModifiedTime: toEpoch(c.LastModifiedTime), LastAuthorizedTime: toEpoch(c.LastAuthorizedTime)}
}

func (h *Handler) describeConnection(ctx context.Context, sc control.Scope, in *connectionRefIn) (any, error) {
	c, auth, err := h.control.DescribeConnection(ctx, sc, *in.Name)
	if err != nil {
		return nil, err
	}
	o := connSummary(c)
	o.Description, o.InvocationConnectivityParameters = c.Description, c.InvocationConnectivityParameters
	o.SecretArn, o.KmsKeyIdentifier, o.AuthParameters = c.SecretArn, c.KmsKeyIdentifier, auth
	return o, nil
}

func (h *Handler) listConnections(ctx context.Context, sc control.Scope, in *listConnectionsIn) (any, error) {
	cs, next, err := h.control.ListConnections(ctx, sc, deref(in.NamePrefix), deref(in.ConnectionState), in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Connections []connectionOut
		NextToken   *string `json:",omitempty"`
	}{each(cs, connSummary), next}, nil
}

func (h *Handler) updateConnection(ctx context.Context, sc control.Scope, in *updateConnectionIn) (any, error) {
	c, err := h.control.UpdateConnection(ctx, sc, control.ConnectionInput{Name: *in.Name, Description: in.Description,
		AuthorizationType: deref(in.AuthorizationType), Auth: in.AuthParameters.model(),
		InvocationConnectivityParameters: in.InvocationConnectivityParameters.raw(), KmsKeyIdentifier: in.KmsKeyIdentifier})
	if err != nil {
		return nil, err
	}
	return stateOut(c, true), nil
}

func (h *Handler) deleteConnection(ctx context.Context, sc control.Scope, in *connectionRefIn) (any, error) {
	c, err := h.control.DeleteConnection(ctx, sc, *in.Name)
	if err != nil {
		return nil, err
	}
	return stateOut(c, true), nil
}

func (h *Handler) deauthorizeConnection(ctx context.Context, sc control.Scope, in *connectionRefIn) (any, error) {
	c, err := h.control.DeauthorizeConnection(ctx, sc, *in.Name)
	if err != nil {
		return nil, err
	}
	return stateOut(c, true), nil
}

// ---- API destinations

type createApiDestinationIn struct {
	Name                         *string `v:"req,len=1:64,re=apiDestinationName"`
	Description                  *string `v:"len=:512"`
	ConnectionArn                *string `v:"req,len=1:1600,re=connectionArn"`
	InvocationEndpoint           *string `v:"req,len=1:2048,re=httpsEndpoint"`
	HttpMethod                   *string `v:"req,enum=POST|GET|HEAD|OPTIONS|PUT|PATCH|DELETE"`
	InvocationRateLimitPerSecond *int32  `v:"range=1:"`
}

type updateApiDestinationIn struct {
	Name                         *string `v:"req,len=1:64,re=apiDestinationName"`
	Description                  *string `v:"len=:512"`
	ConnectionArn                *string `v:"len=1:1600,re=connectionArn"`
	InvocationEndpoint           *string `v:"len=1:2048,re=httpsEndpoint"`
	HttpMethod                   *string `v:"enum=POST|GET|HEAD|OPTIONS|PUT|PATCH|DELETE"`
	InvocationRateLimitPerSecond *int32  `v:"range=1:"`
}

type apiDestinationRefIn struct {
	Name *string `v:"req,len=1:64,re=apiDestinationName"`
}

type listApiDestinationsIn struct {
	NamePrefix    *string `v:"len=1:64,re=apiDestinationName"`
	ConnectionArn *string `v:"len=1:1600,re=connectionArn"`
	NextToken     *string `v:"len=1:2048"`
	Limit         *int32  `v:"range=1:100"`
}

type apiDestinationOut struct {
	ApiDestinationArn            string
	Name                         string `json:",omitempty"`
	Description                  string `json:",omitempty"`
	ApiDestinationState          string
	ConnectionArn                string `json:",omitempty"`
	InvocationEndpoint           string `json:",omitempty"`
	HttpMethod                   string `json:",omitempty"`
	InvocationRateLimitPerSecond int32  `json:",omitempty"`
	CreationTime                 epoch  `json:",omitempty"`
	LastModifiedTime             epoch  `json:",omitempty"`
}

func (h *Handler) destOut(d *control.ApiDestination, full bool) apiDestinationOut {
	o := apiDestinationOut{ApiDestinationArn: d.ARN(), ApiDestinationState: h.control.DestinationState(d),
		CreationTime: toEpoch(d.CreationTime), LastModifiedTime: toEpoch(d.LastModifiedTime)}
	if full {
		o.Name, o.ConnectionArn, o.InvocationEndpoint = d.Name, d.ConnectionArn, d.InvocationEndpoint
		o.HttpMethod, o.InvocationRateLimitPerSecond = d.HttpMethod, d.InvocationRateLimitPerSecond
	}
	return o
}

func (h *Handler) createApiDestination(ctx context.Context, sc control.Scope, in *createApiDestinationIn) (any, error) {
	d, err := h.control.CreateApiDestination(ctx, sc, control.ApiDestinationInput{Name: *in.Name, Description: in.Description,
		ConnectionArn: in.ConnectionArn, InvocationEndpoint: in.InvocationEndpoint, HttpMethod: in.HttpMethod,
		InvocationRateLimitPerSecond: in.InvocationRateLimitPerSecond})
	if err != nil {
		return nil, err
	}
	return h.destOut(d, false), nil
}

func (h *Handler) describeApiDestination(ctx context.Context, sc control.Scope, in *apiDestinationRefIn) (any, error) {
	d, err := h.control.DescribeApiDestination(ctx, sc, *in.Name)
	if err != nil {
		return nil, err
	}
	o := h.destOut(d, true)
	o.Description = d.Description
	return o, nil
}

func (h *Handler) listApiDestinations(ctx context.Context, sc control.Scope, in *listApiDestinationsIn) (any, error) {
	ds, next, err := h.control.ListApiDestinations(ctx, sc, deref(in.NamePrefix), deref(in.ConnectionArn), in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		ApiDestinations []apiDestinationOut
		NextToken       *string `json:",omitempty"`
	}{each(ds, func(d *control.ApiDestination) apiDestinationOut { return h.destOut(d, true) }), next}, nil
}

func (h *Handler) updateApiDestination(ctx context.Context, sc control.Scope, in *updateApiDestinationIn) (any, error) {
	d, err := h.control.UpdateApiDestination(ctx, sc, control.ApiDestinationInput{Name: *in.Name, Description: in.Description,
		ConnectionArn: in.ConnectionArn, InvocationEndpoint: in.InvocationEndpoint, HttpMethod: in.HttpMethod,
		InvocationRateLimitPerSecond: in.InvocationRateLimitPerSecond})
	if err != nil {
		return nil, err
	}
	return h.destOut(d, false), nil
}

func (h *Handler) deleteApiDestination(ctx context.Context, sc control.Scope, in *apiDestinationRefIn) (any, error) {
	return nil, h.control.DeleteApiDestination(ctx, sc, *in.Name)
}
