package schemas

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// serve runs the service on an embedded store behind restapi, without
// authentication (account 123456789012, us-east-1).
func serve(t testing.TB) (*httptest.Server, *control.Service) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, ctl := controltest.Open(t, store.Config{Sync: time.Second, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	t.Cleanup(func() { cancel(); _ = g.Wait() })
	svc, err := Open(ctx, Config{JS: st.JS, View: ctl.View(), Log: quiet, Group: &g, Ctx: ctx})
	if err != nil {
		t.Fatal(err)
	}
	api := restapi.New("schemas", restapi.Options{Auth: auth.None{}, Log: quiet, CodeField: "Code"})
	svc.Register(api)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, ctl
}

// Values that change from run to run, replaced in the golden files.
var (
	timeRE  = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)
	uuidRE  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	tokenRE = regexp.MustCompile(`"NextToken": "[A-Za-z0-9_-]+"`) // holds its time of issue
)

// TestAPIGolden runs a session of requests, each answer (status, error
// type, body) checked against testdata/golden/api/<step>.json: the shapes
// of AWS's answers and errors, operation by operation. go test -update
// rewrites them.
func TestAPIGolden(t *testing.T) {
	srv, ctl := serve(t)
	sc := control.Scope{Account: auth.DefaultAccount, Region: auth.DefaultRegion}
	if _, err := ctl.CreateEventBus(context.Background(), sc, control.BusInput{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"openapi":"3.0.0","info":{"version":"1.0.0","title":"Order"},"paths":{},"components":{"schemas":{"AWSEvent":{"type":"object","properties":{"detail":{"$ref":"#/components/schemas/Order"}}},"Order":{"type":"object","properties":{"id":{"type":"integer"}}}}}}`
	content, _ := json.Marshal(doc)
	bus := control.BusARN(sc, "shop")
	steps := []struct{ name, method, path, body string }{
		{"create-registry", "POST", "/v1/registries/name/orders", `{"Description":"order events","tags":{"team":"shop"}}`},
		{"create-registry-again", "POST", "/v1/registries/name/orders", `{}`},
		{"create-registry-bad-name", "POST", "/v1/registries/name/bad%20name", `{}`},
		{"create-registry-reserved", "POST", "/v1/registries/name/aws.mine", `{}`},
		{"describe-registry", "GET", "/v1/registries/name/orders", ``},
		{"describe-registry-missing", "GET", "/v1/registries/name/missing", ``},
		{"update-registry", "PUT", "/v1/registries/name/orders", `{"Description":"all orders"}`},
		{"list-registries", "GET", "/v1/registries", ``},
		{"list-registries-aws", "GET", "/v1/registries?scope=AWS", ``},
		{"list-registries-bad-scope", "GET", "/v1/registries?scope=GLOBAL", ``},
		{"list-registries-page", "GET", "/v1/registries?limit=1", ``},
		{"list-registries-bad-token", "GET", "/v1/registries?nextToken=zzz", ``},
		{"list-registries-bad-limit", "GET", "/v1/registries?limit=1000", ``},
		{"create-schema", "POST", "/v1/registries/name/orders/schemas/name/shop@OrderCreated", `{"Type":"OpenApi3","Content":` + string(content) + `}`},
		{"create-schema-not-json", "POST", "/v1/registries/name/orders/schemas/name/x@Y", `{"Type":"OpenApi3","Content":"{\"openapi\":"}`},
		{"create-schema-no-type", "POST", "/v1/registries/name/orders/schemas/name/x@Y", `{"Content":"{}"}`},
		{"create-schema-bad-type", "POST", "/v1/registries/name/orders/schemas/name/x@Y", `{"Type":"Avro","Content":"{}"}`},
		{"create-schema-aws-registry", "POST", "/v1/registries/name/aws.events/schemas/name/x@Y", `{"Type":"OpenApi3","Content":` + string(content) + `}`},
		{"update-schema", "PUT", "/v1/registries/name/orders/schemas/name/shop@OrderCreated", `{"Description":"v2","Content":` + string(content) + `}`},
		{"update-schema-missing", "PUT", "/v1/registries/name/orders/schemas/name/nope@Nope", `{"Content":` + string(content) + `}`},
		{"describe-schema-v1", "GET", "/v1/registries/name/orders/schemas/name/shop@OrderCreated?schemaVersion=1", ``},
		{"describe-schema-v9", "GET", "/v1/registries/name/orders/schemas/name/shop@OrderCreated?schemaVersion=9", ``},
		{"list-schemas", "GET", "/v1/registries/name/orders/schemas", ``},
		{"list-schema-versions", "GET", "/v1/registries/name/orders/schemas/name/shop@OrderCreated/versions", ``},
		{"search-schemas", "GET", "/v1/registries/name/orders/schemas/search?keywords=order", ``},
		{"search-schemas-no-keywords", "GET", "/v1/registries/name/orders/schemas/search", ``},
		{"export-schema", "GET", "/v1/registries/name/orders/schemas/name/shop@OrderCreated/export?type=JSONSchemaDraft4", ``},
		{"export-schema-bad-type", "GET", "/v1/registries/name/orders/schemas/name/shop@OrderCreated/export?type=OpenApi3", ``},
		{"describe-scheduled-event", "GET", "/v1/registries/name/aws.events/schemas/name/aws.events@ScheduledEvent", ``},
		{"tag-schema", "POST", "/tags/arn:aws:schemas:us-east-1:123456789012:schema/orders/shop@OrderCreated", `{"tags":{"stage":"prod"}}`},
		{"list-tags", "GET", "/tags/arn:aws:schemas:us-east-1:123456789012:schema/orders/shop@OrderCreated", ``},
		{"untag-schema", "DELETE", "/tags/arn:aws:schemas:us-east-1:123456789012:schema/orders/shop@OrderCreated?tagKeys=stage", ``},
		{"tag-bad-arn", "POST", "/tags/arn:aws:sqs:us-east-1:123456789012:q", `{"tags":{"a":"b"}}`},
		{"put-policy", "PUT", "/v1/policy?registryName=orders", `{"Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[]}"}`},
		{"put-policy-stale", "PUT", "/v1/policy?registryName=orders", `{"Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[]}","RevisionId":"stale"}`},
		{"put-policy-not-a-policy", "PUT", "/v1/policy?registryName=orders", `{"Policy":"[]"}`},
		{"get-policy", "GET", "/v1/policy?registryName=orders", ``},
		{"delete-policy", "DELETE", "/v1/policy?registryName=orders", ``},
		{"get-policy-deleted", "GET", "/v1/policy?registryName=orders", ``},
		{"create-discoverer", "POST", "/v1/discoverers", `{"SourceArn":"` + bus + `","Description":"shop"}`},
		{"create-discoverer-again", "POST", "/v1/discoverers", `{"SourceArn":"` + bus + `"}`},
		{"create-discoverer-not-a-bus", "POST", "/v1/discoverers", `{"SourceArn":"arn:aws:sqs:us-east-1:123456789012:queue"}`},
		{"describe-discoverer", "GET", "/v1/discoverers/id/events-event-bus-shop", ``},
		{"update-discoverer", "PUT", "/v1/discoverers/id/events-event-bus-shop", `{"CrossAccount":false}`},
		{"stop-discoverer", "POST", "/v1/discoverers/id/events-event-bus-shop/stop", ``},
		{"start-discoverer", "POST", "/v1/discoverers/id/events-event-bus-shop/start", ``},
		{"list-discoverers", "GET", "/v1/discoverers?discovererIdPrefix=events-", ``},
		{"describe-discoverer-missing", "GET", "/v1/discoverers/id/nope", ``},
		{"get-discovered-schema", "POST", "/v1/discover", `{"Type":"OpenApi3","Events":["{\"version\":\"0\",\"id\":\"1\",\"detail-type\":\"Ping\",\"source\":\"app\",\"account\":\"123456789012\",\"time\":\"2026-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{\"n\":1}}"]}`},
		{"get-discovered-schema-too-many", "POST", "/v1/discover", `{"Type":"OpenApi3","Events":["{}","{}","{}","{}","{}","{}","{}","{}","{}","{}","{}"]}`},
		{"describe-code-binding-none", "GET", "/v1/registries/name/orders/schemas/name/shop@OrderCreated/language/Go1", ``},
		{"put-code-binding-bad-language", "POST", "/v1/registries/name/orders/schemas/name/shop@OrderCreated/language/Cobol", ``},
		{"delete-schema-version", "DELETE", "/v1/registries/name/orders/schemas/name/shop@OrderCreated/version/1", ``},
		{"delete-schema-version-not-a-number", "DELETE", "/v1/registries/name/orders/schemas/name/shop@OrderCreated/version/one", ``},
		{"delete-schema", "DELETE", "/v1/registries/name/orders/schemas/name/shop@OrderCreated", ``},
		{"delete-discoverer", "DELETE", "/v1/discoverers/id/events-event-bus-shop", ``},
		{"delete-registry", "DELETE", "/v1/registries/name/orders", ``},
		{"delete-registry-builtin", "DELETE", "/v1/registries/name/discovered-schemas", ``},
		{"malformed-body", "POST", "/v1/registries/name/other", `{"Description":`},
		{"unknown-path", "GET", "/v1/nothing", ``},
	}
	for _, st := range steps {
		req, err := http.NewRequest(st.method, srv.URL+st.path, strings.NewReader(st.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var pretty bytes.Buffer
		if len(body) > 0 && json.Indent(&pretty, body, "", "  ") != nil {
			t.Fatalf("%s: body is not JSON: %q", st.name, body)
		}
		got := fmt.Sprintf("%s %s\nstatus %d\nerror %s\n%s\n", st.method, st.path, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), pretty.String())
		got = uuidRE.ReplaceAllString(timeRE.ReplaceAllString(got, `"<time>"`), "<uuid>")
		got = tokenRE.ReplaceAllString(got, `"NextToken": "<token>"`)
		file := filepath.Join("testdata", "golden", "api", st.name+".txt")
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v (go test -update writes it)", st.name, err)
		}
		if got != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", st.name, got, want)
		}
	}
}

// FuzzAPIBodies sends arbitrary bodies to the operations that read one:
// every answer is the operation's result or one of its 4xx errors with the
// model's shape, never a 5xx or a panic.
func FuzzAPIBodies(f *testing.F) {
	for _, seed := range []string{
		`{"Type":"OpenApi3","Content":"{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"x\",\"version\":\"1\"},\"paths\":{}}"}`,
		`{"Type":"JSONSchemaDraft4","Content":"{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"type\":\"object\"}"}`,
		`{"Type":"OpenApi3","Events":["{\"detail\":{}}"]}`,
		`{"Policy":"{\"Statement\":[]}","RevisionId":"x"}`,
		`{"SourceArn":"arn:aws:events:us-east-1:123456789012:event-bus/default","CrossAccount":true}`,
		`{"tags":{"a":"b"}}`, `{"Description":null}`, `[]`, `"x"`, `{"Content":1}`, "\xff",
	} {
		f.Add(uint8(0), seed)
	}
	srv, _ := serve(f)
	ops := []struct{ method, path string }{
		{"POST", "/v1/registries/name/fuzz/schemas/name/f@F"},
		{"PUT", "/v1/registries/name/fuzz/schemas/name/f@F"},
		{"POST", "/v1/discover"},
		{"PUT", "/v1/policy?registryName=fuzz"},
		{"POST", "/v1/discoverers"},
		{"POST", "/v1/registries/name/fuzz"},
		{"PUT", "/v1/registries/name/fuzz"},
		{"POST", "/tags/arn:aws:schemas:us-east-1:123456789012:registry/fuzz"},
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/registries/name/fuzz", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		o := ops[int(op)%len(ops)]
		req, err := http.NewRequest(o.method, srv.URL+o.path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", o.method, o.path, body, resp.StatusCode, data)
		}
		if resp.StatusCode >= 400 {
			var e struct{ Code, Message string }
			if json.Unmarshal(data, &e) != nil || e.Code == "" || e.Message == "" || e.Code != resp.Header.Get("x-amzn-ErrorType") {
				t.Fatalf("%s %s %q: error without the model's shape: %d %s", o.method, o.path, body, resp.StatusCode, data)
			}
		}
	})
}
