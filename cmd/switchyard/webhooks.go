package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/api"
	"github.com/switchyard/switchyard/internal/webhooks"
)

// webhooksCmd manages inbound webhooks through the admin API of a running
// switchyard (package webhooks, admin.go).
func webhooksCmd() *cobra.Command {
	var endpoint, region, account string
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Manage inbound SaaS webhooks (POST /webhooks/<name>) on a running switchyard",
		Long: `Inbound webhooks turn deliveries from GitHub, Stripe, Slack, Shopify, Twilio,
GitLab or any HMAC-signing sender into events on an event bus of the calling
account and region. These commands call the admin API of a running switchyard
(signing name "switchyard"), signed with the AWS credentials configured as for
the AWS CLI (needed with --auth sigv4) or, with --account, unsigned for that
account (--auth none). Webhooks can also be defined in --webhooks-file.

  switchyard webhooks put --name gh --provider github --secret "$GITHUB_SECRET" --event-bus-name default
  switchyard webhooks get --name gh
  switchyard webhooks list
  switchyard webhooks delete --name gh`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&endpoint, "endpoint", "http://127.0.0.1:4010", "the switchyard API endpoint")
	pf.StringVar(&region, "region", envOr("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION"), "the region of the webhook's bus (default from AWS_REGION or AWS_DEFAULT_REGION)")
	pf.StringVar(&account, "account", api.DefaultAccount, "the account, under --auth none; without it, the AWS credentials configured sign the request")
	call := func(cmd *cobra.Command, method, path string, body []byte) error {
		if err := envFlags(cmd.Flags()); err != nil {
			return err
		}
		who, err := callerFor(cmd, region, account)
		if err != nil {
			return err
		}
		data, err := callAdmin(cmd.Context(), method, strings.TrimRight(endpoint, "/")+path, body, who)
		if err != nil {
			return err
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, data, "", "  ") == nil {
			data = append(pretty.Bytes(), '\n')
		}
		_, err = cmd.OutOrStdout().Write(data)
		return err
	}

	var name string
	var in struct {
		Provider, EventBusName, Secret, Source, DetailType, Url, Header, Algorithm, Encoding, Prefix string
		EventTypeHeader, DeliveryIdHeader                                                            string
		ToleranceSeconds                                                                             int
	}
	var secretFile string
	put := &cobra.Command{
		Use:   "put --name NAME --provider PROVIDER (--secret S | --secret-file F)",
		Short: "Create or replace a webhook",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if secretFile != "" {
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return err
				}
				in.Secret = strings.TrimSpace(string(b))
			}
			body, _ := json.Marshal(in)
			return call(cmd, http.MethodPut, "/webhooks/"+url.PathEscape(name), body)
		},
	}
	f := put.Flags()
	f.StringVar(&name, "name", "", "the webhook's name, its URL /webhooks/<name> (required)")
	f.StringVar(&in.Provider, "provider", "", "github, stripe, slack, shopify, twilio, gitlab or hmac (required)")
	f.StringVar(&in.EventBusName, "event-bus-name", "default", "the bus the events go to")
	f.StringVar(&in.Secret, "secret", "", "the provider's secret (webhook secret, signing secret, client secret, auth token, secret token)")
	f.StringVar(&secretFile, "secret-file", "", "read the secret from this file instead")
	f.StringVar(&in.Source, "source", "", "the events' source (default webhook.<provider>)")
	f.StringVar(&in.DetailType, "detail-type", "", "the events' detail-type (default the provider's event type)")
	f.StringVar(&in.Url, "url", "", "twilio: the public URL Twilio calls, which it signs")
	f.StringVar(&in.Header, "header", "", "hmac: the header holding the signature")
	f.StringVar(&in.Algorithm, "algorithm", "", "hmac: sha1, sha256 (default) or sha512")
	f.StringVar(&in.Encoding, "encoding", "", "hmac: hex (default) or base64")
	f.StringVar(&in.Prefix, "prefix", "", `hmac: text before the signature in the header, such as "sha256="`)
	f.StringVar(&in.EventTypeHeader, "event-type-header", "", "hmac: the header naming the event type")
	f.StringVar(&in.DeliveryIdHeader, "delivery-id-header", "", "hmac: the header naming the delivery id, for idempotency")
	f.IntVar(&in.ToleranceSeconds, "tolerance-seconds", 0, "stripe, slack: the age a signed timestamp may have (default 300)")
	_ = put.MarkFlagRequired("name")
	_ = put.MarkFlagRequired("provider")

	named := func(use, short, method string) *cobra.Command {
		var n string
		c := &cobra.Command{Use: use + " --name NAME", Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return call(cmd, method, "/webhooks/"+url.PathEscape(n), nil)
			}}
		c.Flags().StringVar(&n, "name", "", "the webhook's name (required)")
		_ = c.MarkFlagRequired("name")
		return c
	}
	list := &cobra.Command{Use: "list", Short: "List the webhooks of the account and region", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return call(cmd, http.MethodGet, "/webhooks", nil) }}
	cmd.AddCommand(put, named("get", "Describe a webhook (never its secret)", http.MethodGet),
		named("delete", "Delete a webhook", http.MethodDelete), list)
	return cmd
}

// callAdmin calls the admin API as who, signed for the service
// "switchyard", and returns the answer's body; an answer other than 200
// is an error with the API's message.
func callAdmin(ctx context.Context, method, u string, body []byte, who caller) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if who.creds != nil {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, *who.creds, req, hex.EncodeToString(sum[:]), webhooks.SigningName, who.region, time.Now()); err != nil {
			return nil, err
		}
	} else {
		req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=host, Signature=none",
			who.account, time.Now().UTC().Format("20060102"), who.region, webhooks.SigningName))
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s: %s", resp.Header.Get("X-Amzn-Errortype"), e.Message)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}
