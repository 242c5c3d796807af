package apidest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

// TestBuildPrecedence: target HttpParameters and the connection's
// invocation parameters are merged, the connection winning on conflict
// (headers case-insensitively); headers EventBridge owns cannot be set.
func TestBuildPrecedence(t *testing.T) {
	d := &control.ApiDestination{InvocationEndpoint: "https://h/orders/*?fixed=1&both=endpoint", HttpMethod: "PUT"}
	auth := &control.ConnectionAuth{InvocationHttpParameters: &control.ConnectionHttpParameters{
		HeaderParameters: []control.ConnectionParameter{{Key: "x-tenant", Value: "conn"}, {Key: "X-Conn-Only", Value: "c", IsValueSecret: true},
			{Key: "User-Agent", Value: "evil"}, {Key: "Host", Value: "other"}},
		QueryStringParameters: []control.ConnectionParameter{{Key: "both", Value: "conn"}, {Key: "key", Value: "s3cret", IsValueSecret: true}},
		BodyParameters:        []control.ConnectionParameter{{Key: "team", Value: "blue"}},
	}}
	hp := &control.HttpParameters{PathParameterValues: []string{"o-7"},
		HeaderParameters:      map[string]string{"X-Tenant": "target", "X-Target-Only": "t", "Content-Type": "application/vnd.x+json"},
		QueryStringParameters: map[string]string{"both": "target", "t": "1"}}
	r, err := build(d, auth, hp, []byte(`{"id":1,"team":"red"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://h/orders/o-7?both=conn&fixed=1&key=s3cret&t=1"; r.url != want {
		t.Errorf("url = %s, want %s", r.url, want)
	}
	c := r.call("Authorization", "Basic x")
	got := http.Header{}
	for _, h := range c.Header {
		got.Add(h.Name, h.Value)
	}
	want := map[string]string{"X-Tenant": "conn", "X-Conn-Only": "c", "X-Target-Only": "t", "Content-Type": "application/vnd.x+json",
		"User-Agent": userAgent, "Range": "bytes=0-1048575", "Accept-Encoding": "gzip,deflate", "Authorization": "Basic x"}
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if len(got.Values("X-Tenant")) != 1 || got.Get("Host") != "" || !c.Close {
		t.Errorf("headers %v close %v", got, c.Close)
	}
	if c.Method != "PUT" || c.URL != r.url {
		t.Errorf("method %s url %s", c.Method, c.URL)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil || body["team"] != "blue" || body["id"] != float64(1) {
		t.Errorf("body %s (%v)", r.body, err)
	}

	// Defaults, and no body for GET.
	r, _ = build(&control.ApiDestination{InvocationEndpoint: "http://h/x", HttpMethod: "GET"}, nil, nil, []byte(`{}`))
	if r.body != nil || r.header.Get("Content-Type") != "application/json; charset=utf-8" || r.url != "http://h/x" {
		t.Errorf("GET request %+v", r)
	}
	// A body that is not an object is sent as it is.
	if got := addBodyParameters([]byte(`"text"`), auth.InvocationHttpParameters.BodyParameters); string(got) != `"text"` {
		t.Errorf("string body became %s", got)
	}
}

// TestTraceHeader: the event's X-Ray trace header goes as X-Amzn-Trace-Id
// (EventBridge passes it to every target: "Amazon EventBridge integration
// with AWS X-Ray", EventBridge User Guide), over one the target's
// HttpParameters set; without one, theirs is sent, and none is made up.
func TestTraceHeader(t *testing.T) {
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	d := &control.ApiDestination{InvocationEndpoint: "https://h/x", HttpMethod: "POST"}
	values := func(c *deliver.Call) []string {
		var out []string
		for _, h := range c.Header {
			if http.CanonicalHeaderKey(h.Name) == deliver.TraceHeader {
				out = append(out, h.Value)
			}
		}
		return out
	}
	own := &control.HttpParameters{HeaderParameters: map[string]string{"x-amzn-trace-id": "Root=1-00000001-000000000000000000000001"}}
	for _, tt := range []struct {
		hp    *control.HttpParameters
		trace string
		want  []string
	}{
		{nil, trace, []string{trace}},
		{own, trace, []string{trace}},
		{own, "", []string{"Root=1-00000001-000000000000000000000001"}},
		{nil, "", nil},
	} {
		r, err := build(d, nil, tt.hp, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		r.trace = tt.trace
		if got := values(r.call("", "")); len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
			t.Errorf("trace %q, HttpParameters %v: X-Amzn-Trace-Id %q, want %q", tt.trace, tt.hp, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		status     int
		retryAfter string
		ok, perm   bool
		after      time.Duration
	}{
		{200, "", true, false, 0}, {204, "", true, false, 0},
		{301, "", false, true, 0}, {400, "", false, true, 0}, {403, "", false, true, 0}, {404, "", false, true, 0},
		{401, "", false, false, 0}, {407, "", false, false, 0}, {409, "", false, false, 0},
		{429, "7", false, false, 7 * time.Second}, {503, "2", false, false, 2 * time.Second}, {500, "", false, false, 0},
		{429, "-1", false, true, 0},
	} {
		err := classify("arn", tt.status, tt.retryAfter)
		if tt.ok {
			if err != nil {
				t.Errorf("%d: %v", tt.status, err)
			}
			continue
		}
		e, ok := err.(interface{ Error() string })
		if !ok || err == nil {
			t.Fatalf("%d: no error", tt.status)
		}
		de := asDeliverError(err)
		if de.Permanent != tt.perm || de.RetryAfter != tt.after {
			t.Errorf("%d %q: %v permanent=%v after=%v", tt.status, tt.retryAfter, e, de.Permanent, de.RetryAfter)
		}
	}
}

type deliverError = deliver.Error

func asDeliverError(err error) *deliverError { return err.(*deliverError) }
