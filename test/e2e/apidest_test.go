package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Secrets given to connections; none may ever come back from the API, or
// reach the data directory or the log in plaintext.
const (
	basicPassword = "pw-s3cr3t-basic"
	apiKeyValue   = "key-s3cr3t-api"
	clientSecret  = "cs-s3cr3t-oauth"
	headerSecret  = "hdr-s3cr3t-conn"
)

var allSecrets = []string{basicPassword, apiKeyValue, clientSecret, headerSecret}

// hit is one request an HTTP receiver got.
type hit struct {
	at     time.Time
	method string
	path   string
	query  map[string][]string
	header http.Header
	body   []byte
}

// httpPeer is a real HTTP server on loopback; answer decides each status.
type httpPeer struct {
	URL    string
	mu     sync.Mutex
	hits   []hit
	answer func(r *http.Request) int
}

func newHTTPPeer(t *testing.T, answer func(r *http.Request) int) *httpPeer {
	p := &httpPeer{answer: answer}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status := http.StatusOK
		if p.answer != nil {
			status = p.answer(r)
		}
		p.mu.Lock()
		p.hits = append(p.hits, hit{time.Now(), r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
		p.mu.Unlock()
		w.WriteHeader(status)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = "http://" + lis.Addr().String()
	return p
}

// wait returns the hits accepted by keep once there are n of them.
func (p *httpPeer) wait(t *testing.T, n int, within time.Duration, keep func(hit) bool) []hit {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		var got []hit
		for _, h := range p.hits {
			if keep(h) {
				got = append(got, h)
			}
		}
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d matching requests, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oauthServer is a real OAuth2 client-credentials token endpoint.
type oauthServer struct {
	*httpPeer
	mu     sync.Mutex
	issued int
}

func newOAuthServer(t *testing.T) *oauthServer {
	o := &oauthServer{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Method != http.MethodPost || r.Form.Get("grant_type") != "client_credentials" ||
			r.Form.Get("client_id") != "switchyard-client" || r.Form.Get("client_secret") != clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		o.mu.Lock()
		o.issued++
		n := o.issued
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, n)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	o.httpPeer = &httpPeer{URL: "http://" + lis.Addr().String() + "/oauth2/token"}
	return o
}

func (o *oauthServer) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.issued
}

func connParams() *types.ConnectionHttpParameters {
	return &types.ConnectionHttpParameters{
		HeaderParameters: []types.ConnectionHeaderParameter{
			{Key: aws.String("X-Source"), Value: aws.String("connection")},
			{Key: aws.String("X-Conn-Secret"), Value: aws.String(headerSecret), IsValueSecret: true},
		},
		QueryStringParameters: []types.ConnectionQueryStringParameter{{Key: aws.String("src"), Value: aws.String("connection")}},
	}
}

// TestAPIDestinations: connections of every authorization type, API
// destinations on them and a rule targeting them with HttpParameters; the
// real HTTP receiver gets AWS's request, the OAuth token is obtained once
// and again after the destination refuses it, and no secret ever leaves.
func TestAPIDestinations(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "eu-central-1")
	cx := ctx(t)
	tokens := newOAuthServer(t)
	revoked := map[string]bool{}
	var revokedMu sync.Mutex
	rcv := newHTTPPeer(t, func(r *http.Request) int {
		revokedMu.Lock()
		defer revokedMu.Unlock()
		if revoked[r.Header.Get("Authorization")] {
			return http.StatusUnauthorized
		}
		return http.StatusOK
	})

	basic, err := c.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String("basic-conn"),
		Description:       aws.String("plain-description-marker"),
		AuthorizationType: types.ConnectionAuthorizationTypeBasic,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			BasicAuthParameters:      &types.CreateConnectionBasicAuthRequestParameters{Username: aws.String("alice"), Password: aws.String(basicPassword)},
			InvocationHttpParameters: connParams()}})
	if err != nil {
		t.Fatal(err)
	}
	if basic.ConnectionState != types.ConnectionStateAuthorized || !strings.HasPrefix(aws.ToString(basic.ConnectionArn), "arn:aws:events:eu-central-1:"+acct+":connection/basic-conn/") {
		t.Errorf("CreateConnection BASIC: %s %s", basic.ConnectionState, aws.ToString(basic.ConnectionArn))
	}
	key, err := c.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String("key-conn"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters:     &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String(apiKeyValue)},
			InvocationHttpParameters: connParams()}})
	if err != nil {
		t.Fatal(err)
	}
	oauth, err := c.CreateConnection(cx, &eventbridge.CreateConnectionInput{Name: aws.String("oauth-conn"),
		AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			OAuthParameters: &types.CreateConnectionOAuthRequestParameters{
				AuthorizationEndpoint: aws.String(tokens.URL), HttpMethod: types.ConnectionOAuthHttpMethodPost,
				ClientParameters: &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("switchyard-client"), ClientSecret: aws.String(clientSecret)}},
			InvocationHttpParameters: connParams()}})
	if err != nil {
		t.Fatal(err)
	}
	if oauth.ConnectionState != types.ConnectionStateAuthorizing {
		t.Errorf("new OAuth connection is %s, want AUTHORIZING", oauth.ConnectionState)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := c.DescribeConnection(cx, &eventbridge.DescribeConnectionInput{Name: aws.String("oauth-conn")})
		if err != nil {
			t.Fatal(err)
		}
		if d.ConnectionState == types.ConnectionStateAuthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("OAuth connection still %s (%s)", d.ConnectionState, aws.ToString(d.StateReason))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Describe* never shows a secret, but shows the rest.
	for _, name := range []string{"basic-conn", "key-conn", "oauth-conn"} {
		d, err := c.DescribeConnection(cx, &eventbridge.DescribeConnectionInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(d)
		for _, secret := range allSecrets {
			if strings.Contains(string(out), secret) {
				t.Errorf("DescribeConnection %s shows a secret: %s", name, out)
			}
		}
		if !strings.Contains(aws.ToString(d.SecretArn), ":secretsmanager:eu-central-1:"+acct+":secret:events!connection/"+name+"/") {
			t.Errorf("SecretArn %s", aws.ToString(d.SecretArn))
		}
		if hp := d.AuthParameters.InvocationHttpParameters; hp == nil || len(hp.HeaderParameters) != 2 ||
			aws.ToString(hp.HeaderParameters[0].Value) != "connection" || hp.HeaderParameters[1].Value != nil || !hp.HeaderParameters[1].IsValueSecret {
			t.Errorf("%s InvocationHttpParameters: %s", name, out)
		}
	}
	d, _ := c.DescribeConnection(cx, &eventbridge.DescribeConnectionInput{Name: aws.String("basic-conn")})
	if d.AuthParameters.BasicAuthParameters == nil || aws.ToString(d.AuthParameters.BasicAuthParameters.Username) != "alice" {
		t.Errorf("basic parameters: %+v", d.AuthParameters.BasicAuthParameters)
	}
	lc, err := c.ListConnections(cx, &eventbridge.ListConnectionsInput{ConnectionState: types.ConnectionStateAuthorized})
	if err != nil || len(lc.Connections) != 3 {
		t.Fatalf("ListConnections: %v %+v", err, lc)
	}

	// One destination per connection, a rule with the three as targets.
	var targets []types.Target
	for i, conn := range []*string{basic.ConnectionArn, key.ConnectionArn, oauth.ConnectionArn} {
		method := types.ApiDestinationHttpMethodPost
		if i == 0 {
			method = types.ApiDestinationHttpMethodPut
		}
		dest, err := c.CreateApiDestination(cx, &eventbridge.CreateApiDestinationInput{Name: aws.String(fmt.Sprintf("dest-%d", i)),
			ConnectionArn: conn, InvocationEndpoint: aws.String(rcv.URL + fmt.Sprintf("/d%d/orders/*/items", i)), HttpMethod: method})
		if err != nil {
			t.Fatal(err)
		}
		if dest.ApiDestinationState != types.ApiDestinationStateActive {
			t.Errorf("destination %d is %s", i, dest.ApiDestinationState)
		}
		targets = append(targets, types.Target{Id: aws.String(fmt.Sprintf("t%d", i)), Arn: dest.ApiDestinationArn,
			HttpParameters: &types.HttpParameters{PathParameterValues: []string{"o-1"},
				HeaderParameters:      map[string]string{"X-Source": "target", "X-Target": "yes"},
				QueryStringParameters: map[string]string{"src": "target", "t": "1"}}})
	}
	dd, err := c.DescribeApiDestination(cx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("dest-0")})
	if err != nil || aws.ToInt32(dd.InvocationRateLimitPerSecond) != 300 || dd.HttpMethod != types.ApiDestinationHttpMethodPut {
		t.Errorf("DescribeApiDestination: %v %+v", err, dd)
	}
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("orders"), EventPattern: aws.String(`{"source":["app.orders"]}`)}); err != nil {
		t.Fatal(err)
	}
	if pt, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("orders"), Targets: targets}); err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, pt)
	}

	put := func(source string) string {
		out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String(source), DetailType: aws.String("OrderCreated"), Detail: aws.String(`{"id":"o-1"}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		return aws.ToString(out.Entries[0].EventId)
	}
	id := put("app.orders")
	ofEvent := func(id string) func(hit) bool {
		return func(h hit) bool { return strings.Contains(string(h.body), id) }
	}
	hits := rcv.wait(t, 3, 15*time.Second, ofEvent(id))
	byPath := map[string]hit{}
	for _, h := range hits {
		byPath[h.path] = h
	}
	for i, wantAuth := range []func(http.Header) bool{
		func(h http.Header) bool {
			r := &http.Request{Header: h}
			u, p, ok := r.BasicAuth()
			return ok && u == "alice" && p == basicPassword
		},
		func(h http.Header) bool { return h.Get("x-api-key") == apiKeyValue && h.Get("Authorization") == "" },
		func(h http.Header) bool { return h.Get("Authorization") == "Bearer tok-1" },
	} {
		h, ok := byPath[fmt.Sprintf("/d%d/orders/o-1/items", i)]
		if !ok {
			t.Errorf("destination %d: no request at its path; got %v", i, byPath)
			continue
		}
		wantMethod := "POST"
		if i == 0 {
			wantMethod = "PUT"
		}
		if h.method != wantMethod {
			t.Errorf("destination %d: method %s, want %s", i, h.method, wantMethod)
		}
		if !wantAuth(h.header) {
			t.Errorf("destination %d: authorization headers %v", i, h.header)
		}
		// The connection's values win over the target's.
		if h.header.Get("X-Source") != "connection" || h.header.Get("X-Target") != "yes" || h.header.Get("X-Conn-Secret") != headerSecret {
			t.Errorf("destination %d: headers %v", i, h.header)
		}
		if q := h.query; len(q["src"]) != 1 || q["src"][0] != "connection" || q["t"][0] != "1" {
			t.Errorf("destination %d: query %v", i, q)
		}
		if h.header.Get("User-Agent") != "Amazon/EventBridge/ApiDestinations" || h.header.Get("Content-Type") != "application/json; charset=utf-8" ||
			h.header.Get("Range") != "bytes=0-1048575" {
			t.Errorf("destination %d: EventBridge headers %v", i, h.header)
		}
		var ev event
		if err := json.Unmarshal(h.body, &ev); err != nil || ev.ID != id || ev.Source != "app.orders" || string(ev.Detail) != `{"id":"o-1"}` {
			t.Errorf("destination %d: body %s", i, h.body)
		}
	}
	if n := tokens.count(); n != 1 {
		t.Errorf("%d tokens obtained, want 1", n)
	}

	// The destination stops accepting the token: a new one is obtained and
	// the event delivered with it.
	revokedMu.Lock()
	revoked["Bearer tok-1"] = true
	revokedMu.Unlock()
	id2 := put("app.orders")
	got := rcv.wait(t, 1, 15*time.Second, func(h hit) bool {
		return ofEvent(id2)(h) && h.path == "/d2/orders/o-1/items" && h.header.Get("Authorization") == "Bearer tok-2"
	})
	if len(got) != 1 || tokens.count() != 2 {
		t.Errorf("after a 401: %d deliveries with the new token, %d tokens obtained (want 1, 2)", len(got), tokens.count())
	}

	// InvocationRateLimitPerSecond, loosely: 8 events at 2 per second (a
	// burst of 2) take at least 2 seconds to arrive.
	slow, err := c.CreateApiDestination(cx, &eventbridge.CreateApiDestinationInput{Name: aws.String("slow"),
		ConnectionArn: key.ConnectionArn, InvocationEndpoint: aws.String(rcv.URL + "/slow"),
		HttpMethod: types.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("slow"), EventPattern: aws.String(`{"source":["app.slow"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("slow"),
		Targets: []types.Target{{Id: aws.String("slow"), Arn: slow.ApiDestinationArn}}}); err != nil {
		t.Fatal(err)
	}
	var entries []types.PutEventsRequestEntry
	for i := 0; i < 8; i++ {
		entries = append(entries, types.PutEventsRequestEntry{Source: aws.String("app.slow"), DetailType: aws.String("x"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v", err)
	}
	slowHits := rcv.wait(t, 8, 30*time.Second, func(h hit) bool { return h.path == "/slow" })
	if span := slowHits[len(slowHits)-1].at.Sub(slowHits[0].at); span < 2*time.Second {
		t.Errorf("8 events at 2/s arrived within %v", span)
	}

	// Lists, updates and deletes.
	la, err := c.ListApiDestinations(cx, &eventbridge.ListApiDestinationsInput{ConnectionArn: key.ConnectionArn})
	if err != nil || len(la.ApiDestinations) != 2 {
		t.Errorf("ListApiDestinations by connection: %v %+v", err, la)
	}
	if _, err := c.DeauthorizeConnection(cx, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("basic-conn")}); err != nil {
		t.Fatal(err)
	}
	if dd, _ := c.DescribeApiDestination(cx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("dest-0")}); dd.ApiDestinationState != types.ApiDestinationStateInactive {
		t.Errorf("destination of a deauthorized connection is %s", dd.ApiDestinationState)
	}
	if _, err := c.DeleteApiDestination(cx, &eventbridge.DeleteApiDestinationInput{Name: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	if del, err := c.DeleteConnection(cx, &eventbridge.DeleteConnectionInput{Name: aws.String("key-conn")}); err != nil || del.ConnectionState != types.ConnectionStateDeleting {
		t.Errorf("DeleteConnection: %v %+v", err, del)
	}

	// After a graceful stop, neither the data directory (the control
	// bucket's files) nor the log holds a secret in plaintext, while the
	// records' other values are found there: the files are readable.
	s.stop()
	var sawBucket bool
	err = filepath.WalkDir(s.dataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range allSecrets {
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds %q in plaintext", path, secret)
			}
		}
		sawBucket = sawBucket || strings.Contains(string(data), "plain-description-marker")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawBucket {
		t.Error("the control bucket's files were not found in the data directory")
	}
	for _, secret := range allSecrets {
		if strings.Contains(s.logs(), secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
}
