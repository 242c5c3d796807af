package deliver

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/control"
)

// The helpers of this file serve every target that takes HttpParameters:
// API destinations (package apidest), API Gateway (package awstarget) and
// URL targets.

// Lookup evaluates a JSONPath of the form EventBridge accepts in
// parameters ($, .member, [index]) against doc: a string value is returned
// as is, any other value as its JSON text.
func Lookup(doc []byte, path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "$")
	if !ok {
		return "", false
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return "", false
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			key := rest[1 : 1+end]
			rest = rest[1+end:]
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			if v, ok = m[key]; !ok {
				return "", false
			}
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return "", false
			}
			n, err := strconv.Atoi(rest[1:end])
			rest = rest[end+1:]
			arr, ok := v.([]any)
			if err != nil || !ok || n < 0 || n >= len(arr) {
				return "", false
			}
			v = arr[n]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case nil:
		return "", false
	default:
		b, err := json.Marshal(x)
		return string(b), err == nil
	}
}

// FillPath replaces the "*" wildcards of the endpoint's path, in order, with
// the path parameter values (escaped as path segments).
func FillPath(endpoint string, values []string) string {
	if len(values) == 0 {
		return endpoint
	}
	// Only the path: a "*" in the host or query is not a wildcard.
	start := 0
	if i := strings.Index(endpoint, "://"); i >= 0 {
		start = i + 3
		if j := strings.IndexByte(endpoint[start:], '/'); j >= 0 {
			start += j
		} else {
			return endpoint
		}
	}
	end := len(endpoint)
	if i := strings.IndexAny(endpoint[start:], "?#"); i >= 0 {
		end = start + i
	}
	var b strings.Builder
	b.WriteString(endpoint[:start])
	path := endpoint[start:end]
	for _, v := range values {
		i := strings.IndexByte(path, '*')
		if i < 0 {
			break
		}
		b.WriteString(path[:i])
		b.WriteString(url.PathEscape(v))
		path = path[i+1:]
	}
	b.WriteString(path)
	b.WriteString(endpoint[end:])
	return b.String()
}

// ResolveHttpParameters returns hp with each value that is a JSON path
// ("$.detail.state") replaced by the event's value there: "Any
// HttpParameters field value (except HeaderParameters map keys) can
// contain JSON paths instead of static values (for example
// $.detail.state). Such paths are replaced dynamically at runtime with
// data from the event payload itself at the specified path" ("Target
// parameters", Event bus targets, EventBridge User Guide). A path the
// event does not have gives "". hp itself is not changed; nil stays nil.
func ResolveHttpParameters(hp *control.HttpParameters, event []byte) *control.HttpParameters {
	if hp == nil {
		return nil
	}
	out := &control.HttpParameters{}
	resolve := func(v string) string {
		if v != "$" && !strings.HasPrefix(v, "$.") {
			return v
		}
		s, _ := Lookup(event, v)
		return s
	}
	for _, v := range hp.PathParameterValues {
		out.PathParameterValues = append(out.PathParameterValues, resolve(v))
	}
	if hp.HeaderParameters != nil {
		out.HeaderParameters = make(map[string]string, len(hp.HeaderParameters))
		for k, v := range hp.HeaderParameters {
			out.HeaderParameters[k] = resolve(v)
		}
	}
	if hp.QueryStringParameters != nil {
		out.QueryStringParameters = make(map[string]string, len(hp.QueryStringParameters))
		for k, v := range hp.QueryStringParameters {
			out.QueryStringParameters[resolve(k)] = resolve(v)
		}
	}
	return out
}

// WithQuery adds query string parameters to rawURL, replacing those of
// the same name.
func WithQuery(rawURL string, params map[string]string) (string, error) {
	if len(params) == 0 {
		return rawURL, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ReservedHeader reports a header that a target's HttpParameters may not
// set: the transport's own, and those an AWS-signed or traced request
// carries ("For security considerations, the following HTTP header keys
// aren't permitted: Anything prefixed with X-Amz or X-Amzn, Authorization,
// Connection, Content-Encoding, Content-Length, Host, Max-Forwards, TE,
// Transfer-Encoding, Trailer, Upgrade, Via, WWW-Authenticate,
// X-Forwarded-For": "Amazon EventBridge targets for Amazon API Gateway",
// EventBridge User Guide), and User-Agent, which Switchyard sets.
func ReservedHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || strings.HasPrefix(n, "x-amz") {
		return true
	}
	switch n {
	case "authorization", "connection", "content-encoding", "content-length", "host", "max-forwards", "te",
		"transfer-encoding", "trailer", "upgrade", "via", "www-authenticate", "x-forwarded-for", "user-agent":
		return true
	}
	return false
}
