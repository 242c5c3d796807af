package awstarget

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/tracing"
)

// httpTimeout is AWS's limit on an API Gateway call: "EventBridge API
// Gateway requests must have a maximum client execution timeout of 5
// seconds" ("Amazon EventBridge targets for Amazon API Gateway",
// EventBridge User Guide). AppSync calls are held to the same.
const httpTimeout = 5 * time.Second

// signer is the configuration of the calls of one region and role: its
// credentials, and the --aws-endpoint URL of the service if it has one.
type signer struct {
	cfg      aws.Config
	endpoint string
}

// signedHTTP makes the calls of the targets EventBridge reaches over
// plain HTTPS rather than through an SDK client, API Gateway and AppSync,
// signed with SigV4 for service (the signing name) as the target's role.
type signedHTTP struct {
	service string
	signers *clients[*signer]
	client  *deliver.HTTPClient
}

func newSignedHTTP(f *awsclient.Factory, service string) *signedHTTP {
	return &signedHTTP{
		service: service,
		signers: newClients(f, service, func(cfg aws.Config, endpoint func(*string) *string) *signer {
			return &signer{cfg: cfg, endpoint: aws.ToString(endpoint(nil))}
		}),
		// The endpoint is AWS's, or the operator's --aws-endpoint, and no
		// address the cloud keeps for itself (the metadata service).
		client: deliver.NewGuardedHTTPClient(httpTimeout, netguard.Default()),
	}
}

// call sends one request: the headers given (and the event's trace header
// as X-Amzn-Trace-Id), signed as the target's role when sign is set. 2xx
// is delivered; 429 and 5xx are retried; any other answer is final
// ("EventBridge retries responses sent with a 5xx or 429 HTTP status code
// ... EventBridge doesn't retry other 4xx HTTP errors": "Amazon
// EventBridge targets for Amazon API Gateway", EventBridge User Guide).
func (s *signedHTTP) call(ctx context.Context, inv *deliver.Invocation, sg *signer, region, method, url string, header http.Header, body []byte, sign bool) error {
	if inv.Trace != "" {
		header.Set(deliver.TraceHeader, inv.Trace)
		header.Set(deliver.TraceparentHeader, tracing.Traceparent(inv.Trace))
	}
	header.Set("User-Agent", "Switchyard")
	if sign {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			return deliver.Permanent("InvalidEndpoint", fmt.Errorf("target %s: %w", inv.Target.Arn, err))
		}
		req.Header = header
		creds, err := sg.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			// The role could not be assumed (or no credentials found):
			// the same as an SDK call's failure to.
			return classify(err)
		}
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), s.service, region, time.Now()); err != nil {
			return deliver.Permanent("SDK_CLIENT_ERROR", fmt.Errorf("target %s: signing: %w", inv.Target.Arn, err))
		}
		header = req.Header
	}
	c := &deliver.Call{Method: method, URL: url, Body: body, KeepBody: inv.Reply != nil}
	for _, k := range slices.Sorted(maps.Keys(header)) {
		for _, v := range header[k] {
			c.Header = append(c.Header, deliver.Header{Name: k, Value: v})
		}
	}
	ans, err := s.client.Do(ctx, c)
	if err != nil {
		return deliver.CallFailed(inv.Target.Arn, err)
	}
	switch st := ans.Status; {
	case st >= 200 && st <= 299:
		if inv.Reply != nil {
			*inv.Reply = ans.Body
		}
		return nil
	case st == 429:
		return deliver.Retryable("THROTTLING", fmt.Errorf("target %s: status %d", inv.Target.Arn, st))
	case st >= 500:
		return deliver.Retryable("SDK_CLIENT_ERROR", fmt.Errorf("target %s: status %d", inv.Target.Arn, st))
	default:
		return deliver.Permanent("SDK_CLIENT_ERROR", fmt.Errorf("target %s: status %d", inv.Target.Arn, st))
	}
}

// baseURL is the URL requests for host go to: https://<host>, or the
// operator's --aws-endpoint for the service, where "{id}" stands for the
// API's id (http://{id}.execute-api.localhost:4566, say), the id being
// lost otherwise.
func baseURL(endpoint, host, id string) string {
	if endpoint == "" {
		return "https://" + host
	}
	return strings.TrimRight(strings.ReplaceAll(endpoint, "{id}", id), "/")
}

// dnsSuffix is the domain of AWS's endpoints in partition.
func dnsSuffix(partition string) string {
	if partition == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// apiGatewayInvoker calls an API Gateway REST API: the target's ARN is the
// method, arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path>,
// its "*" wildcards (in the stage and the path) filled in order with
// HttpParameters.PathParameterValues, for example
// "arn:aws:execute-api:us-east-1:112233445566:myapi/*/POST/pets/*"; the
// event (the input) is the body, the query string and headers come from
// HttpParameters ("Amazon EventBridge targets for Amazon API Gateway",
// EventBridge User Guide), and values may be JSON paths into the event. A
// target with a RoleArn is called as the role, signed for
// "execute-api", as an API with IAM authorization needs; one without is
// called unsigned ("You can invoke an API Gateway REST endpoint with
// configured IAM authorization, but the role is optional if you haven't
// configured authorization": "Permissions", Event bus targets, ibid.).
type apiGatewayInvoker struct{ h *signedHTTP }

func newAPIGateway(f *awsclient.Factory) *apiGatewayInvoker {
	return &apiGatewayInvoker{newSignedHTTP(f, "execute-api")}
}

func (g *apiGatewayInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "execute-api")
	if err != nil {
		return err
	}
	parts := strings.SplitN(a.Resource, "/", 4)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s is not an API Gateway method ARN (<api id>/<stage>/<method>/<path>)", inv.Target.Arn))
	}
	api, stage, method := parts[0], parts[1], strings.ToUpper(parts[2])
	path := ""
	if len(parts) == 4 {
		path = parts[3]
	}
	if method == "*" || method == "ANY" || method == "" {
		// A method ARN for any method is called as POST: the event is a
		// body to send.
		method = http.MethodPost
	}
	sg, err := g.h.signers.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	hp := deliver.ResolveHttpParameters(inv.Target.HttpParameters, inv.Event)
	u := baseURL(sg.endpoint, api+".execute-api."+a.Region+"."+dnsSuffix(a.Partition), api) + "/" + stage + "/" + path
	header := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if hp != nil {
		u = deliver.FillPath(u, hp.PathParameterValues)
		if u, err = deliver.WithQuery(u, hp.QueryStringParameters); err != nil {
			return deliver.Permanent("InvalidEndpoint", fmt.Errorf("target %s: %w", inv.Target.Arn, err))
		}
		for k, v := range hp.HeaderParameters {
			if !deliver.ReservedHeader(k) {
				header.Set(k, v)
			}
		}
	}
	var body []byte
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		body = inv.Input
	}
	return g.h.call(ctx, inv, sg, a.Region, method, u, header, body, inv.Target.RoleArn != nil)
}

// appSyncInvoker runs a target's GraphQL operation on an AppSync API:
// the target's ARN is the API's GraphQL endpoint,
// arn:aws:appsync:<region>:<account>:endpoints/graphql-api/<id>, whose URL
// is https://<id>.appsync-api.<region>.amazonaws.com/graphql (the AWS
// CDK's graphQLEndpointArn, and Terraform users' ARNs, are formed so). The
// request is a GraphQL POST, {"query": AppSyncParameters.GraphQLOperation,
// "variables": the input}: the input is the operation's variables,
// the whole event unless the target shapes it (the AWS CDK's AppSync
// target: "variables: The variables that are include in the GraphQL
// operation. Default: The entire event is used"). It is signed for
// "appsync" as the target's role: "AWS AppSync targets only support
// calling AWS AppSync GraphQL APIs using the AWS_IAM authorization type"
// ("AWS AppSync targets", EventBridge User Guide).
type appSyncInvoker struct{ h *signedHTTP }

func newAppSync(f *awsclient.Factory) *appSyncInvoker {
	return &appSyncInvoker{newSignedHTTP(f, "appsync")}
}

func (s *appSyncInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := target(inv, "appsync")
	if err != nil {
		return err
	}
	id, ok := resourceName(a.Resource, "endpoints/graphql-api/")
	p := inv.Target.AppSyncParameters
	if !ok || p == nil || p.GraphQLOperation == nil {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s is not an AppSync GraphQL endpoint ARN with AppSyncParameters", inv.Target.Arn))
	}
	vars := bytes.TrimSpace(inv.Input)
	if len(vars) == 0 || vars[0] != '{' || !json.Valid(vars) {
		return deliver.Permanent("InvalidInput", fmt.Errorf("target %s: the input is not a JSON object of GraphQL variables", inv.Target.Arn))
	}
	body, err := json.Marshal(struct {
		Query     string          `json:"query"`
		Variables json.RawMessage `json:"variables"`
	}{*p.GraphQLOperation, vars})
	if err != nil {
		return deliver.Permanent("InvalidInput", err)
	}
	sg, err := s.h.signers.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	u := baseURL(sg.endpoint, id+".appsync-api."+a.Region+"."+dnsSuffix(a.Partition), id) + "/graphql"
	return s.h.call(ctx, inv, sg, a.Region, http.MethodPost, u, http.Header{"Content-Type": {"application/json"}}, body, true)
}
