package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
)

// healthTarget is the real HTTP server a Route 53 health check points at:
// the test decides its answer (a status, or hanging).
type healthTarget struct {
	port   int32
	status atomic.Int32 // 0: hang until the request is abandoned
	hits   atomic.Int64
}

func newHealthTarget(t testing.TB) *healthTarget {
	h := &healthTarget{}
	h.status.Store(http.StatusOK)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		st := int(h.status.Load())
		if st == 0 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(st)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.port = int32(lis.Addr().(*net.TCPAddr).Port)
	return h
}

// signatures is an SDK HTTP client that records the Authorization and
// X-Amz-Region-Set headers of the requests it sends.
type signatures struct {
	mu              sync.Mutex
	auth, regionSet string
}

func (c *signatures) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.auth, c.regionSet = r.Header.Get("Authorization"), r.Header.Get("X-Amz-Region-Set")
	c.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func (c *signatures) last() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auth, c.regionSet
}

// route53Client is a Route 53 client of the shared moto_server.
func route53Client(motoURL string) *route53.Client {
	return route53.New(route53.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoURL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
}

// createHealthCheck creates, in moto's Route 53, an HTTP health check of
// target's /health and returns its ARN.
func createHealthCheck(t testing.TB, motoURL string, target *healthTarget, threshold int32) string {
	t.Helper()
	out, err := route53Client(motoURL).CreateHealthCheck(ctx(t), &route53.CreateHealthCheckInput{
		CallerReference: aws.String(uuid.NewString()),
		HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"),
			Port: aws.Int32(target.port), ResourcePath: aws.String("/health"), RequestInterval: aws.Int32(10),
			FailureThreshold: aws.Int32(threshold)}})
	if err != nil {
		t.Fatal(err)
	}
	return "arn:aws:route53:::healthcheck/" + aws.ToString(out.HealthCheck.Id)
}

// regionPair is a bus of one name in two regions of one server, each with
// a rule sending every event of source app.ge to its own receiver.
type regionPair struct {
	bus              string
	east, west       *eventbridge.Client
	rcvEast, rcvWest *receiver
	eastArn, westArn string
}

// retrying is s.client with the SDK's retries: CreateEndpoint and
// DeleteEndpoint have AWS's quota of 5 requests per second, which
// Switchyard keeps (package quota), and a test makes more.
func retrying(s *server, account, region string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           region,
		BaseEndpoint:     aws.String("http://" + s.addr),
		Credentials:      credentials.NewStaticCredentialsProvider(account, "secret", ""),
		RetryMaxAttempts: 10,
	})
}

func newRegionPair(t *testing.T, s *server, bus string) *regionPair {
	t.Helper()
	p := &regionPair{bus: bus, east: retrying(s, acct, "us-east-1"), west: retrying(s, acct, "us-west-2"),
		rcvEast: newReceiver(t), rcvWest: newReceiver(t)}
	for _, side := range []struct {
		c   *eventbridge.Client
		rcv *receiver
		arn *string
	}{{p.east, p.rcvEast, &p.eastArn}, {p.west, p.rcvWest, &p.westArn}} {
		out, err := side.c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
		if err != nil {
			t.Fatal(err)
		}
		*side.arn = aws.ToString(out.EventBusArn)
		mustRule(t, side.c, bus, "all", `{"source":["app.ge"]}`, side.rcv.URL)
	}
	return p
}

func (p *regionPair) buses() []types.EndpointEventBus {
	return []types.EndpointEventBus{{EventBusArn: aws.String(p.eastArn)}, {EventBusArn: aws.String(p.westArn)}}
}

// createEndpoint creates an endpoint over the pair in us-east-1 and waits
// for it to be ACTIVE.
func createEndpoint(t *testing.T, p *regionPair, name, healthCheck string, replicate bool) *eventbridge.DescribeEndpointOutput {
	t.Helper()
	in := &eventbridge.CreateEndpointInput{Name: aws.String(name), EventBuses: p.buses(),
		RoutingConfig: &types.RoutingConfig{FailoverConfig: &types.FailoverConfig{
			Primary: &types.Primary{HealthCheck: aws.String(healthCheck)}, Secondary: &types.Secondary{Route: aws.String("us-west-2")}}},
		ReplicationConfig: &types.ReplicationConfig{State: types.ReplicationStateDisabled}}
	if replicate {
		in.ReplicationConfig.State = types.ReplicationStateEnabled
		in.RoleArn = aws.String("arn:aws:iam::" + acct + ":role/replication")
	}
	out, err := p.east.CreateEndpoint(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.State != types.EndpointStateCreating || aws.ToString(out.Arn) != "arn:aws:events:us-east-1:"+acct+":endpoint/"+name {
		t.Fatalf("CreateEndpoint: %s %s", out.State, aws.ToString(out.Arn))
	}
	return waitEndpointState(t, p.east, name, types.EndpointStateActive)
}

func waitEndpointState(t testing.TB, c *eventbridge.Client, name string, want types.EndpointState) *eventbridge.DescribeEndpointOutput {
	t.Helper()
	var d *eventbridge.DescribeEndpointOutput
	eventually(t, "endpoint "+name+" "+string(want), func() bool {
		var err error
		d, err = c.DescribeEndpoint(ctx(t), &eventbridge.DescribeEndpointInput{Name: aws.String(name)})
		return err == nil && d.State == want
	})
	return d
}

// putThrough sends one event through the endpoint, as the SDK does with an
// EndpointId: SigV4a for every region, to the client's endpoint URL.
func putThrough(t *testing.T, c *eventbridge.Client, endpointID, bus, detail string) string {
	t.Helper()
	out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{EndpointId: aws.String(endpointID), Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(detail), EventBusName: aws.String(bus),
		Resources: []string{"arn:aws:s3:::orders"}}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents through %s: %v %+v", endpointID, err, out)
	}
	return aws.ToString(out.Entries[0].EventId)
}

// endpointHealthy reads switchyard_endpoint_healthy{endpoint=name}.
func endpointHealthy(t *testing.T, s *server, name string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^switchyard_endpoint_healthy\{endpoint="` + regexp.QuoteMeta(name) + `"\} (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	return map[string]float64{"1": 1, "0": 0}[string(m[1])], true
}

func waitHealthy(t *testing.T, s *server, name string, want bool) {
	t.Helper()
	v := 0.0
	if want {
		v = 1
	}
	eventually(t, "endpoint "+name+" healthy="+map[bool]string{true: "1", false: "0"}[want], func() bool {
		got, ok := endpointHealthy(t, s, name)
		return ok && got == v
	})
}

func geEvent(t *testing.T, body []byte) event {
	t.Helper()
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("not an event: %s", body)
	}
	return ev
}

// expectOnly waits for the n-th body of want and checks that other has
// none beyond its first seen: an event went to one region only.
func expectOnly(t *testing.T, want, other *receiver, n, otherHas int, id, region string) {
	t.Helper()
	got := want.waitFor(t, n, 15*time.Second)
	ev := geEvent(t, got[n-1])
	if ev.ID != id || ev.Region != region {
		t.Fatalf("got %s, want event %s in %s", got[n-1], id, region)
	}
	time.Sleep(300 * time.Millisecond)
	if extra := len(other.received()); extra != otherHas {
		t.Fatalf("the other region received %d events, want %d", extra, otherHas)
	}
}

// TestGlobalEndpointFailover: a global endpoint over a bus in us-east-1
// and us-west-2, whose Route 53 health check (in moto) points at a real
// local HTTP server, routes PutEvents with its EndpointId (sent by the
// SDK, signed SigV4a) to the primary while the server answers 200; after
// FailureThreshold failed observations (a 503, then a server that hangs
// past Route 53's timeout) to the secondary; and back once it is healthy
// again. switchyard_endpoint_healthy follows.
func TestGlobalEndpointFailover(t *testing.T) {
	m := startMoto(t)
	target := newHealthTarget(t)
	hc := createHealthCheck(t, m, target, 2)
	s := startServer(t, "--aws-endpoint", "route53="+m, "--health-check-interval", "300ms")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	p := newRegionPair(t, s, "orders-failover")
	d := createEndpoint(t, p, "orders-fo", hc, false)
	id := aws.ToString(d.EndpointId)
	if !regexp.MustCompile(`^[a-z0-9]{10}\.[a-z0-9]{3}$`).MatchString(id) || aws.ToString(d.EndpointUrl) != "https://"+id+".endpoint.events.amazonaws.com" {
		t.Fatalf("EndpointId %q, EndpointUrl %q", id, aws.ToString(d.EndpointUrl))
	}
	waitHealthy(t, s, "orders-fo", true)
	if target.hits.Load() == 0 {
		t.Fatal("the health target was never requested")
	}

	// Healthy: the primary. The entry may name the bus by its ARN. The
	// SDK signs PutEvents with an EndpointId with SigV4a for every region
	// and sends it to the client's endpoint URL, Switchyard's.
	seen := &signatures{}
	signed := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + s.addr),
		Credentials: credentials.NewStaticCredentialsProvider(acct, "secret", ""), RetryMaxAttempts: 1, HTTPClient: seen})
	e1 := putThrough(t, signed, id, p.bus, `{"n":1}`)
	if auth, set := seen.last(); !strings.HasPrefix(auth, "AWS4-ECDSA-P256-SHA256 Credential="+acct+"/") ||
		!strings.Contains(auth, "/events/aws4_request") || set != "*" {
		t.Errorf("PutEvents with EndpointId signed %q, X-Amz-Region-Set %q; want SigV4a for *", auth, set)
	}
	expectOnly(t, p.rcvEast, p.rcvWest, 1, 0, e1, "us-east-1")
	e2 := putThrough(t, p.west, id, p.eastArn, `{"n":2}`) // a client of the other region: the endpoint decides
	expectOnly(t, p.rcvEast, p.rcvWest, 2, 0, e2, "us-east-1")

	// Unhealthy: the secondary.
	target.status.Store(http.StatusServiceUnavailable)
	waitHealthy(t, s, "orders-fo", false)
	e3 := putThrough(t, p.east, id, p.bus, `{"n":3}`)
	expectOnly(t, p.rcvWest, p.rcvEast, 1, 2, e3, "us-west-2")

	// Healthy again: back to the primary.
	target.status.Store(http.StatusOK)
	waitHealthy(t, s, "orders-fo", true)
	e4 := putThrough(t, p.east, id, p.bus, `{"n":4}`)
	expectOnly(t, p.rcvEast, p.rcvWest, 3, 1, e4, "us-east-1")

	// A target that hangs fails each observation within Route 53's bound.
	target.status.Store(0)
	waitHealthy(t, s, "orders-fo", false)
	e5 := putThrough(t, p.east, id, p.bus, `{"n":5}`)
	expectOnly(t, p.rcvWest, p.rcvEast, 2, 3, e5, "us-west-2")
	target.status.Store(http.StatusOK)
	waitHealthy(t, s, "orders-fo", true)
}

// TestGlobalEndpointReplication: with replication ENABLED, every event
// accepted through the endpoint reaches the bus of both regions: in the
// region it was routed to as sent, and in the other as AWS's replicated
// event payload — "region" the region it was replicated from, the
// endpoint's ARN added to "resources", an id of its own. While the primary
// is unhealthy the secondary accepts the events and replicates them to the
// primary. An event sent to the bus directly (without EndpointId) is not
// replicated.
func TestGlobalEndpointReplication(t *testing.T) {
	m := startMoto(t)
	target := newHealthTarget(t)
	hc := createHealthCheck(t, m, target, 1)
	s := startServer(t, "--aws-endpoint", "route53="+m, "--health-check-interval", "300ms")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	p := newRegionPair(t, s, "orders-replicated")
	d := createEndpoint(t, p, "orders-rep", hc, true)
	id, arn := aws.ToString(d.EndpointId), aws.ToString(d.Arn)
	if d.ReplicationConfig == nil || d.ReplicationConfig.State != types.ReplicationStateEnabled || aws.ToString(d.RoleArn) == "" {
		t.Fatalf("replication: %+v %v", d.ReplicationConfig, aws.ToString(d.RoleArn))
	}

	check := func(orig, copied []byte, id, region string) {
		t.Helper()
		o, c := geEvent(t, orig), geEvent(t, copied)
		if o.ID != id || o.Region != region || !slices.Equal(o.Resources, []string{"arn:aws:s3:::orders"}) {
			t.Errorf("original %s: want id %s, region %s, the resources sent", orig, id, region)
		}
		if c.ID == id || c.ID == "" || c.Region != region || !slices.Equal(c.Resources, []string{"arn:aws:s3:::orders", arn}) ||
			string(c.Detail) != string(o.Detail) || c.Time != o.Time || c.Account != acct {
			t.Errorf("replicated %s: want a new id, region %s, resources + %s, the same detail and time", copied, region, arn)
		}
	}
	e1 := putThrough(t, p.east, id, p.bus, `{"n":1}`)
	check(p.rcvEast.waitFor(t, 1, 15*time.Second)[0], p.rcvWest.waitFor(t, 1, 15*time.Second)[0], e1, "us-east-1")

	target.status.Store(http.StatusInternalServerError)
	waitHealthy(t, s, "orders-rep", false)
	e2 := putThrough(t, p.east, id, p.bus, `{"n":2}`)
	check(p.rcvWest.waitFor(t, 2, 15*time.Second)[1], p.rcvEast.waitFor(t, 2, 15*time.Second)[1], e2, "us-west-2")

	// Not through the endpoint: not replicated.
	if _, err := p.east.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{"n":3}`), EventBusName: aws.String(p.bus)}}}); err != nil {
		t.Fatal(err)
	}
	p.rcvEast.waitFor(t, 3, 15*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := len(p.rcvWest.received()); n != 2 {
		t.Errorf("us-west-2 received %d events, want 2", n)
	}
	if got := metricSum(t, s, "switchyard_endpoint_replicated_events_total", ""); got != 2 {
		t.Errorf("switchyard_endpoint_replicated_events_total = %v, want 2", got)
	}
}

func errorOf(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// TestGlobalEndpointAPI: the operations' round trips (Create, Describe,
// with HomeRegion from the secondary region, List with prefix and
// pagination, Update, Delete through DELETING), and every refusal with
// AWS's exception and message: the model's constraints, the rules between
// the members, a name taken, an unknown endpoint, an unknown EndpointId,
// a health check Route 53 does not have (CREATE_FAILED).
func TestGlobalEndpointAPI(t *testing.T) {
	m := startMoto(t)
	target := newHealthTarget(t)
	hc := createHealthCheck(t, m, target, 3)
	hc2 := createHealthCheck(t, m, target, 3)
	s := startServer(t, "--aws-endpoint", "route53="+m, "--health-check-interval", "300ms")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	p := newRegionPair(t, s, "orders-api")
	cx := ctx(t)
	routing := func(hc, route string) *types.RoutingConfig {
		return &types.RoutingConfig{FailoverConfig: &types.FailoverConfig{
			Primary: &types.Primary{HealthCheck: aws.String(hc)}, Secondary: &types.Secondary{Route: aws.String(route)}}}
	}
	role := aws.String("arn:aws:iam::" + acct + ":role/replication")
	otherName := strings.Replace(p.westArn, "orders-api", "billing", 1)
	bogusHC := "arn:aws:route53:::healthcheck/" + uuid.NewString()

	for _, c := range []struct {
		name    string
		in      eventbridge.CreateEndpointInput
		code    string
		message string
	}{
		{"bad name", eventbridge.CreateEndpointInput{Name: aws.String("no spaces"), EventBuses: p.buses(), RoutingConfig: routing(hc, "us-west-2"), RoleArn: role},
			"ValidationException", "1 validation error detected: Value 'no spaces' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"},
		{"one bus", eventbridge.CreateEndpointInput{Name: aws.String("x"), EventBuses: p.buses()[:1], RoutingConfig: routing(hc, "us-west-2"), RoleArn: role},
			"ValidationException", "at 'eventBuses' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"health check not an ARN", eventbridge.CreateEndpointInput{Name: aws.String("x"), EventBuses: p.buses(), RoutingConfig: routing("hc-1", "us-west-2"), RoleArn: role},
			"ValidationException", "Value 'hc-1' at 'routingConfig.failoverConfig.primary.healthCheck' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\\-)*:route53:::healthcheck/[\\-a-z0-9]+$"},
		{"route too short", eventbridge.CreateEndpointInput{Name: aws.String("x"), EventBuses: p.buses(), RoutingConfig: routing(hc, "west"), RoleArn: role},
			"ValidationException", "Value 'west' at 'routingConfig.failoverConfig.secondary.route' failed to satisfy constraint: Member must have length greater than or equal to 9"},
		{"bad role", eventbridge.CreateEndpointInput{Name: aws.String("x"), EventBuses: p.buses(), RoutingConfig: routing(hc, "us-west-2"), RoleArn: aws.String("replication")},
			"ValidationException", "Value 'replication' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"no role", eventbridge.CreateEndpointInput{Name: aws.String("x"), EventBuses: p.buses(), RoutingConfig: routing(hc, "us-west-2")},
			"ValidationException", "Parameter RoleArn is not valid. Reason: RoleArn is required when ReplicationConfig.State is ENABLED."},
		{"secondary is primary", eventbridge.CreateEndpointInput{Name: aws.String("x"), EventBuses: p.buses(), RoutingConfig: routing(hc, "us-east-1"), RoleArn: role},
			"ValidationException", "The secondary Region must be different from the primary Region us-east-1."},
		{"names differ", eventbridge.CreateEndpointInput{Name: aws.String("x"), RoutingConfig: routing(hc, "us-west-2"), RoleArn: role,
			EventBuses: []types.EndpointEventBus{{EventBusArn: aws.String(p.eastArn)}, {EventBusArn: aws.String(otherName)}}},
			"ValidationException", "Parameter EventBuses is not valid. Reason: The event buses must have the same name in both Regions."},
		{"bus outside the regions", eventbridge.CreateEndpointInput{Name: aws.String("x"), RoutingConfig: routing(hc, "eu-west-1"), RoleArn: role, EventBuses: p.buses()},
			"ValidationException", "One event bus must be in the primary Region us-east-1 and the other in the secondary Region eu-west-1."},
	} {
		in := c.in
		_, err := p.east.CreateEndpoint(cx, &in)
		code, msg := errorOf(t, err)
		if code != c.code || !strings.Contains(msg, c.message) {
			t.Errorf("%s: %s %q, want %s %q", c.name, code, msg, c.code, c.message)
		}
	}

	d := createEndpoint(t, p, "api-a", hc, true)
	if aws.ToString(d.Description) != "" || d.CreationTime == nil || d.LastModifiedTime == nil || len(d.EventBuses) != 2 ||
		aws.ToString(d.RoutingConfig.FailoverConfig.Primary.HealthCheck) != hc || aws.ToString(d.RoutingConfig.FailoverConfig.Secondary.Route) != "us-west-2" {
		t.Fatalf("DescribeEndpoint: %+v", d)
	}
	if _, err := p.east.CreateEndpoint(cx, &eventbridge.CreateEndpointInput{Name: aws.String("api-a"), EventBuses: p.buses(),
		RoutingConfig: routing(hc, "us-west-2"), RoleArn: role}); err == nil {
		t.Fatal("created twice")
	} else if code, msg := errorOf(t, err); code != "ResourceAlreadyExistsException" || msg != "Endpoint api-a already exists." {
		t.Errorf("twice: %s %q", code, msg)
	}
	createEndpoint(t, p, "api-b", hc, false)
	createEndpoint(t, p, "other", hc, false)

	// From the secondary region, with HomeRegion.
	if _, err := p.west.DescribeEndpoint(cx, &eventbridge.DescribeEndpointInput{Name: aws.String("api-a")}); err == nil {
		t.Error("found in us-west-2 without HomeRegion")
	} else if code, msg := errorOf(t, err); code != "ResourceNotFoundException" || msg != "Endpoint api-a does not exist." {
		t.Errorf("not found: %s %q", code, msg)
	}
	if got, err := p.west.DescribeEndpoint(cx, &eventbridge.DescribeEndpointInput{Name: aws.String("api-a"), HomeRegion: aws.String("us-east-1")}); err != nil ||
		aws.ToString(got.EndpointId) != aws.ToString(d.EndpointId) {
		t.Errorf("with HomeRegion: %v %v", got, err)
	}
	page1, err := p.east.ListEndpoints(cx, &eventbridge.ListEndpointsInput{NamePrefix: aws.String("api-"), MaxResults: aws.Int32(1)})
	if err != nil || len(page1.Endpoints) != 1 || aws.ToString(page1.Endpoints[0].Name) != "api-a" || page1.NextToken == nil ||
		aws.ToString(page1.Endpoints[0].EndpointUrl) == "" || page1.Endpoints[0].State != types.EndpointStateActive {
		t.Fatalf("ListEndpoints: %+v %v", page1, err)
	}
	page2, err := p.east.ListEndpoints(cx, &eventbridge.ListEndpointsInput{NamePrefix: aws.String("api-"), MaxResults: aws.Int32(1), NextToken: page1.NextToken})
	if err != nil || len(page2.Endpoints) != 1 || aws.ToString(page2.Endpoints[0].Name) != "api-b" || page2.NextToken != nil {
		t.Fatalf("ListEndpoints page 2: %+v %v", page2, err)
	}
	if all, err := p.west.ListEndpoints(cx, &eventbridge.ListEndpointsInput{HomeRegion: aws.String("us-east-1")}); err != nil || len(all.Endpoints) != 3 {
		t.Errorf("ListEndpoints with HomeRegion: %v %v", all, err)
	}
	if none, err := p.west.ListEndpoints(cx, &eventbridge.ListEndpointsInput{}); err != nil || len(none.Endpoints) != 0 || none.Endpoints == nil {
		t.Errorf("ListEndpoints in us-west-2: %v %v", none, err)
	}

	// Update: the description, the health check, replication off; the
	// rest is kept.
	up, err := p.east.UpdateEndpoint(cx, &eventbridge.UpdateEndpointInput{Name: aws.String("api-a"), Description: aws.String("failover for orders"),
		RoutingConfig: routing(hc2, "us-west-2"), ReplicationConfig: &types.ReplicationConfig{State: types.ReplicationStateDisabled}})
	if err != nil || up.State != types.EndpointStateUpdating || aws.ToString(up.EndpointId) != aws.ToString(d.EndpointId) {
		t.Fatalf("UpdateEndpoint: %+v %v", up, err)
	}
	if _, err := p.east.UpdateEndpoint(cx, &eventbridge.UpdateEndpointInput{Name: aws.String("api-a"), Description: aws.String("again")}); err != nil {
		if code, _ := errorOf(t, err); code != "ConcurrentModificationException" {
			t.Errorf("update while UPDATING: %v", err)
		}
	}
	after := waitEndpointState(t, p.east, "api-a", types.EndpointStateActive)
	if aws.ToString(after.Description) != "failover for orders" || aws.ToString(after.RoutingConfig.FailoverConfig.Primary.HealthCheck) != hc2 ||
		after.ReplicationConfig.State != types.ReplicationStateDisabled || aws.ToString(after.RoleArn) == "" || len(after.EventBuses) != 2 ||
		!after.LastModifiedTime.After(*d.CreationTime) && !after.LastModifiedTime.Equal(*d.CreationTime) {
		t.Errorf("after update: %+v", after)
	}
	if _, err := p.east.UpdateEndpoint(cx, &eventbridge.UpdateEndpointInput{Name: aws.String("nope")}); err == nil {
		t.Error("updated a missing endpoint")
	} else if code, msg := errorOf(t, err); code != "ResourceNotFoundException" || msg != "Endpoint nope does not exist." {
		t.Errorf("update missing: %s %q", code, msg)
	}

	// A health check Route 53 does not have: CREATE_FAILED, with a reason.
	if _, err := p.east.CreateEndpoint(cx, &eventbridge.CreateEndpointInput{Name: aws.String("bogus"), EventBuses: p.buses(),
		RoutingConfig: routing(bogusHC, "us-west-2"), ReplicationConfig: &types.ReplicationConfig{State: types.ReplicationStateDisabled}}); err != nil {
		t.Fatal(err)
	}
	failed := waitEndpointState(t, p.east, "bogus", types.EndpointStateCreateFailed)
	if !strings.Contains(aws.ToString(failed.StateReason), "does not exist") {
		t.Errorf("StateReason %q", aws.ToString(failed.StateReason))
	}

	// An EndpointId that names no endpoint.
	_, err = p.east.PutEvents(cx, &eventbridge.PutEventsInput{EndpointId: aws.String("abcdefghij.xyz"), Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.ge"), DetailType: aws.String("GE"), Detail: aws.String(`{}`), EventBusName: aws.String(p.bus)}}})
	if code, msg := errorOf(t, err); code != "ResourceNotFoundException" || msg != "Endpoint abcdefghij.xyz does not exist." {
		t.Errorf("unknown EndpointId: %s %q", code, msg)
	}

	// Delete: DELETING, then gone; PutEvents through it is refused at once.
	if _, err := p.east.DeleteEndpoint(cx, &eventbridge.DeleteEndpointInput{Name: aws.String("api-b")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "api-b to be deleted", func() bool {
		_, err := p.east.DescribeEndpoint(cx, &eventbridge.DescribeEndpointInput{Name: aws.String("api-b")})
		var nf *types.ResourceNotFoundException
		return errors.As(err, &nf)
	})
	if _, err := p.east.DeleteEndpoint(cx, &eventbridge.DeleteEndpointInput{Name: aws.String("api-b")}); err == nil {
		t.Error("deleted twice")
	} else if code, msg := errorOf(t, err); code != "ResourceNotFoundException" || msg != "Endpoint api-b does not exist." {
		t.Errorf("delete again: %s %q", code, msg)
	}
	if _, ok := endpointHealthy(t, s, "api-b"); ok {
		eventually(t, "api-b's metric to go", func() bool { _, ok := endpointHealthy(t, s, "api-b"); return !ok })
	}
}

// TestGlobalEndpointRoute53Down: with Route 53 unreachable, a new endpoint
// stays CREATING (its health check cannot be read), the reason is logged,
// and PutEvents through it goes to the primary — a health check without
// data is healthy, as in Route 53; once Route 53 answers (here: never) it
// would settle. The health target is not requested, having no
// configuration to request it by.
func TestGlobalEndpointRoute53Down(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + closed.Addr().String()
	closed.Close()
	s := startServerEnv(t, []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"},
		"--aws-endpoint", "route53="+down, "--health-check-interval", "200ms")
	p := newRegionPair(t, s, "orders-r53down")
	out, err := p.east.CreateEndpoint(ctx(t), &eventbridge.CreateEndpointInput{Name: aws.String("r53-down"), EventBuses: p.buses(),
		RoutingConfig: &types.RoutingConfig{FailoverConfig: &types.FailoverConfig{
			Primary:   &types.Primary{HealthCheck: aws.String("arn:aws:route53:::healthcheck/" + uuid.NewString())},
			Secondary: &types.Secondary{Route: aws.String("us-west-2")}}},
		ReplicationConfig: &types.ReplicationConfig{State: types.ReplicationStateDisabled}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Route 53 failure in the log", func() bool {
		return strings.Contains(s.logs(), "cannot read the health check from Route 53")
	})
	d, err := p.east.DescribeEndpoint(ctx(t), &eventbridge.DescribeEndpointInput{Name: out.Name})
	if err != nil || d.State != types.EndpointStateCreating {
		t.Fatalf("state %v %v", d, err)
	}
	e1 := putThrough(t, p.east, aws.ToString(d.EndpointId), p.bus, `{"n":1}`)
	expectOnly(t, p.rcvEast, p.rcvWest, 1, 0, e1, "us-east-1")
	if got, ok := endpointHealthy(t, s, "r53-down"); !ok || got != 1 {
		t.Errorf("switchyard_endpoint_healthy = %v %v, want 1", got, ok)
	}
}

// TestGlobalEndpointHealthAcrossProcesses: two processes on one NATS
// server agree on the health of an endpoint (one polls, both route by it),
// and when one process is killed the other goes on: it takes the health
// check over once the dead one's lease lapses.
func TestGlobalEndpointHealthAcrossProcesses(t *testing.T) {
	m := startMoto(t)
	target := newHealthTarget(t)
	hc := createHealthCheck(t, m, target, 1)
	url, key := natsServer(t), newKeyFile(t, "secrets.key")
	a := startServer(t, "--nats-url", url, "--secrets-key-file", key, "--aws-endpoint", "route53="+m, "--health-check-interval", "300ms")
	b := startServer(t, "--nats-url", url, "--secrets-key-file", key, "--aws-endpoint", "route53="+m, "--health-check-interval", "300ms")
	p := newRegionPair(t, a, "orders-cluster")
	d := createEndpoint(t, p, "cluster-ep", hc, false)
	id := aws.ToString(d.EndpointId)
	bEast := b.client(acct, "us-east-1")

	target.status.Store(http.StatusServiceUnavailable)
	waitHealthy(t, a, "cluster-ep", false)
	waitHealthy(t, b, "cluster-ep", false)
	e1 := putThrough(t, bEast, id, p.bus, `{"n":1}`)
	expectOnly(t, p.rcvWest, p.rcvEast, 1, 0, e1, "us-west-2")

	// Kill the process that polls: the other takes the health check over
	// once the lease lapses (15 s), and sees the recovery.
	const polls = "this process polls the health check"
	poller, other := a, b
	if !strings.Contains(a.logs(), polls) {
		poller, other = b, a
	}
	if strings.Contains(other.logs(), polls) {
		t.Fatal("both processes poll the health check")
	}
	poller.kill9()
	if poller == b {
		// a is left: route through it from now.
		bEast = retrying(a, acct, "us-east-1")
		b = a
	}
	target.status.Store(http.StatusOK)
	eventually30 := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n%s", what, b.logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	eventually30("the survivor to take the health check over", func() bool { return strings.Contains(b.logs(), polls) })
	eventually30("the survivor to see the primary healthy", func() bool { v, ok := endpointHealthy(t, b, "cluster-ep"); return ok && v == 1 })
	e2 := putThrough(t, bEast, id, p.bus, `{"n":2}`)
	expectOnly(t, p.rcvEast, p.rcvWest, 1, 1, e2, "us-east-1")
}
