package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/api"
	"github.com/switchyard/switchyard/internal/scheduler"
)

// rulesCmd groups Switchyard's own rule commands; the AWS CLI covers the
// EventBridge API itself.
func rulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Switchyard's own rule operations (beyond the EventBridge API)"}
	cmd.AddCommand(rulesFireCmd())
	return cmd
}

func rulesFireCmd() *cobra.Command {
	var name, bus, endpoint, region, account string
	cmd := &cobra.Command{
		Use:   "fire --name RULE",
		Short: "Emit a scheduled rule's event now, to its targets",
		Long: `Emits the event a scheduled rule sends at its ticks ("detail-type": "Scheduled
Event", "source": "aws.events") now, to the rule's targets, through
POST ` + scheduler.FirePath + ` on a running switchyard. Disabled rules can be
fired too; the rule's own ticks are not affected. Account and region select
the rule as the AWS credentials of the API do: the request is signed with the
AWS credentials configured as for the AWS CLI (needed with --auth sigv4), or,
with --account, names that account unsigned (--auth none).

  switchyard rules fire --name nightly-report
  switchyard rules fire --name nightly-report --region eu-west-1 --account 111122223333`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envFlags(cmd.Flags()); err != nil {
				return err
			}
			who, err := callerFor(cmd, region, account)
			if err != nil {
				return err
			}
			body, _ := json.Marshal(scheduler.FireRequest{Name: name, EventBusName: bus})
			data, err := postScoped(cmd.Context(), strings.TrimRight(endpoint, "/")+scheduler.FirePath,
				http.Header{"Content-Type": {"application/json"}}, body, who, 1<<20, "")
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the rule's name (required)")
	f.StringVar(&bus, "event-bus-name", "", "its event bus, name or ARN (default: default)")
	f.StringVar(&endpoint, "endpoint", "http://127.0.0.1:4010", "the switchyard API endpoint")
	f.StringVar(&region, "region", envOr("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION"), "the rule's region (default from AWS_REGION or AWS_DEFAULT_REGION)")
	f.StringVar(&account, "account", api.DefaultAccount, "the rule's account, under --auth none; without it, the AWS credentials configured (AWS_ACCESS_KEY_ID, a profile, ...) sign the request")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

// envOr returns the first of the environment variables that is set, or def.
func envOr(def string, names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return def
}
