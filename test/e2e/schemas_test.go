package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/schemas"
	"github.com/aws/aws-sdk-go-v2/service/schemas/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// schemasClient is the real aws-sdk-go-v2 Schemas client of account in
// region, against s.
func (s *server) schemasClient(account, region string) *schemas.Client {
	return schemas.New(schemas.Options{
		Region:           region,
		BaseEndpoint:     aws.String("http://" + s.addr),
		Credentials:      credentials.NewStaticCredentialsProvider(account, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// httpStatus is the HTTP status code of a result's raw response.
func httpStatus(meta middleware.Metadata) int {
	if r, ok := awsmiddleware.GetRawResponse(meta).(*smithyhttp.Response); ok {
		return r.StatusCode
	}
	return 0
}

// wantAPIError fails unless err is the API error code, with a message.
func wantSchemasError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() == "" {
		t.Fatalf("want %s with a message, got %s: %q", code, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func openAPIDoc(props string) string {
	return `{"openapi":"3.0.0","info":{"version":"1.0.0","title":"Order"},"paths":{},"components":{"schemas":{"AWSEvent":{"type":"object","required":["detail"],"properties":{"detail":{"$ref":"#/components/schemas/Order"}}},"Order":{"type":"object","required":["id"],"properties":{` + props + `}}}}}`
}

// TestSchemasRegistryAndSchemaLifecycle drives registries, schemas and
// their versions, search, export, tags and policies through the SDK, with
// AWS's status codes and error codes, and the hostile inputs.
func TestSchemasRegistryAndSchemaLifecycle(t *testing.T) {
	s := startServer(t)
	c, cx := s.schemasClient(acct, "us-east-1"), ctx(t)

	reg, err := c.CreateRegistry(cx, &schemas.CreateRegistryInput{RegistryName: aws.String("orders"),
		Description: aws.String("order events"), Tags: map[string]string{"team": "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := httpStatus(reg.ResultMetadata); got != http.StatusCreated {
		t.Errorf("CreateRegistry answered %d, want 201", got)
	}
	if *reg.RegistryArn != "arn:aws:schemas:us-east-1:"+acct+":registry/orders" || reg.Tags["team"] != "shop" {
		t.Errorf("CreateRegistry = %+v", reg)
	}
	_, err = c.CreateRegistry(cx, &schemas.CreateRegistryInput{RegistryName: aws.String("orders")})
	wantSchemasError(t, err, "ConflictException")
	_, err = c.DescribeRegistry(cx, &schemas.DescribeRegistryInput{RegistryName: aws.String("nope")})
	wantSchemasError(t, err, "NotFoundException")
	_, err = c.CreateRegistry(cx, &schemas.CreateRegistryInput{RegistryName: aws.String("bad name!")})
	wantSchemasError(t, err, "BadRequestException")
	_, err = c.DeleteRegistry(cx, &schemas.DeleteRegistryInput{RegistryName: aws.String("aws.events")})
	wantSchemasError(t, err, "ForbiddenException")

	// Another account and another region see nothing of it.
	_, err = s.schemasClient("444455556666", "us-east-1").DescribeRegistry(cx, &schemas.DescribeRegistryInput{RegistryName: aws.String("orders")})
	wantSchemasError(t, err, "NotFoundException")
	_, err = s.schemasClient(acct, "eu-west-1").DescribeRegistry(cx, &schemas.DescribeRegistryInput{RegistryName: aws.String("orders")})
	wantSchemasError(t, err, "NotFoundException")

	for _, n := range []string{"orders-b", "orders-c"} {
		if _, err := c.CreateRegistry(cx, &schemas.CreateRegistryInput{RegistryName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	// Pages of one, walked with NextToken, give every registry once.
	var names []string
	var token *string
	for {
		out, err := c.ListRegistries(cx, &schemas.ListRegistriesInput{Limit: aws.Int32(1), NextToken: token, RegistryNamePrefix: aws.String("orders")})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Registries {
			names = append(names, *r.RegistryName)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if strings.Join(names, ",") != "orders,orders-b,orders-c" {
		t.Errorf("paged ListRegistries = %v", names)
	}
	aw, err := c.ListRegistries(cx, &schemas.ListRegistriesInput{Scope: aws.String("AWS")})
	if err != nil || len(aw.Registries) != 1 || *aw.Registries[0].RegistryName != "aws.events" {
		t.Errorf("ListRegistries Scope AWS = %+v, %v", aw, err)
	}
	for _, tok := range []string{"garbage", "b3JkZXJz"} {
		_, err = c.ListRegistries(cx, &schemas.ListRegistriesInput{NextToken: aws.String(tok)})
		wantSchemasError(t, err, "BadRequestException")
	}

	// Schemas and versions.
	sch, err := c.CreateSchema(cx, &schemas.CreateSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"),
		Type: types.TypeOpenApi3, Content: aws.String(openAPIDoc(`"id":{"type":"integer"}`)), Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if httpStatus(sch.ResultMetadata) != http.StatusCreated || *sch.SchemaVersion != "1" || sch.Tags["k"] != "v" {
		t.Errorf("CreateSchema = %+v", sch)
	}
	hostile := []struct {
		name, content string
		typ           types.Type
		code          string
	}{
		{"not json", `{"openapi":`, types.TypeOpenApi3, "BadRequestException"},
		{"not openapi", `{"type":"object"}`, types.TypeOpenApi3, "BadRequestException"},
		{"oversized", `{"openapi":"3.0.0","x":"` + strings.Repeat("a", 100001) + `"}`, types.TypeOpenApi3, "BadRequestException"},
		{"bad type", `{}`, types.Type("Avro"), "BadRequestException"},
	}
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			_, err := c.CreateSchema(cx, &schemas.CreateSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("x@Y"),
				Type: h.typ, Content: aws.String(h.content)})
			wantSchemasError(t, err, h.code)
		})
	}
	_, err = c.CreateSchema(cx, &schemas.CreateSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"),
		Type: types.TypeOpenApi3, Content: aws.String(openAPIDoc(`"id":{"type":"integer"}`))})
	wantSchemasError(t, err, "ConflictException")
	_, err = c.CreateSchema(cx, &schemas.CreateSchemaInput{RegistryName: aws.String("nope"), SchemaName: aws.String("a@B"),
		Type: types.TypeOpenApi3, Content: aws.String(openAPIDoc(`"id":{"type":"integer"}`))})
	wantSchemasError(t, err, "NotFoundException")

	up, err := c.UpdateSchema(cx, &schemas.UpdateSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"),
		Content: aws.String(openAPIDoc(`"id":{"type":"integer"},"total":{"type":"number"}`)), ClientTokenId: aws.String("token-1")})
	if err != nil || *up.SchemaVersion != "2" {
		t.Fatalf("UpdateSchema = %+v, %v", up, err)
	}
	// A retry with the same ClientTokenId makes no third version.
	again, err := c.UpdateSchema(cx, &schemas.UpdateSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"),
		Content: aws.String(openAPIDoc(`"id":{"type":"integer"},"total":{"type":"number"}`)), ClientTokenId: aws.String("token-1")})
	if err != nil || *again.SchemaVersion != "2" {
		t.Fatalf("retried UpdateSchema = version %s, %v", aws.ToString(again.SchemaVersion), err)
	}
	v1, err := c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), SchemaVersion: aws.String("1")})
	if err != nil || strings.Contains(*v1.Content, "total") || *v1.SchemaVersion != "1" {
		t.Fatalf("DescribeSchema v1 = %+v, %v", v1, err)
	}
	latest, err := c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated")})
	if err != nil || !strings.Contains(*latest.Content, "total") || *latest.SchemaVersion != "2" {
		t.Fatalf("DescribeSchema latest = %+v, %v", latest, err)
	}
	_, err = c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), SchemaVersion: aws.String("7")})
	wantSchemasError(t, err, "NotFoundException")

	vs, err := c.ListSchemaVersions(cx, &schemas.ListSchemaVersionsInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), Limit: aws.Int32(1)})
	if err != nil || len(vs.SchemaVersions) != 1 || vs.NextToken == nil {
		t.Fatalf("ListSchemaVersions page 1 = %+v, %v", vs, err)
	}
	vs2, err := c.ListSchemaVersions(cx, &schemas.ListSchemaVersionsInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), Limit: aws.Int32(1), NextToken: vs.NextToken})
	if err != nil || len(vs2.SchemaVersions) != 1 || *vs2.SchemaVersions[0].SchemaVersion != "2" || vs2.NextToken != nil {
		t.Fatalf("ListSchemaVersions page 2 = %+v, %v", vs2, err)
	}
	// A token of one listing is refused by another.
	_, err = c.ListSchemas(cx, &schemas.ListSchemasInput{RegistryName: aws.String("orders"), NextToken: vs.NextToken})
	wantSchemasError(t, err, "BadRequestException")
	// And by another account: tokens "cannot be shared with other accounts".
	_, err = s.schemasClient("444455556666", "us-east-1").ListSchemaVersions(cx, &schemas.ListSchemaVersionsInput{RegistryName: aws.String("orders"),
		SchemaName: aws.String("shop@OrderCreated"), NextToken: vs.NextToken})
	wantSchemasError(t, err, "BadRequestException")

	list, err := c.ListSchemas(cx, &schemas.ListSchemasInput{RegistryName: aws.String("orders"), SchemaNamePrefix: aws.String("shop@")})
	if err != nil || len(list.Schemas) != 1 || aws.ToInt64(list.Schemas[0].VersionCount) != 2 {
		t.Fatalf("ListSchemas = %+v, %v", list, err)
	}
	found, err := c.SearchSchemas(cx, &schemas.SearchSchemasInput{RegistryName: aws.String("orders"), Keywords: aws.String("ordercreated")})
	if err != nil || len(found.Schemas) != 1 || len(found.Schemas[0].SchemaVersions) != 2 {
		t.Fatalf("SearchSchemas = %+v, %v", found, err)
	}
	none, err := c.SearchSchemas(cx, &schemas.SearchSchemasInput{RegistryName: aws.String("orders"), Keywords: aws.String("invoice")})
	if err != nil || len(none.Schemas) != 0 {
		t.Fatalf("SearchSchemas invoice = %+v, %v", none, err)
	}

	exp, err := c.ExportSchema(cx, &schemas.ExportSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), Type: aws.String("JSONSchemaDraft4")})
	if err != nil {
		t.Fatal(err)
	}
	var draft map[string]any
	if err := json.Unmarshal([]byte(*exp.Content), &draft); err != nil || draft["$schema"] != "http://json-schema.org/draft-04/schema#" {
		t.Errorf("ExportSchema = %s, %v", *exp.Content, err)
	}
	_, err = c.ExportSchema(cx, &schemas.ExportSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), Type: aws.String("OpenApi3")})
	wantSchemasError(t, err, "BadRequestException")

	// Tags.
	arn := *sch.SchemaArn
	if _, err := c.TagResource(cx, &schemas.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"stage": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(cx, &schemas.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(cx, &schemas.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["stage"] != "prod" {
		t.Errorf("ListTagsForResource = %+v, %v", tags, err)
	}
	_, err = c.TagResource(cx, &schemas.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"aws:x": "y"}})
	wantSchemasError(t, err, "BadRequestException")
	_, err = c.ListTagsForResource(cx, &schemas.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:schemas:us-east-1:" + acct + ":registry/gone")})
	wantSchemasError(t, err, "NotFoundException")

	// Resource policies, updated only at the revision read.
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"schemas:DescribeSchema","Resource":"*"}]}`
	p1, err := c.PutResourcePolicy(cx, &schemas.PutResourcePolicyInput{RegistryName: aws.String("orders"), Policy: aws.String(pol)})
	if err != nil || p1.RevisionId == nil {
		t.Fatalf("PutResourcePolicy = %+v, %v", p1, err)
	}
	_, err = c.PutResourcePolicy(cx, &schemas.PutResourcePolicyInput{RegistryName: aws.String("orders"), Policy: aws.String(pol), RevisionId: aws.String("stale")})
	wantSchemasError(t, err, "PreconditionFailedException")
	p2, err := c.PutResourcePolicy(cx, &schemas.PutResourcePolicyInput{RegistryName: aws.String("orders"), Policy: aws.String(pol), RevisionId: p1.RevisionId})
	if err != nil || *p2.RevisionId == *p1.RevisionId {
		t.Fatalf("PutResourcePolicy at its revision = %+v, %v", p2, err)
	}
	got, err := c.GetResourcePolicy(cx, &schemas.GetResourcePolicyInput{RegistryName: aws.String("orders")})
	if err != nil || *got.RevisionId != *p2.RevisionId || !strings.Contains(*got.Policy, "444455556666") {
		t.Fatalf("GetResourcePolicy = %+v, %v", got, err)
	}
	_, err = c.PutResourcePolicy(cx, &schemas.PutResourcePolicyInput{RegistryName: aws.String("orders"), Policy: aws.String(`{"not":"a policy"`)})
	wantSchemasError(t, err, "BadRequestException")
	if _, err := c.DeleteResourcePolicy(cx, &schemas.DeleteResourcePolicyInput{RegistryName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetResourcePolicy(cx, &schemas.GetResourcePolicyInput{RegistryName: aws.String("orders")})
	wantSchemasError(t, err, "NotFoundException")

	// Deleting a version, then the schema, then the registry.
	dv, err := c.DeleteSchemaVersion(cx, &schemas.DeleteSchemaVersionInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), SchemaVersion: aws.String("1")})
	if err != nil || httpStatus(dv.ResultMetadata) != http.StatusNoContent {
		t.Fatalf("DeleteSchemaVersion = %v", err)
	}
	_, err = c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated"), SchemaVersion: aws.String("1")})
	wantSchemasError(t, err, "NotFoundException")
	if _, err := c.DeleteSchema(cx, &schemas.DeleteSchemaInput{RegistryName: aws.String("orders"), SchemaName: aws.String("shop@OrderCreated")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRegistry(cx, &schemas.DeleteRegistryInput{RegistryName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeRegistry(cx, &schemas.DescribeRegistryInput{RegistryName: aws.String("orders")})
	wantSchemasError(t, err, "NotFoundException")

	// The built-in registry has the schema of Switchyard's scheduled
	// events.
	se, err := c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("aws.events"), SchemaName: aws.String("aws.events@ScheduledEvent")})
	if err != nil || !strings.Contains(*se.Content, `"x-amazon-events-detail-type":"Scheduled Event"`) && !strings.Contains(*se.Content, `"x-amazon-events-detail-type": "Scheduled Event"`) {
		t.Errorf("aws.events@ScheduledEvent = %+v, %v", se, err)
	}
}

// putEvent puts one event on bus and fails the test on any failure.
func putEvent(t *testing.T, eb *eventbridge.Client, bus, source, detailType, detail string) {
	t.Helper()
	out, err := eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(bus), Source: aws.String(source), DetailType: aws.String(detailType), Detail: aws.String(detail)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
}

// waitVersions waits until the discovered schema name has n versions.
func waitVersions(t *testing.T, c *schemas.Client, name string, n int) *schemas.DescribeSchemaOutput {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := c.DescribeSchema(ctx(t), &schemas.DescribeSchemaInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String(name)})
		if err == nil && *out.SchemaVersion == fmt.Sprint(n) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("discovered schema %s did not reach version %d: %+v, %v", name, n, out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSchemaDiscovery: a started discoverer on a bus makes the schema of
// its events appear in discovered-schemas, a new version when their shape
// changes and none when it does not; stopped, it discovers nothing; all
// of it survives a restart; the schema's Go binding is generated.
func TestSchemaDiscovery(t *testing.T) {
	s := startServer(t)
	c, eb, cx := s.schemasClient(acct, "us-east-1"), s.client(acct, "us-east-1"), ctx(t)
	if _, err := eb.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	busARN := "arn:aws:events:us-east-1:" + acct + ":event-bus/shop"
	d, err := c.CreateDiscoverer(cx, &schemas.CreateDiscovererInput{SourceArn: aws.String(busARN), Description: aws.String("shop events")})
	if err != nil {
		t.Fatal(err)
	}
	if httpStatus(d.ResultMetadata) != http.StatusCreated || *d.DiscovererId != "events-event-bus-shop" || d.State != types.DiscovererStateStarted || !aws.ToBool(d.CrossAccount) {
		t.Errorf("CreateDiscoverer = %+v", d)
	}
	_, err = c.CreateDiscoverer(cx, &schemas.CreateDiscovererInput{SourceArn: aws.String(busARN)})
	wantSchemasError(t, err, "ConflictException")
	for _, bad := range []string{"arn:aws:sqs:us-east-1:" + acct + ":queue", "arn:aws:events:us-east-1:" + acct + ":event-bus/missing", "arn:aws:events:eu-west-1:" + acct + ":event-bus/shop"} {
		_, err = c.CreateDiscoverer(cx, &schemas.CreateDiscovererInput{SourceArn: aws.String(bad)})
		wantSchemasError(t, err, "BadRequestException")
	}
	ls, err := c.ListDiscoverers(cx, &schemas.ListDiscoverersInput{SourceArnPrefix: aws.String("arn:aws:events:us-east-1:" + acct + ":event-bus/sh")})
	if err != nil || len(ls.Discoverers) != 1 {
		t.Fatalf("ListDiscoverers = %+v, %v", ls, err)
	}

	putEvent(t, eb, "shop", "app.shop", "Order Created", `{"id":1,"customer":{"name":"ann"}}`)
	first := waitVersions(t, c, "app.shop@OrderCreated", 1)
	if !strings.Contains(*first.Content, "customer") || *first.Type != "OpenApi3" {
		t.Errorf("discovered schema = %s", *first.Content)
	}
	// The same shape again makes no new version; a new field does.
	putEvent(t, eb, "shop", "app.shop", "Order Created", `{"id":2,"customer":{"name":"bob"}}`)
	time.Sleep(1200 * time.Millisecond)
	putEvent(t, eb, "shop", "app.shop", "Order Created", `{"id":3,"customer":{"name":"cy"},"coupon":"X1"}`)
	second := waitVersions(t, c, "app.shop@OrderCreated", 2)
	if !strings.Contains(*second.Content, "coupon") {
		t.Errorf("version 2 = %s", *second.Content)
	}

	m := scrape(t, http.DefaultClient, s.addr)
	if got := m["switchyard_schema_discovered_versions_total"]; got != 2 {
		t.Errorf("switchyard_schema_discovered_versions_total = %v, want 2", got)
	}
	if got := m["switchyard_schema_discovery_sampled_events_total"]; got != 3 {
		t.Errorf("switchyard_schema_discovery_sampled_events_total = %v, want 3", got)
	}

	// Stopped, nothing more is discovered.
	st, err := c.StopDiscoverer(cx, &schemas.StopDiscovererInput{DiscovererId: d.DiscovererId})
	if err != nil || st.State != types.DiscovererStateStopped {
		t.Fatalf("StopDiscoverer = %+v, %v", st, err)
	}
	time.Sleep(500 * time.Millisecond)
	putEvent(t, eb, "shop", "app.shop", "Order Cancelled", `{"id":3}`)
	time.Sleep(1500 * time.Millisecond)
	_, err = c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.shop@OrderCancelled")})
	wantSchemasError(t, err, "NotFoundException")

	// State and schemas survive a restart; started again, it discovers.
	s.stop()
	s.restart()
	c, eb = s.schemasClient(acct, "us-east-1"), s.client(acct, "us-east-1")
	dd, err := c.DescribeDiscoverer(cx, &schemas.DescribeDiscovererInput{DiscovererId: d.DiscovererId})
	if err != nil || dd.State != types.DiscovererStateStopped || *dd.Description != "shop events" {
		t.Fatalf("DescribeDiscoverer after restart = %+v, %v", dd, err)
	}
	if _, err := c.StartDiscoverer(cx, &schemas.StartDiscovererInput{DiscovererId: d.DiscovererId}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	putEvent(t, eb, "shop", "app.shop", "Order Cancelled", `{"id":3}`)
	waitVersions(t, c, "app.shop@OrderCancelled", 1)
	waitVersions(t, c, "app.shop@OrderCreated", 2)

	// Code bindings: CREATE_IN_PROGRESS, then CREATE_COMPLETE with a zip.
	pb, err := c.PutCodeBinding(cx, &schemas.PutCodeBindingInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.shop@OrderCreated"), Language: aws.String("Go1")})
	if err != nil || httpStatus(pb.ResultMetadata) != http.StatusAccepted || pb.Status != types.CodeGenerationStatusCreateInProgress || *pb.SchemaVersion != "2" {
		t.Fatalf("PutCodeBinding = %+v, %v", pb, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		db, err := c.DescribeCodeBinding(cx, &schemas.DescribeCodeBindingInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.shop@OrderCreated"), Language: aws.String("Go1")})
		if err != nil {
			t.Fatal(err)
		}
		if db.Status == types.CodeGenerationStatusCreateComplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binding still %s", db.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	src, err := c.GetCodeBindingSource(cx, &schemas.GetCodeBindingSourceInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.shop@OrderCreated"), Language: aws.String("Go1")})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(src.Body), int64(len(src.Body)))
	if err != nil || len(zr.File) == 0 {
		t.Fatalf("code binding is not a zip with files: %v", err)
	}
	_, err = c.PutCodeBinding(cx, &schemas.PutCodeBindingInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.shop@OrderCreated"), Language: aws.String("Cobol")})
	wantSchemasError(t, err, "BadRequestException")
	_, err = c.GetCodeBindingSource(cx, &schemas.GetCodeBindingSourceInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.shop@OrderCreated"), Language: aws.String("Java8")})
	wantSchemasError(t, err, "NotFoundException")

	// GetDiscoveredSchema infers without storing.
	gd, err := c.GetDiscoveredSchema(cx, &schemas.GetDiscoveredSchemaInput{Type: types.TypeOpenApi3, Events: []string{
		`{"version":"0","id":"1","detail-type":"Ping","source":"app.x","account":"` + acct + `","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"n":1}}`}})
	if err != nil || !strings.Contains(*gd.Content, `"n"`) {
		t.Fatalf("GetDiscoveredSchema = %+v, %v", gd, err)
	}
	_, err = c.GetDiscoveredSchema(cx, &schemas.GetDiscoveredSchemaInput{Type: types.TypeOpenApi3, Events: []string{`{"detail":`}})
	wantSchemasError(t, err, "BadRequestException")

	if _, err := c.DeleteDiscoverer(cx, &schemas.DeleteDiscovererInput{DiscovererId: d.DiscovererId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeDiscoverer(cx, &schemas.DescribeDiscovererInput{DiscovererId: d.DiscovererId})
	wantSchemasError(t, err, "NotFoundException")
}

// discoveredFields returns which of the fields named prefix00..prefix(n-1)
// the content has.
func discoveredFields(content, prefix string, n int) []bool {
	has := make([]bool, n)
	for i := range n {
		has[i] = strings.Contains(content, fmt.Sprintf(`"%s%02d"`, prefix, i))
	}
	return has
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// TestSchemaDiscoveryCluster: two processes on one NATS, a discoverer
// made through one, events put concurrently through both.
//   - Twelve detail-types at once make twelve schemas.
//   - Four shapes of one detail-type at once (within the sampling budget)
//     all end in its schema, each version a superset of the one before: no
//     merge lost to a race between the processes' workers.
//   - Sixty events of one detail-type as fast as they go are sampled at
//     most DefaultSamplesPerSecond (5) a second across both processes.
func TestSchemaDiscoveryCluster(t *testing.T) {
	ps := startCluster(t, natsServer(t), 2)
	a, b := ps[0], ps[1]
	cx := ctx(t)
	if _, err := a.client(acct, "us-east-1").CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("busy")}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.schemasClient(acct, "us-east-1").CreateDiscoverer(cx, &schemas.CreateDiscovererInput{
		SourceArn: aws.String("arn:aws:events:us-east-1:" + acct + ":event-bus/busy")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // both processes see the discoverer
	procs := []*server{a, b}
	parallel := func(n int, put func(i int, eb *eventbridge.Client)) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				put(i, procs[i%2].client(acct, "us-east-1"))
			}()
		}
		wg.Wait()
	}
	c := b.schemasClient(acct, "us-east-1")

	parallel(12, func(i int, eb *eventbridge.Client) {
		putEvent(t, eb, "busy", "app.busy", fmt.Sprintf("Kind %02d", i), `{"n":1}`)
	})
	for i := range 12 {
		waitVersions(t, c, fmt.Sprintf("app.busy@Kind%02d", i), 1)
	}

	parallel(4, func(i int, _ *eventbridge.Client) {
		putEvent(t, a.client(acct, "us-east-1"), "busy", "app.busy", "Tick", fmt.Sprintf(`{"f%02d":%d}`, i, i))
	})
	deadline := time.Now().Add(20 * time.Second)
	var latest *schemas.DescribeSchemaOutput
	for {
		out, err := c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.busy@Tick")})
		if err == nil && count(discoveredFields(*out.Content, "f", 4)) == 4 {
			latest = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("discovered schema lacks fields: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	prev := make([]bool, 4)
	n := 0
	fmt.Sscan(*latest.SchemaVersion, &n)
	if n > 4 {
		t.Errorf("%d versions for 4 shapes", n)
	}
	for v := 1; v <= n; v++ {
		out, err := c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.busy@Tick"), SchemaVersion: aws.String(fmt.Sprint(v))})
		if err != nil {
			t.Fatal(err)
		}
		has := discoveredFields(*out.Content, "f", 4)
		for i := range has {
			if prev[i] && !has[i] {
				t.Errorf("version %d lost field f%02d of version %d", v, i, v-1)
			}
		}
		prev = has
	}

	start := time.Now()
	parallel(60, func(i int, eb *eventbridge.Client) {
		putEvent(t, eb, "busy", "app.busy", "Flood", fmt.Sprintf(`{"g%02d":%d}`, i, i))
	})
	seconds := int(time.Now().Unix()-start.Unix()) + 1
	time.Sleep(3 * time.Second) // the samples are merged
	out, err := c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.busy@Flood")})
	if err != nil {
		t.Fatal(err)
	}
	if got := count(discoveredFields(*out.Content, "g", 60)); got == 0 || got > 5*seconds {
		t.Errorf("%d of 60 events sampled over %d seconds, want 1 to %d", got, seconds, 5*seconds)
	}
}

// TestSchemaValidationAtPutEvents: a bus tagged switchyard:schema-validation
// refuses, entry by entry, events that do not conform to their schema in
// the registry the tag names, saying where; other buses take anything.
func TestSchemaValidationAtPutEvents(t *testing.T) {
	s := startServer(t)
	c, eb, cx := s.schemasClient(acct, "us-east-1"), s.client(acct, "us-east-1"), ctx(t)
	if _, err := c.CreateRegistry(cx, &schemas.CreateRegistryInput{RegistryName: aws.String("contracts")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSchema(cx, &schemas.CreateSchemaInput{RegistryName: aws.String("contracts"), SchemaName: aws.String("shop@OrderCreated"),
		Type: types.TypeOpenApi3, Content: aws.String(openAPIDoc(`"id":{"type":"integer"}`))}); err != nil {
		t.Fatal(err)
	}
	for _, bus := range []string{"strict", "lax"} {
		in := &eventbridge.CreateEventBusInput{Name: aws.String(bus)}
		if bus == "strict" {
			in.Tags = []ebtypes.Tag{{Key: aws.String("switchyard:schema-validation"), Value: aws.String("contracts")}}
		}
		if _, err := eb.CreateEventBus(cx, in); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	entries := func(bus string) []ebtypes.PutEventsRequestEntry {
		e := func(dt, detail string) ebtypes.PutEventsRequestEntry {
			return ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("shop"), DetailType: aws.String(dt), Detail: aws.String(detail)}
		}
		return []ebtypes.PutEventsRequestEntry{
			e("Order Created", `{"id":7}`),
			e("Order Created", `{"id":"seven"}`),
			e("Order Created", `{"total":1}`),
			e("Order Shipped", `{"anything":true}`), // no schema: passes
		}
	}
	out, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries("strict")})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 2 {
		for i, r := range out.Entries {
			t.Logf("entry %d: %s %s", i, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
		t.Fatalf("FailedEntryCount = %d, want 2", out.FailedEntryCount)
	}
	want := []string{"", "/detail/id", "/detail", ""}
	for i, r := range out.Entries {
		if want[i] == "" {
			if r.EventId == nil || r.ErrorCode != nil {
				t.Errorf("entry %d refused: %+v", i, r)
			}
			continue
		}
		if r.EventId != nil || aws.ToString(r.ErrorCode) != "SchemaValidationFailed" || !strings.Contains(aws.ToString(r.ErrorMessage), want[i]) {
			t.Errorf("entry %d = %s %q, want SchemaValidationFailed at %s", i, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage), want[i])
		}
	}
	lax, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries("lax")})
	if err != nil || lax.FailedEntryCount != 0 {
		t.Fatalf("untagged bus: %+v, %v", lax, err)
	}
	// A new version of the schema applies at once.
	if _, err := c.UpdateSchema(cx, &schemas.UpdateSchemaInput{RegistryName: aws.String("contracts"), SchemaName: aws.String("shop@OrderCreated"),
		Content: aws.String(openAPIDoc(`"id":{"type":"string"}`))}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	out, err = eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries("strict")[:2]})
	if err != nil || out.FailedEntryCount != 1 || out.Entries[1].ErrorCode != nil {
		t.Fatalf("after UpdateSchema: %+v, %v", out, err)
	}
	m := scrape(t, http.DefaultClient, s.addr)
	if m["switchyard_schema_refused_events_total"] != 3 || m["switchyard_schema_validated_events_total"] != 5 {
		t.Errorf("metrics: refused %v, validated %v", m["switchyard_schema_refused_events_total"], m["switchyard_schema_validated_events_total"])
	}
}

// TestSchemasStorageDown: with its NATS server gone, the Schemas API
// answers ServiceUnavailableException (503) within its deadline instead of
// hanging or failing with a 500, and answers again once NATS is back.
func TestSchemasStorageDown(t *testing.T) {
	dir := t.TempDir()
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	port := ns.Addr().(*net.TCPAddr).Port
	s := startServer(t, "--nats-url", ns.ClientURL(), "--secrets-key-file", newKeyFile(t, "secrets.key"))
	c, cx := s.schemasClient(acct, "us-east-1"), ctx(t)
	if _, err := c.CreateRegistry(cx, &schemas.CreateRegistryInput{RegistryName: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	start := time.Now()
	_, err = c.DescribeRegistry(cx, &schemas.DescribeRegistryInput{RegistryName: aws.String("r")})
	var ae smithy.APIError
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailableException" || !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
		t.Fatalf("DescribeRegistry with NATS down: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("answered after %v", d)
	}
	opts.Port = port
	ns2, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns2.Start()
	t.Cleanup(ns2.Shutdown)
	if !ns2.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready again")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.DescribeRegistry(cx, &schemas.DescribeRegistryInput{RegistryName: aws.String("r")})
		if err == nil && *out.RegistryName == "r" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not answering after NATS came back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSchemaDiscoveryCrossAccount: a discoverer with CrossAccount false
// discovers the events the bus's own account sends and not those another
// account sends (with the bus's permission); with CrossAccount true, both.
func TestSchemaDiscoveryCrossAccount(t *testing.T) {
	const other = "444455556666"
	s := startServer(t)
	c, eb, cx := s.schemasClient(acct, "us-east-1"), s.client(acct, "us-east-1"), ctx(t)
	if _, err := eb.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutPermission(cx, &eventbridge.PutPermissionInput{EventBusName: aws.String("shared"),
		Action: aws.String("events:PutEvents"), Principal: aws.String(other), StatementId: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	busARN := "arn:aws:events:us-east-1:" + acct + ":event-bus/shared"
	d, err := c.CreateDiscoverer(cx, &schemas.CreateDiscovererInput{SourceArn: aws.String(busARN), CrossAccount: aws.Bool(false)})
	if err != nil || aws.ToBool(d.CrossAccount) {
		t.Fatalf("CreateDiscoverer = %+v, %v", d, err)
	}
	time.Sleep(500 * time.Millisecond)
	foreign := s.client(other, "us-east-1")
	putEvent(t, foreign, busARN, "app.other", "Foreign", `{"x":1}`)
	putEvent(t, eb, "shared", "app.own", "Own", `{"x":1}`)
	waitVersions(t, c, "app.own@Own", 1)
	time.Sleep(time.Second)
	_, err = c.DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.other@Foreign")})
	wantSchemasError(t, err, "NotFoundException")

	if _, err := c.UpdateDiscoverer(cx, &schemas.UpdateDiscovererInput{DiscovererId: d.DiscovererId, CrossAccount: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	putEvent(t, foreign, busARN, "app.other", "Foreign", `{"x":1}`)
	// Discovered into the bus owner's registry, not the sender's.
	waitVersions(t, c, "app.other@Foreign", 1)
	_, err = s.schemasClient(other, "us-east-1").DescribeSchema(cx, &schemas.DescribeSchemaInput{RegistryName: aws.String("discovered-schemas"), SchemaName: aws.String("app.other@Foreign")})
	wantSchemasError(t, err, "NotFoundException")
}

// TestSchemaDiscoveryOfForwardedEvents: events an event-bus target brings
// to a bus are discovered there like those put on it.
func TestSchemaDiscoveryOfForwardedEvents(t *testing.T) {
	s := startServer(t)
	c, eb, cx := s.schemasClient(acct, "us-east-1"), s.client(acct, "us-east-1"), ctx(t)
	for _, bus := range []string{"front", "back"} {
		if _, err := eb.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eb.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String("front"),
		EventPattern: aws.String(`{"source":["app.front"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String("front"),
		Targets: []ebtypes.Target{{Id: aws.String("back"), Arn: aws.String("arn:aws:events:us-east-1:" + acct + ":event-bus/back")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDiscoverer(cx, &schemas.CreateDiscovererInput{SourceArn: aws.String("arn:aws:events:us-east-1:" + acct + ":event-bus/back")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	putEvent(t, eb, "front", "app.front", "Relayed", `{"hop":1}`)
	got := waitVersions(t, c, "app.front@Relayed", 1)
	if !strings.Contains(*got.Content, `"hop"`) {
		t.Errorf("discovered %s", *got.Content)
	}
}
