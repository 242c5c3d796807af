package awsclient

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchyard/switchyard/internal/awsclient/awsclienttest"
)

const region = "us-west-2"

// service is one service Switchyard calls, with the names the SDK reads its
// configured endpoint under
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html,
// "Identifiers for service-specific endpoints"), its default endpoint, and
// one call to it made the way Switchyard makes its calls.
type service struct {
	name       string // ARN service name: the --aws-endpoint key
	envVar     string // AWS_ENDPOINT_URL_<SDK id, upper case, spaces as _>
	servicesKy string // key in a services section: the SDK id, lower case, spaces as _
	aws        string // AWS's endpoint in region
	call       func(ctx context.Context, f *Factory) error
}

// clientCall builds a client of a service from f's configuration for region
// with the --aws-endpoint override applied to the endpoint the SDK resolved,
// as package awstarget and the dead-letter sender do, and makes one call.
func clientCall[C any](name string, build func(aws.Config, ...func(*C)) func(context.Context) error,
	base func(*C) **string) func(context.Context, *Factory) error {
	return func(ctx context.Context, f *Factory) error {
		cfg, err := f.Config(ctx, region)
		if err != nil {
			return err
		}
		return build(cfg, func(o *C) { *base(o) = f.BaseEndpoint(name, *base(o)) })(ctx)
	}
}

var services = []service{
	{"sqs", "AWS_ENDPOINT_URL_SQS", "sqs", "https://sqs.us-west-2.amazonaws.com", clientCall("sqs",
		func(cfg aws.Config, o ...func(*sqs.Options)) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := sqs.NewFromConfig(cfg, o...).ListQueues(ctx, nil)
				return err
			}
		}, func(o *sqs.Options) **string { return &o.BaseEndpoint })},
	{"sns", "AWS_ENDPOINT_URL_SNS", "sns", "https://sns.us-west-2.amazonaws.com", clientCall("sns",
		func(cfg aws.Config, o ...func(*sns.Options)) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := sns.NewFromConfig(cfg, o...).ListTopics(ctx, nil)
				return err
			}
		}, func(o *sns.Options) **string { return &o.BaseEndpoint })},
	{"lambda", "AWS_ENDPOINT_URL_LAMBDA", "lambda", "https://lambda.us-west-2.amazonaws.com", clientCall("lambda",
		func(cfg aws.Config, o ...func(*lambda.Options)) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := lambda.NewFromConfig(cfg, o...).ListFunctions(ctx, nil)
				return err
			}
		}, func(o *lambda.Options) **string { return &o.BaseEndpoint })},
	{"kinesis", "AWS_ENDPOINT_URL_KINESIS", "kinesis", "https://kinesis.us-west-2.amazonaws.com", clientCall("kinesis",
		func(cfg aws.Config, o ...func(*kinesis.Options)) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := kinesis.NewFromConfig(cfg, o...).ListStreams(ctx, &kinesis.ListStreamsInput{})
				return err
			}
		}, func(o *kinesis.Options) **string { return &o.BaseEndpoint })},
	{"firehose", "AWS_ENDPOINT_URL_FIREHOSE", "firehose", "https://firehose.us-west-2.amazonaws.com", clientCall("firehose",
		func(cfg aws.Config, o ...func(*firehose.Options)) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := firehose.NewFromConfig(cfg, o...).ListDeliveryStreams(ctx, &firehose.ListDeliveryStreamsInput{})
				return err
			}
		}, func(o *firehose.Options) **string { return &o.BaseEndpoint })},
	{"states", "AWS_ENDPOINT_URL_SFN", "sfn", "https://states.us-west-2.amazonaws.com", clientCall("states",
		func(cfg aws.Config, o ...func(*sfn.Options)) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := sfn.NewFromConfig(cfg, o...).ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
				return err
			}
		}, func(o *sfn.Options) **string { return &o.BaseEndpoint })},
	{"logs", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "cloudwatch_logs", "https://logs.us-west-2.amazonaws.com", clientCall("logs",
		func(cfg aws.Config, o ...func(*cloudwatchlogs.Options)) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := cloudwatchlogs.NewFromConfig(cfg, o...).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
				return err
			}
		}, func(o *cloudwatchlogs.Options) **string { return &o.BaseEndpoint })},
	// STS through RoleConfig itself: the AssumeRole call happens when the
	// role's credentials are first needed.
	{"sts", "AWS_ENDPOINT_URL_STS", "sts", "https://sts.us-west-2.amazonaws.com", func(ctx context.Context, f *Factory) error {
		cfg, err := f.RoleConfig(ctx, region, "arn:aws:iam::123456789012:role/target")
		if err != nil {
			return err
		}
		_, err = cfg.Credentials.Retrieve(ctx)
		return err
	}},
}

// The sources of an endpoint, each with its own URL in the tests below.
const (
	flagSvc    = "flag"       // --aws-endpoint <service>=URL
	flagAll    = "flag-all"   // --aws-endpoint URL (the "*" entry)
	flagOther  = "flag-other" // --aws-endpoint for another service only
	envSvc     = "env"        // AWS_ENDPOINT_URL_<SERVICE>
	envGlobal  = "env-global" // AWS_ENDPOINT_URL
	cfgService = "services"   // the profile's services section
	cfgProfile = "profile"    // the profile's endpoint_url
	ignoreEnv  = "ignore-env" // AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true
	ignoreCfg  = "ignore-cfg" // ignore_configured_endpoint_urls = true in the profile
)

func sourceURL(source string) string { return "http://" + source + ".test" }

// setUp configures the sources for svc: the factory's flags, the
// environment, and the shared config file (profile x).
func setUp(t *testing.T, svc service, sources []string) *Factory {
	t.Helper()
	configFile := awsclienttest.IsolateEnv(t)
	flags := map[string]string{}
	var profile, sections strings.Builder
	for _, s := range sources {
		switch s {
		case flagSvc:
			flags[svc.name] = sourceURL(s)
		case flagAll:
			flags["*"] = sourceURL(s)
		case flagOther:
			other := "sqs"
			if svc.name == other {
				other = "sns"
			}
			flags[other] = sourceURL(s)
		case envSvc:
			t.Setenv(svc.envVar, sourceURL(s))
		case envGlobal:
			t.Setenv("AWS_ENDPOINT_URL", sourceURL(s))
		case cfgService:
			profile.WriteString("services = local\n")
			fmt.Fprintf(&sections, "[services local]\n%s =\n  endpoint_url = %s\n", svc.servicesKy, sourceURL(s))
		case cfgProfile:
			fmt.Fprintf(&profile, "endpoint_url = %s\n", sourceURL(s))
		case ignoreEnv:
			t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
		case ignoreCfg:
			profile.WriteString("ignore_configured_endpoint_urls = true\n")
		default:
			t.Fatalf("unknown source %q", s)
		}
	}
	if err := os.WriteFile(configFile, []byte("[profile x]\n"+profile.String()+"\n"+sections.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_PROFILE", "x")
	return New(flags)
}

// TestEndpointPrecedence checks, for every service Switchyard calls, which
// endpoint its calls go to when several sources configure one:
// --aws-endpoint (the service's, else "*") over the SDK's configured
// endpoint — AWS_ENDPOINT_URL_<SERVICE> over AWS_ENDPOINT_URL over the
// services section over the profile's endpoint_url, none of them with
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or ignore_configured_endpoint_urls —
// over AWS's own.
func TestEndpointPrecedence(t *testing.T) {
	all := []string{envSvc, envGlobal, cfgService, cfgProfile}
	for _, c := range []struct {
		name    string
		sources []string
		want    string // the source whose URL the call goes to; "" for AWS's endpoint
	}{
		{"nothing configured", nil, ""},
		{"profile endpoint_url", []string{cfgProfile}, cfgProfile},
		{"services section", []string{cfgService}, cfgService},
		{"services section over endpoint_url", []string{cfgService, cfgProfile}, cfgService},
		{"AWS_ENDPOINT_URL", []string{envGlobal}, envGlobal},
		{"AWS_ENDPOINT_URL over the config file", []string{envGlobal, cfgService, cfgProfile}, envGlobal},
		{"service variable", []string{envSvc}, envSvc},
		{"service variable over everything configured", all, envSvc},
		{"flag for another service erases nothing", append([]string{flagOther}, all...), envSvc},
		{"flag for another service, nothing configured", []string{flagOther}, ""},
		{"flag for all over everything configured", append([]string{flagAll}, all...), flagAll},
		{"flag for the service over the flag for all", append([]string{flagSvc, flagAll}, all...), flagSvc},
		{"ignore variable", append([]string{ignoreEnv}, all...), ""},
		{"ignore in the profile", append([]string{ignoreCfg}, all...), ""},
		{"ignore variable keeps the flag", append([]string{ignoreEnv, flagSvc}, all...), flagSvc},
		{"ignore in the profile keeps the flag for all", append([]string{ignoreCfg, flagAll}, all...), flagAll},
	} {
		for _, svc := range services {
			t.Run(c.name+"/"+svc.name, func(t *testing.T) {
				f := setUp(t, svc, c.sources)
				want := svc.aws
				if c.want != "" {
					want = sourceURL(c.want)
				}
				checkEndpoint(t, f, svc, want)
			})
		}
	}
}

// checkEndpoint makes svc's call with f's clients and checks it went to
// want.
func checkEndpoint(t *testing.T, f *Factory, svc service, want string) {
	t.Helper()
	rec := &awsclienttest.Recorder{}
	f.LoadOptions = rec.LoadOptions()
	err := svc.call(context.Background(), f)
	if got := rec.Endpoints(); !slices.Equal(got, []string{want}) {
		t.Errorf("%s: called %v (err %v), want one call to %s", svc.name, got, err, want)
	}
}

// TestEndpointFromSDKNames checks the SDK names each service's configured
// endpoint is read under, one source alone at a time.
func TestEndpointFromSDKNames(t *testing.T) {
	for _, svc := range services {
		for _, source := range []string{envSvc, cfgService} {
			t.Run(svc.name+"/"+source, func(t *testing.T) {
				checkEndpoint(t, setUp(t, svc, []string{source}), svc, sourceURL(source))
			})
		}
	}
}

func TestParseEndpoints(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"", map[string]string{}, false},
		{"http://h:1", map[string]string{"*": "http://h:1"}, false},
		{"sqs=http://a, sts=https://b", map[string]string{"sqs": "http://a", "sts": "https://b"}, false},
		{"sqs=ftp://a", nil, true},
	} {
		got, err := ParseEndpoints(c.in)
		if (err != nil) != c.wantErr || (err == nil && fmt.Sprint(got) != fmt.Sprint(c.want)) {
			t.Errorf("ParseEndpoints(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.wantErr)
		}
	}
}
