// Package awsclient configures the AWS SDK (aws-sdk-go-v2) for the targets
// and dead-letter queues Switchyard delivers to, so that the same binary
// delivers to real AWS or to any AWS-compatible server:
//
//   - the region is the one of the resource's ARN;
//   - the endpoint of a service comes from Switchyard's --aws-endpoint flag
//     (service=URL pairs), else from the SDK's configured endpoints
//     (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, the shared config file's
//     services section and endpoint_url), else AWS's own (BaseEndpoint);
//   - credentials come from the SDK's default chain (environment, shared
//     files, roles); a target's RoleArn is assumed with STS on top of them,
//     as EventBridge assumes it (RoleConfig).
package awsclient

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	//lint:ignore SA1019 otelaws is deprecated upstream in favour of the SDK's own tracing (smithy-go's smithyoteltracing adapter), which the module proxy here does not serve; otelaws also injects the trace headers into each request, which the SDK's tracing does not.
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"

	"github.com/switchyard/switchyard/internal/tracing"
)

// Services are the service identifiers --aws-endpoint accepts, as they
// appear in ARNs.
// ("sts" is the endpoint of the AssumeRole calls for targets' roles;
// "route53" the one global endpoints read their health checks from.)
var Services = []string{"sqs", "sns", "lambda", "kinesis", "firehose", "states", "logs", "ecs", "batch", "ssm",
	"redshift-data", "sagemaker", "codebuild", "codepipeline", "inspector", "ec2", "execute-api", "appsync", "sts", "route53"}

// Factory hands out SDK configurations per region, and per role assumed.
type Factory struct {
	endpoints map[string]string
	// IgnoreRoles makes RoleConfig return the region's configuration for
	// every role: calls are made with Switchyard's own credentials.
	IgnoreRoles bool
	// LoadOptions are added, after the region, to the options the SDK
	// configurations are loaded with (tests pass an HTTP client).
	LoadOptions []func(*config.LoadOptions) error
	mu          sync.Mutex
	byRegion    map[string]aws.Config
	byRole      map[roleKey]aws.Config
}

type roleKey struct{ region, role string }

// New returns a factory with the given endpoint overrides, keyed by ARN
// service name ("sqs", "states", ...); the key "*" applies to every service.
func New(endpoints map[string]string) *Factory {
	return &Factory{endpoints: endpoints, byRegion: map[string]aws.Config{}, byRole: map[roleKey]aws.Config{}}
}

// ParseEndpoints parses "sqs=http://127.0.0.1:5000,sns=..." (or a bare URL
// for every service).
func ParseEndpoints(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		svc, url, ok := strings.Cut(part, "=")
		if !ok {
			svc, url = "*", part
		}
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return nil, fmt.Errorf("aws endpoint %q: not an http(s) URL", part)
		}
		out[svc] = url
	}
	return out, nil
}

// Config returns the SDK configuration for region, loaded once.
func (f *Factory) Config(ctx context.Context, region string) (aws.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.byRegion[region]; ok {
		return c, nil
	}
	opts := append([]func(*config.LoadOptions) error{config.WithRegion(region)}, f.LoadOptions...)
	c, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config for %s: %w", region, err)
	}
	if tracing.Enabled() {
		// Every SDK call is a span, child of the context's (a delivery
		// attempt's), and carries its trace context (package tracing).
		otelaws.AppendMiddlewares(&c.APIOptions, otelaws.WithTextMapPropagator(tracing.Propagator))
	}
	f.byRegion[region] = c
	return c, nil
}

// SessionName is the role session name of the roles assumed for targets:
// it is what CloudTrail shows as the caller behind the role.
const SessionName = "Switchyard"

// RoleConfig returns the SDK configuration for calls in region made as
// role: the region's configuration with credentials from STS AssumeRole
// (with the region's own credentials, at the "sts" endpoint: see
// BaseEndpoint), cached and renewed before they expire. With no role, or
// with IgnoreRoles, it is Config. Assuming fails at the first call that needs the credentials,
// with STS's error (AccessDenied when the role does not trust the caller).
func (f *Factory) RoleConfig(ctx context.Context, region, role string) (aws.Config, error) {
	if role == "" || f.IgnoreRoles {
		return f.Config(ctx, region)
	}
	base, err := f.Config(ctx, region)
	if err != nil {
		return aws.Config{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := roleKey{region, role}
	if c, ok := f.byRole[k]; ok {
		return c, nil
	}
	client := sts.NewFromConfig(base, func(o *sts.Options) { o.BaseEndpoint = f.BaseEndpoint("sts", o.BaseEndpoint) })
	c := base.Copy()
	c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = SessionName
	}))
	f.byRole[k] = c
	return c, nil
}

// BaseEndpoint is the endpoint a client of service (an ARN service name,
// as --aws-endpoint keys it) is to use, given resolved, the BaseEndpoint
// the SDK resolved for the client: the --aws-endpoint URL of service, else
// its "*" URL, else resolved. Set it in the client's options function:
//
//	sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = f.BaseEndpoint("sqs", o.BaseEndpoint) })
//
// resolved is the SDK's configured endpoint for the service — by
// precedence AWS_ENDPOINT_URL_<SERVICE ID>, AWS_ENDPOINT_URL, the
// service's key in the shared config profile's services section, the
// profile's endpoint_url; none with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or
// ignore_configured_endpoint_urls — or nil for AWS's own endpoint
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
// NewFromConfig resolves it before it runs the options functions, which is
// why the override must fall back to it: a nil set there, when the flag
// does not name the service, would erase the configured endpoint and send
// the call to AWS. An explicit endpoint set in code wins over the
// configured ones also with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, as the
// page says, so the flag does.
func (f *Factory) BaseEndpoint(service string, resolved *string) *string {
	if u, ok := f.endpoints[service]; ok {
		return aws.String(u)
	}
	if u, ok := f.endpoints["*"]; ok {
		return aws.String(u)
	}
	return resolved
}

// ARN is a parsed Amazon Resource Name.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits arn:partition:service:region:account:resource.
func ParseARN(s string) (ARN, error) {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return ARN{}, fmt.Errorf("not an ARN: %q", s)
	}
	return ARN{Partition: p[1], Service: p[2], Region: p[3], Account: p[4], Resource: p[5]}, nil
}
