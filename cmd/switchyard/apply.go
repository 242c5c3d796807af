package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/api"
	"github.com/switchyard/switchyard/stack"
)

// apiCaller is a stack.Caller over callAPI.
type apiCaller struct {
	endpoint string
	who      caller
	timeout  time.Duration // of each call
}

func (c apiCaller) Call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	// Reading a stack's state is many calls in a row: back off and retry
	// when the account's control-plane quota throttles them, as the AWS
	// SDKs' standard retryer does.
	var data []byte
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		// The applier names the operation in its errors: no prefix here.
		data, err = postScoped(ctx, strings.TrimRight(c.endpoint, "/")+"/",
			http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"AWSEvents." + op}},
			body, c.who, 16<<20, "")
		if err == nil || attempt == maxAttempts-1 || !strings.HasPrefix(err.Error(), "ThrottlingException") {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		}
	}
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// maxAttempts is how often a throttled call is tried.
const maxAttempts = 8

// stackFlags are the flags apply and diff share.
type stackFlags struct {
	file, stackName, endpoint, region, account string
	params                                     []string
	timeout                                    time.Duration
}

func (f *stackFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "the document: switchyard's YAML/JSON form or a CloudFormation template (- for stdin; required)")
	fl.StringVar(&f.stackName, "stack-name", "", "the stack's name (default: the document's Stack, or for a template the file's base name)")
	fl.StringArrayVar(&f.params, "parameter", nil, "a template parameter, Key=Value (repeatable)")
	fl.StringVar(&f.endpoint, "endpoint", "http://127.0.0.1:4010", "the switchyard API endpoint")
	fl.StringVar(&f.region, "region", envOr("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION"), "the region (default from AWS_REGION or AWS_DEFAULT_REGION)")
	fl.StringVar(&f.account, "account", api.DefaultAccount, "the account, under --auth none; without it, the AWS credentials configured (AWS_ACCESS_KEY_ID, a profile, ...) sign the requests")
	fl.DurationVar(&f.timeout, "call-timeout", 30*time.Second, "how long one API call (with its retries) may take: a server that does not answer fails the run after this")
	_ = cmd.MarkFlagRequired("file")
}

// plan reads the document and plans it against the running switchyard.
func (f *stackFlags) plan(cmd *cobra.Command, prune bool) (*stack.Plan, stack.Caller, stack.PlanOptions, error) {
	var opts stack.PlanOptions
	if err := envFlags(cmd.Flags()); err != nil {
		return nil, nil, opts, err
	}
	who, err := callerFor(cmd, f.region, f.account)
	if err != nil {
		return nil, nil, opts, err
	}
	var data []byte
	if f.file == "-" {
		data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), stack.MaxDocumentSize+1))
	} else {
		data, err = readLimited(f.file, stack.MaxDocumentSize+1)
	}
	if err != nil {
		return nil, nil, opts, err
	}
	params := map[string]string{}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, nil, opts, fmt.Errorf("--parameter %q: want Key=Value", p)
		}
		params[k] = v
	}
	c := apiCaller{endpoint: f.endpoint, who: who, timeout: f.timeout}
	account := who.account
	if who.creds != nil {
		// signed: the account is whoever the credentials are
		account, err = callerAccount(cmd.Context(), c)
		if err != nil {
			return nil, nil, opts, err
		}
	}
	ropts := stack.Options{Stack: f.stackName, Region: f.region, Account: account, Parameters: params}
	doc, err := stack.Read(data, ropts)
	if err != nil && ropts.Stack == "" && strings.Contains(err.Error(), "needs a stack name") {
		ropts.Stack = strings.TrimSuffix(filepath.Base(f.file), filepath.Ext(f.file))
		doc, err = stack.Read(data, ropts)
	}
	if err != nil {
		return nil, nil, opts, fmt.Errorf("%s: %w", f.file, err)
	}
	if err := doc.Resolve(stack.OSEnvironment); err != nil {
		return nil, nil, opts, fmt.Errorf("%s: %w", f.file, err)
	}
	opts = stack.PlanOptions{Prune: prune, Region: f.region, Account: account}
	p, err := stack.MakePlan(cmd.Context(), doc, stack.APIState{Caller: c}, opts)
	return p, c, opts, err
}

// callerAccount is the account of signed requests: that of a bus's ARN.
func callerAccount(ctx context.Context, c stack.Caller) (string, error) {
	var out struct{ Arn string }
	if err := c.Call(ctx, "DescribeEventBus", map[string]any{}, &out); err != nil {
		return "", err
	}
	parts := strings.Split(out.Arn, ":")
	if len(parts) < 5 {
		return "", fmt.Errorf("DescribeEventBus: unexpected ARN %q", out.Arn)
	}
	return parts[4], nil
}

func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

func applyCmd() *cobra.Command {
	var f stackFlags
	var prune, dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--prune] [--dry-run]",
		Short: "Make a running switchyard match a declarative document or CloudFormation template",
		Long: `Reads a document listing event buses, rules and their targets, archives,
connections and API destinations — switchyard's own YAML/JSON form, or a
CloudFormation template of AWS::Events::* resources — and makes the running
switchyard match it through the EventBridge API: it creates what is missing
and updates what differs; with --prune it also deletes what the stack manages
(tag or description marker ` + stack.ManagedByTag + `=STACK) and the document no longer
lists. Applying the same document twice changes nothing. Each failure is
reported with the resource it concerns; the exit status is then 1.

  switchyard apply -f eventbridge.yaml
  switchyard apply -f template.yaml --stack-name orders --parameter QueueArn=arn:aws:sqs:...
  switchyard apply -f eventbridge.yaml --prune --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, c, opts, err := f.plan(cmd, prune)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := p.Write(out); err != nil {
				return err
			}
			if dryRun || p.Empty() {
				return nil
			}
			res, err := p.Apply(cmd.Context(), c, opts)
			for _, e := range res.Failed {
				fmt.Fprintln(cmd.ErrOrStderr(), "failed:", e)
			}
			fmt.Fprintf(out, "Applied %d of %d changes.\n", len(res.Done), len(p.Changes))
			if err != nil {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&prune, "prune", false, "also delete the resources the stack manages that the document no longer lists")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	return cmd
}

func diffCmd() *cobra.Command {
	var f stackFlags
	var prune bool
	cmd := &cobra.Command{
		Use:   "diff -f FILE [--prune]",
		Short: "Print what apply would change; exit 2 if anything, 0 if nothing",
		Long: `Plans a document as apply does and prints the changes, per resource with the
fields that differ, and changes nothing. The exit status is 0 when the running
switchyard matches the document, 2 when apply would change something, 1 on an
error (like terraform plan -detailed-exitcode).

  switchyard diff -f eventbridge.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, _, err := f.plan(cmd, prune)
			if err != nil {
				return err
			}
			if err := p.Write(cmd.OutOrStdout()); err != nil {
				return err
			}
			if !p.Empty() {
				return &exitError{code: 2}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&prune, "prune", false, "include the deletes of apply --prune")
	return cmd
}
