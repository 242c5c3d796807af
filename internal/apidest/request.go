// Package apidest delivers events to API destinations: it resolves the
// destination and its connection from the control-plane view, authorizes
// the request as the connection says (Basic, API key, or an OAuth
// client-credentials token it obtains, caches and refreshes), applies the
// target's HttpParameters, sends the event's X-Ray trace header as
// X-Amzn-Trace-Id, and enforces the destination's invocation rate.
package apidest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/tracing"
)

// userAgent is what AWS sends to API destinations, and what receivers that
// recognise EventBridge look for.
const userAgent = "Amazon/EventBridge/ApiDestinations"

// removedHeaders are those EventBridge will not let a connection or target
// set: the transport's own and those it sets itself.
var removedHeaders = map[string]bool{}

func init() {
	for _, h := range []string{"A-IM", "Accept-Charset", "Accept-Datetime", "Accept-Encoding", "Cache-Control",
		"Connection", "Content-Encoding", "Content-Length", "Content-MD5", "Date", "Expect", "Forwarded", "From",
		"Host", "HTTP2-Settings", "If-Match", "If-Modified-Since", "If-None-Match", "If-Range",
		"If-Unmodified-Since", "Max-Forwards", "Origin", "Pragma", "Proxy-Authorization", "Range", "Referer",
		"TE", "Trailer", "Transfer-Encoding", "User-Agent", "Upgrade", "Via", "Warning"} {
		removedHeaders[http.CanonicalHeaderKey(h)] = true
	}
}

// request is an invocation before authorization: what the destination, the
// connection's invocation parameters and the target's HttpParameters make.
type request struct {
	method string
	url    string
	header http.Header
	body   []byte
	// trace is the event's X-Ray trace header, "" for none.
	trace string
	// keepBody keeps the answer (an enrichment's).
	keepBody bool
}

// build assembles the request for input. Path parameters fill the
// endpoint's "*" wildcards in order; headers and query-string parameters of
// the target and of the connection are merged with the connection's values
// winning on conflict, as AWS documents; the connection's body parameters
// are added to a JSON-object body.
func build(d *control.ApiDestination, auth *control.ConnectionAuth, hp *control.HttpParameters, input []byte) (*request, error) {
	var conn control.ConnectionHttpParameters
	if auth != nil && auth.InvocationHttpParameters != nil {
		conn = *auth.InvocationHttpParameters
	}
	var target control.HttpParameters
	if hp != nil {
		target = *hp
	}
	endpoint := deliver.FillPath(d.InvocationEndpoint, target.PathParameterValues)
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("invocation endpoint %q: %w", endpoint, err)
	}
	q := u.Query()
	for k, v := range target.QueryStringParameters {
		q.Set(k, v)
	}
	for _, p := range conn.QueryStringParameters {
		if p.Key != "" {
			q.Set(p.Key, p.Value)
		}
	}
	u.RawQuery = q.Encode()

	h := http.Header{}
	for k, v := range target.HeaderParameters {
		setHeader(h, k, v)
	}
	for _, p := range conn.HeaderParameters {
		setHeader(h, p.Key, p.Value)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}

	r := &request{method: d.HttpMethod, url: u.String(), header: h}
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		// No body: GET, HEAD and OPTIONS requests carry none that servers
		// are bound to read.
	default:
		r.body = addBodyParameters(input, conn.BodyParameters)
	}
	return r, nil
}

func setHeader(h http.Header, k, v string) {
	k = strings.TrimSpace(k)
	if k == "" || removedHeaders[http.CanonicalHeaderKey(k)] {
		return
	}
	h.Set(k, v)
}

// addBodyParameters adds the connection's body parameters to a JSON-object
// input, the parameters winning; other inputs (a string, an array, a
// transformer's plain text) are sent as they are.
func addBodyParameters(input []byte, params []control.ConnectionParameter) []byte {
	if len(params) == 0 {
		return input
	}
	trimmed := bytes.TrimSpace(input)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return input
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return input
	}
	for _, p := range params {
		if p.Key == "" {
			continue
		}
		v, _ := json.Marshal(p.Value)
		obj[p.Key] = v
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return input
	}
	return out
}

// call makes the HTTP call, with the headers AWS always sends, the
// connection's authorization header, and the event's trace header as
// X-Amzn-Trace-Id if it has one: EventBridge passes it to every target
// ("Amazon EventBridge integration with AWS X-Ray", EventBridge User
// Guide). It replaces one the connection or target set: the event's trace
// is what the call belongs to. Without one, theirs is sent as it is.
func (r *request) call(authHeader, authValue string) *deliver.Call {
	h := r.header.Clone()
	if authHeader != "" {
		h.Set(authHeader, authValue)
	}
	if r.trace != "" {
		h.Set(deliver.TraceHeader, r.trace)
		h.Set(deliver.TraceparentHeader, tracing.Traceparent(r.trace))
	}
	h.Set("User-Agent", userAgent)
	// AWS reads at most the first MiB of the answer, and ignores it.
	h.Set("Range", "bytes=0-1048575")
	h.Set("Accept-Encoding", "gzip,deflate")
	c := &deliver.Call{Method: r.method, URL: r.url, Body: r.body, KeepBody: r.keepBody,
		Close:  true, // "Connection: close", as AWS sends
		Header: make([]deliver.Header, 0, len(h))}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			c.Header = append(c.Header, deliver.Header{Name: k, Value: v})
		}
	}
	return c
}
