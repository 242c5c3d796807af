package peer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// Paths of the peer calls on a deployment's API listener; requests reach
// them by their credential scope's service, auth.PeerService.
const (
	pathInfo      = "/peer/v1/info"
	pathEvents    = "/peer/v1/events"
	pathEndpoints = "/peer/v1/endpoints"
)

// MaxEvents is the most events one StoreEvents call carries.
const MaxEvents = 100

// Client calls the deployment serving one region.
type Client struct {
	region string
	base   string
	key    Key
	http   *http.Client
	signer *v4.Signer
}

// NewClient returns a client of the deployment at base serving region,
// signing with key.
func NewClient(region, base string, key Key) *Client {
	return &Client{region: region, base: base, key: key, signer: v4.NewSigner(),
		// The callers bound each call with their context; this bounds a
		// peer that accepts the connection and never answers.
		http: &http.Client{Timeout: 30 * time.Second}}
}

// APIError is a peer's error answer.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("peer answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Retryable reports whether the call may succeed as it is later: the peer
// is overloaded, failing or unavailable (5xx, throttling), rather than
// refusing it.
func (e *APIError) Retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Code == "ThrottlingException"
}

// call sends in as JSON with method to path, SigV4-signed for the peer's
// region, and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("peer %s: %w", c.region, err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: c.key.AccessKeyID, SecretAccessKey: c.key.SecretAccessKey}
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), auth.PeerService, c.region, time.Now()); err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("peer %s: %w", c.region, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("peer %s: read answer: %w", c.region, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode, Code: resp.Header.Get("x-amzn-ErrorType")}
		var msg struct{ Message string }
		if json.Unmarshal(data, &msg) == nil {
			e.Message = msg.Message
		}
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("peer %s: answer of %s: %w", c.region, path, err)
		}
	}
	return nil
}

// Info asks the peer what it serves.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	var out Info
	if err := c.call(ctx, http.MethodGet, pathInfo, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

type storeEventsIn struct{ Events []ingest.PeerEvent }
type storeEventsOut struct{ Results []ingest.PeerResult }

// StoreEvents has the peer store events, at most MaxEvents, and returns
// its result for each.
func (c *Client) StoreEvents(ctx context.Context, events []ingest.PeerEvent) ([]ingest.PeerResult, error) {
	var out storeEventsOut
	if err := c.call(ctx, http.MethodPost, pathEvents, &storeEventsIn{events}, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(events) {
		return nil, fmt.Errorf("peer %s: %d results for %d events", c.region, len(out.Results), len(events))
	}
	return out.Results, nil
}

type syncEndpointsIn struct{ Endpoints []*control.Endpoint }

// SyncEndpoints tells the peer the endpoints of this deployment's regions
// whose secondary region it serves, all of them.
func (c *Client) SyncEndpoints(ctx context.Context, eps []*control.Endpoint) error {
	return c.call(ctx, http.MethodPut, pathEndpoints, &syncEndpointsIn{eps}, nil)
}
