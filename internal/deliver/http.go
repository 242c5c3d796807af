package deliver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/netguard"
)

// httpInvoker POSTs the input to a plain URL target.
type httpInvoker struct{ client *HTTPClient }

// newHTTPInvoker returns an invoker with AWS's five-second timeout,
// guarded by netguard.Default.
func newHTTPInvoker() *httpInvoker { return newGuardedHTTPInvoker(netguard.Default()) }

func newGuardedHTTPInvoker(guard *netguard.Guard) *httpInvoker {
	return &httpInvoker{client: NewGuardedHTTPClient(5*time.Second, guard)}
}

// SetTargetGuard makes URL targets connect to no address guard denies
// (netguard.Default until set). Call it before Run.
func (d *Deliverer) SetTargetGuard(guard *netguard.Guard) {
	d.Register("http", newGuardedHTTPInvoker(guard))
}

// jsonHeaders are the headers of every call to a URL target.
var jsonHeaders = []Header{{"Content-Type", "application/json; charset=utf-8"}, {"User-Agent", "Switchyard"}}

// Invoke sends the input, with the event's trace header if it has one.
// 2xx is success; 401, 407, 409, 429 and 5xx are
// retried (honouring Retry-After); other answers, redirects included,
// cannot succeed on retry.
func (h *httpInvoker) Invoke(ctx context.Context, inv *Invocation) error {
	url := inv.Target.Arn
	header := jsonHeaders
	if inv.Trace != "" {
		header = append(slices.Clip(jsonHeaders), Header{TraceHeader, inv.Trace})
	}
	a, err := h.client.Do(ctx, &Call{Method: http.MethodPost, URL: url, Header: header, Body: inv.Input})
	if err != nil {
		return CallFailed("http target "+url, err)
	}
	c := a.Status
	if c >= 200 && c < 300 {
		return nil
	}
	// The codes are those AWS reports in dead letters for HTTP targets.
	e := &Error{Code: "SDK_CLIENT_ERROR", Err: fmt.Errorf("http target %s: status %d", url, c)}
	switch {
	case c == 429:
		e.Code = "THROTTLING"
	case c == 401 || c == 407 || c == 409 || c >= 500:
	default:
		e.Permanent = true
	}
	if !e.Permanent {
		e.RetryAfter = retryAfter(a.RetryAfter)
	}
	return e
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
