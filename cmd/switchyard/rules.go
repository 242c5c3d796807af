package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

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
the rule as the AWS credentials of the API do.

  switchyard rules fire --name nightly-report
  switchyard rules fire --name nightly-report --region eu-west-1 --account 111122223333`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envFlags(cmd.Flags()); err != nil {
				return err
			}
			body, _ := json.Marshal(scheduler.FireRequest{Name: name, EventBusName: bus})
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, strings.TrimRight(endpoint, "/")+scheduler.FirePath, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			// The scope travels as the API reads it (api.Caller): the region
			// of the SigV4 credential scope, the account as the access key.
			req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/events/aws4_request, SignedHeaders=host, Signature=none",
				account, time.Now().UTC().Format("20060102"), region))
			client := &http.Client{Timeout: 30 * time.Second}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				var e struct {
					Type    string `json:"__type"`
					Message string `json:"message"`
				}
				if json.Unmarshal(data, &e) == nil && e.Type != "" {
					return fmt.Errorf("%s: %s", e.Type, e.Message)
				}
				return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data))
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
	f.StringVar(&account, "account", api.DefaultAccount, "the rule's account")
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
