package deliver

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/tracing"
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

// Invoke sends the input, with the event's trace header if it has one,
// and the target's HttpParameters as for the other HTTP targets (API
// destinations, API Gateway): path parameter values fill the URL's "*"
// wildcards in order, query string parameters are added to the URL's and
// headers are set, except those of the transport and those Switchyard
// sets itself; values may be JSON paths into the event.
// 2xx is success; 401, 407, 409, 429 and 5xx are
// retried (honouring Retry-After); other answers, redirects included,
// cannot succeed on retry.
func (h *httpInvoker) Invoke(ctx context.Context, inv *Invocation) error {
	url := inv.Target.Arn
	header := jsonHeaders
	if hp := ResolveHttpParameters(inv.Target.HttpParameters, inv.Event); hp != nil {
		var err error
		if url, err = WithQuery(FillPath(url, hp.PathParameterValues), hp.QueryStringParameters); err != nil {
			return Permanent("InvalidEndpoint", fmt.Errorf("http target %s: %w", inv.Target.Arn, err))
		}
		header = slices.Clip(header)
		for _, k := range slices.Sorted(maps.Keys(hp.HeaderParameters)) {
			if ReservedHeader(k) || strings.EqualFold(k, "Content-Type") {
				continue
			}
			header = append(header, Header{k, hp.HeaderParameters[k]})
		}
	}
	if inv.Trace != "" {
		header = append(slices.Clip(header), Header{TraceHeader, inv.Trace}, Header{TraceparentHeader, traceparent(inv.Trace)})
	}
	a, err := h.client.Do(ctx, &Call{Method: http.MethodPost, URL: url, Header: header, Body: inv.Input})
	if err != nil {
		return CallFailed("http target "+url, err)
	}
	c := a.Status
	tracing.SetHTTPStatus(ctx, c)
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
