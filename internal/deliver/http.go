package deliver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// httpInvoker POSTs the input to a plain URL target.
type httpInvoker struct{ client *http.Client }

// newHTTPInvoker returns an invoker with AWS's five-second timeout.
func newHTTPInvoker() *httpInvoker {
	return &httpInvoker{client: &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}}
}

// Invoke sends the input. 2xx is success; 401, 407, 409, 429 and 5xx are
// retried (honouring Retry-After); other answers cannot succeed on retry.
func (h *httpInvoker) Invoke(ctx context.Context, inv *Invocation) error {
	url := inv.Target.Arn
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(inv.Input))
	if err != nil {
		return Permanent("InvalidTarget", fmt.Errorf("http target %s: %w", url, err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Switchyard")
	resp, err := h.client.Do(req)
	if err != nil {
		return Retryable("HttpConnectionError", fmt.Errorf("http target %s: %w", url, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	c := resp.StatusCode
	if c >= 200 && c < 300 {
		return nil
	}
	e := &Error{Code: "SDK_CLIENT_ERROR", Err: fmt.Errorf("http target %s: status %d", url, c)}
	switch {
	case c == 401 || c == 407 || c == 409 || c == 429 || c >= 500:
		e.Code = fmt.Sprintf("%d", c)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	default:
		e.Code, e.Permanent = fmt.Sprintf("%d", c), true
	}
	return e
}
