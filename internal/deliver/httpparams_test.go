package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/internal/control"
)

func TestFillPath(t *testing.T) {
	tests := []struct {
		endpoint string
		values   []string
		want     string
	}{
		{"https://h/orders/*/items/*", []string{"o-1", "i 2"}, "https://h/orders/o-1/items/i%202"},
		{"https://h/a/*", nil, "https://h/a/*"},
		{"https://h/a/*/b/*", []string{"x"}, "https://h/a/x/b/*"},
		{"https://h/a/*?q=*", []string{"x", "y"}, "https://h/a/x?q=*"},
		{"https://h/a", []string{"x"}, "https://h/a"},
		{"https://h", []string{"x"}, "https://h"},
		{"https://h/*", []string{"a/b"}, "https://h/a%2Fb"},
	}
	for _, tt := range tests {
		if got := FillPath(tt.endpoint, tt.values); got != tt.want {
			t.Errorf("FillPath(%q, %q) = %q, want %q", tt.endpoint, tt.values, got, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	ev := []byte(`{"id":"e1","detail":{"user":{"id":"u-7"},"n":42,"items":[{"sku":"a"},{"sku":"b"}],"obj":{"a":1},"nul":null}}`)
	for path, want := range map[string]string{
		"$.detail.user.id":      "u-7",
		"$.detail.n":            "42",
		"$.detail.items[1].sku": "b",
		"$.detail.obj":          `{"a":1}`,
		"$.id":                  "e1",
	} {
		if got, ok := Lookup(ev, path); !ok || got != want {
			t.Errorf("%s = %q %v, want %q", path, got, ok, want)
		}
	}
	for _, path := range []string{"$.detail.missing", "$.detail.items[5]", "$.detail.nul", "detail", "$.detail.n.x", "$.detail.items[x]"} {
		if got, ok := Lookup(ev, path); ok {
			t.Errorf("%s = %q, want nothing", path, got)
		}
	}
}

// TestResolveHttpParameters: values that are JSON paths take the event's
// values there, header names stay as they are, constants stay themselves.
func TestResolveHttpParameters(t *testing.T) {
	ev := []byte(`{"id":"e1","detail":{"state":"running","n":3,"kind":"k"}}`)
	hp := &control.HttpParameters{
		PathParameterValues:   []string{"$.detail.state", "fixed", "$.detail.missing"},
		HeaderParameters:      map[string]string{"X-State": "$.detail.state", "$.detail.kind": "v"},
		QueryStringParameters: map[string]string{"n": "$.detail.n", "$.detail.kind": "$.id"},
	}
	got := ResolveHttpParameters(hp, ev)
	want := &control.HttpParameters{
		PathParameterValues:   []string{"running", "fixed", ""},
		HeaderParameters:      map[string]string{"X-State": "running", "$.detail.kind": "v"},
		QueryStringParameters: map[string]string{"n": "3", "k": "e1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ResolveHttpParameters = %+v, want %+v", got, want)
	}
	if hp.PathParameterValues[0] != "$.detail.state" {
		t.Error("the target's own parameters were changed")
	}
	if ResolveHttpParameters(nil, ev) != nil {
		t.Error("nil parameters resolved to some")
	}
}

// TestURLTargetHttpParameters: a plain URL target takes HttpParameters
// as the other HTTP targets do: path wildcards filled in order, query
// parameters added, headers set except the reserved ones, JSON paths
// resolved against the event.
func TestURLTargetHttpParameters(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r }))
	defer srv.Close()
	inv := &Invocation{Target: &control.Target{Id: "t", Arn: srv.URL + "/orders/*/items/*?fixed=1",
		HttpParameters: &control.HttpParameters{
			PathParameterValues:   []string{"$.detail.order", "i 2"},
			QueryStringParameters: map[string]string{"state": "$.detail.state"},
			HeaderParameters:      map[string]string{"X-Tenant": "blue", "Host": "evil", "X-Amz-Date": "x", "Authorization": "y"},
		}},
		Event: []byte(`{"id":"e1","detail":{"order":"o-7","state":"paid"}}`), Input: []byte(`{}`)}
	if err := newGuardedHTTPInvoker(mustGuard(t, "")).Invoke(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.URL.Path != "/orders/o-7/items/i 2" || r.URL.Query().Get("fixed") != "1" || r.URL.Query().Get("state") != "paid" {
		t.Errorf("request %s, want /orders/o-7/items/i%%202?fixed=1&state=paid", r.URL)
	}
	if r.Header.Get("X-Tenant") != "blue" || r.Header.Get("X-Amz-Date") != "" || r.Header.Get("Authorization") != "" || r.Host == "evil" {
		t.Errorf("headers %v (host %s): want X-Tenant and none of the reserved ones", r.Header, r.Host)
	}
}
