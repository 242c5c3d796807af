package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/api"
)

func replayCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "replay", Short: "Follow archive replays"}
	cmd.AddCommand(replayWatchCmd())
	return cmd
}

// replayState is the part of DescribeReplay the watcher shows.
type replayState struct {
	ReplayName            string
	State                 string
	StateReason           string
	EventStartTime        float64
	EventEndTime          float64
	EventLastReplayedTime float64
	ReplayStartTime       float64
	ReplayEndTime         float64
}

// progress is how far through its window the replay is. AWS replays a
// window in time order and reports the time of the last event replayed, so
// the share of the window before it is the share done.
func (r *replayState) progress() float64 {
	switch {
	case r.State == "COMPLETED":
		return 1
	case r.EventLastReplayedTime == 0 || r.EventEndTime <= r.EventStartTime:
		return 0
	}
	return math.Min(1, math.Max(0, (r.EventLastReplayedTime+1-r.EventStartTime)/(r.EventEndTime-r.EventStartTime)))
}

func replayWatchCmd() *cobra.Command {
	var name, endpoint, region, account string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "watch --name REPLAY",
		Short: "Show a replay's progress as a bar until it ends",
		Long: `Polls DescribeReplay on a running switchyard and draws the replay's progress
through its time window (EventLastReplayedTime between EventStartTime and
EventEndTime) until it is COMPLETED, CANCELLED or FAILED. It exits non-zero
when the replay failed.

  switchyard replay watch --name orders-2026-01-02
  switchyard replay watch --name orders-2026-01-02 --region eu-west-1 --account 111122223333`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envFlags(cmd.Flags()); err != nil {
				return err
			}
			who, err := callerFor(cmd, region, account)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			tty := isTerminal(out)
			last := ""
			for {
				st, err := describeReplay(cmd.Context(), endpoint, who, name)
				if err != nil {
					return err
				}
				line := renderReplay(st)
				switch {
				case tty:
					fmt.Fprintf(out, "\r\033[K%s", line)
				case line != last:
					fmt.Fprintln(out, line)
				}
				last = line
				switch st.State {
				case "COMPLETED", "CANCELLED", "FAILED":
					if tty {
						fmt.Fprintln(out)
					}
					if st.State == "FAILED" {
						return fmt.Errorf("replay %s failed: %s", name, st.StateReason)
					}
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(interval):
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the replay's name (required)")
	f.StringVar(&endpoint, "endpoint", "http://127.0.0.1:4010", "the switchyard API endpoint")
	f.StringVar(&region, "region", envOr("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION"), "the replay's region (default from AWS_REGION or AWS_DEFAULT_REGION)")
	f.StringVar(&account, "account", api.DefaultAccount, "the replay's account, under --auth none; without it, the AWS credentials configured (AWS_ACCESS_KEY_ID, a profile, ...) sign the requests")
	f.DurationVar(&interval, "interval", 500*time.Millisecond, "polling interval")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func renderReplay(st *replayState) string {
	const width = 30
	p := st.progress()
	done := int(p * width)
	bar := strings.Repeat("#", done) + strings.Repeat(".", width-done)
	line := fmt.Sprintf("%s [%s] %5.1f%% %s", st.ReplayName, bar, 100*p, st.State)
	if st.EventLastReplayedTime > 0 {
		line += "  last event " + epochTime(st.EventLastReplayedTime).Format(time.RFC3339)
	}
	if st.ReplayEndTime > 0 && st.ReplayStartTime > 0 {
		line += fmt.Sprintf("  took %.1fs", st.ReplayEndTime-st.ReplayStartTime)
	}
	if st.StateReason != "" {
		line += "  (" + st.StateReason + ")"
	}
	return line
}

func epochTime(s float64) time.Time {
	return time.UnixMilli(int64(math.Round(s * 1000))).UTC()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// describeReplay calls DescribeReplay.
func describeReplay(ctx context.Context, endpoint string, who caller, name string) (*replayState, error) {
	var st replayState
	if err := callAPI(ctx, endpoint, who, "DescribeReplay", map[string]string{"ReplayName": name}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// callAPI calls an EventBridge operation over the AWS JSON protocol as who.
func callAPI(ctx context.Context, endpoint string, who caller, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	data, err := postScoped(ctx, strings.TrimRight(endpoint, "/")+"/",
		http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"AWSEvents." + op}},
		body, who, 4<<20, op+": ")
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// caller is who the commands that call a running switchyard call as.
type caller struct {
	region, account string
	// creds, if set, sign requests with SigV4 (--auth sigv4); else the
	// account goes unsigned as the access key, which --auth none reads.
	creds *aws.Credentials
}

// callerFor resolves the credentials of a command: --account names the
// account to act in under --auth none; without it, the AWS credentials
// configured as for the AWS CLI (environment, shared files, profile)
// sign the requests, if there are any.
func callerFor(cmd *cobra.Command, region, account string) (caller, error) {
	who := caller{region: region, account: account}
	if cmd.Flags().Changed("account") {
		return who, nil
	}
	cfg, err := config.LoadDefaultConfig(cmd.Context(), config.WithRegion(region),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	if err != nil {
		return who, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Credentials == nil {
		return who, nil
	}
	c, err := cfg.Credentials.Retrieve(cmd.Context())
	if err != nil {
		return who, nil // none configured: unsigned, for --auth none
	}
	who.creds = &c
	return who, nil
}

// postScoped POSTs body to url as who: signed with SigV4 if who has
// credentials, else with the scope in an unsigned credential as --auth
// none reads it (the region of the credential scope, the account as the
// access key). It returns the answer's body, read up to limit bytes. An
// answer other than 200 OK is an error, AWS's error type and message or
// else the status and body, after prefix.
func postScoped(ctx context.Context, url string, header http.Header, body []byte, who caller, limit int64, prefix string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	if err := signRequest(ctx, req, body, who); err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Type != "" {
			return nil, fmt.Errorf("%s%s: %s", prefix, e.Type, e.Message)
		}
		return nil, fmt.Errorf("%s%s: %s", prefix, resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}

// signRequest signs req, whose body is body, as who: with SigV4 for
// EventBridge if who has credentials, else with the scope in an unsigned
// credential as --auth none reads it (the region of the credential scope,
// the account as the access key).
func signRequest(ctx context.Context, req *http.Request, body []byte, who caller) error {
	if who.creds != nil {
		sum := sha256.Sum256(body)
		return v4.NewSigner().SignHTTP(ctx, *who.creds, req, hex.EncodeToString(sum[:]), "events", who.region, time.Now())
	}
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/events/aws4_request, SignedHeaders=host, Signature=none",
		who.account, time.Now().UTC().Format("20060102"), who.region))
	return nil
}
