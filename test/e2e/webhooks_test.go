package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Inbound webhooks through a real server: each provider's delivery signed
// exactly as the provider documents signing it (built here, independently
// of package webhook), to POST /webhooks/<name>, becomes an event on the
// bus, routed by a rule to a real HTTP receiver; bad, tampered, stale,
// oversized, slow and repeated deliveries do not.

const hookAccount = "123456789012" // --auth none's default account

func hmacSHA256Hex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func hmacSHA256B64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// delivery is one webhook request as a provider sends it.
type delivery struct {
	hook   string
	header http.Header
	body   string
}

// GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, body).
func githubDelivery(secret, event, id, body string) delivery {
	return delivery{"github", http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {event}, "X-Github-Delivery": {id},
		"X-Hub-Signature-256": {"sha256=" + hmacSHA256Hex(secret, body)}, "User-Agent": {"GitHub-Hookshot/abc"}}, body}
}

// Stripe: Stripe-Signature = "t=<ts>,v1=" + hex HMAC-SHA256(secret, "<ts>.<body>").
func stripeDelivery(secret string, t time.Time, body string) delivery {
	ts := strconv.FormatInt(t.Unix(), 10)
	return delivery{"stripe", http.Header{"Content-Type": {"application/json; charset=utf-8"},
		"Stripe-Signature": {"t=" + ts + ",v1=" + hmacSHA256Hex(secret, ts+"."+body)}}, body}
}

// Slack: X-Slack-Signature = "v0=" + hex HMAC-SHA256(secret, "v0:<ts>:<body>").
func slackDelivery(secret string, t time.Time, body string) delivery {
	ts := strconv.FormatInt(t.Unix(), 10)
	return delivery{"slack", http.Header{"Content-Type": {"application/json"}, "X-Slack-Request-Timestamp": {ts},
		"X-Slack-Signature": {"v0=" + hmacSHA256Hex(secret, "v0:"+ts+":"+body)}}, body}
}

// Shopify: X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(secret, body).
func shopifyDelivery(secret, topic, id, body string) delivery {
	return delivery{"shopify", http.Header{"Content-Type": {"application/json"}, "X-Shopify-Topic": {topic}, "X-Shopify-Webhook-Id": {id},
		"X-Shopify-Shop-Domain": {"shop.myshopify.com"}, "X-Shopify-Hmac-Sha256": {hmacSHA256B64(secret, body)}}, body}
}

// Twilio: X-Twilio-Signature = base64 HMAC-SHA1(token, URL + sorted name+value of each POST parameter).
func twilioDelivery(token, u string, form url.Values, idem string) delivery {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := u
	for _, k := range keys {
		s += k + form.Get(k)
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return delivery{"twilio", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "I-Twilio-Idempotency-Token": {idem},
		"X-Twilio-Signature": {base64.StdEncoding.EncodeToString(m.Sum(nil))}}, form.Encode()}
}

// GitLab: X-Gitlab-Token is the secret token itself.
func gitlabDelivery(token, event, uuid, body string) delivery {
	return delivery{"gitlab", http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Event": {event}, "X-Gitlab-Event-Uuid": {uuid},
		"X-Gitlab-Token": {token}}, body}
}

func (s *server) post(t *testing.T, d delivery) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/webhooks/"+d.hook, strings.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range d.header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func webhooksFile(t *testing.T, twilioURL string, late bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "webhooks.yaml")
	writeWebhooksFile(t, path, twilioURL, late)
	return path
}

// writeWebhooksFile (re)writes the file as a configuration tool would: a
// new file renamed over the old. late adds the webhook "late".
func writeWebhooksFile(t *testing.T, path, twilioURL string, late bool) {
	t.Helper()
	content := fmt.Sprintf(`webhooks:
  - {name: github, provider: github, account: "%[1]s", region: us-east-1, secret: gh-secret}
  - {name: stripe, provider: stripe, account: "%[1]s", region: us-east-1, secret: whsec_test, source: com.example.billing}
  - {name: slack, provider: slack, account: "%[1]s", region: us-east-1, secret: 8f742231b10e8888abcd99yyyzzz85a5}
  - {name: shopify, provider: shopify, account: "%[1]s", region: us-east-1, secret: shpss_x}
  - {name: twilio, provider: twilio, account: "%[1]s", region: us-east-1, secret: twilio-token, url: "%[2]s", detail_type: SMS}
  - {name: gitlab, provider: gitlab, account: "%[1]s", region: us-east-1, secret: gl-token}
  - name: custom
    provider: hmac
    account: "%[1]s"
    region: us-east-1
    secret: k3y
    header: X-Signature
    algorithm: sha512
    encoding: base64
    event_type_header: X-Event
    delivery_id_header: X-Delivery
`, hookAccount, twilioURL)
	if late {
		content += fmt.Sprintf("  - {name: late, provider: gitlab, account: \"%s\", region: us-east-1, secret: late-token}\n", hookAccount)
	}
	if err := os.WriteFile(path+".new", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// routeAll sends every event of the default bus to a new receiver.
func routeAll(t *testing.T, c *eventbridge.Client) *receiver {
	t.Helper()
	recv := newReceiver(t)
	cx := ctx(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("all-webhooks"), EventPattern: aws.String(`{"account":["` + hookAccount + `"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("all-webhooks"),
		Targets: []types.Target{{Id: aws.String("r"), Arn: aws.String(recv.URL)}}}); err != nil {
		t.Fatal(err)
	}
	return recv
}

func TestWebhooks(t *testing.T) {
	// Twilio signs the public URL it calls, which a proxy in front of
	// Switchyard may make other than the listener's: the definition names
	// it.
	const twilioURL = "https://hooks.example.com/webhooks/twilio"
	path := webhooksFile(t, twilioURL, false)
	s := startServer(t, "--webhooks-file", path, "--webhook-read-timeout", "1s")
	recv := routeAll(t, s.client(hookAccount, "us-east-1"))
	now := time.Now()

	ghBody := `{"action":"opened","number":7,"pull_request":{"title":"Fix"}}`
	stripeBody := `{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`
	slackBody := `{"token":"x","team_id":"T1","type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}`
	form := url.Values{"MessageSid": {"SM123"}, "From": {"+15550001111"}, "Body": {"hello there"}}
	customBody := `{"thing":"made"}`
	custom := delivery{"custom", http.Header{"Content-Type": {"application/json"}, "X-Event": {"thing.made"}, "X-Delivery": {"c-1"},
		"X-Signature": {func() string {
			h := hmac.New(sha512.New, []byte("k3y"))
			h.Write([]byte(customBody))
			return base64.StdEncoding.EncodeToString(h.Sum(nil))
		}()}}, customBody}

	// Valid deliveries, with the event each must become.
	valid := []struct {
		d                  delivery
		source, detailType string
		detail             string
	}{
		{githubDelivery("gh-secret", "pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", ghBody), "webhook.github", "pull_request", ghBody},
		{stripeDelivery("whsec_test", now, stripeBody), "com.example.billing", "invoice.paid", stripeBody},
		{slackDelivery("8f742231b10e8888abcd99yyyzzz85a5", now, slackBody), "webhook.slack", "app_mention", slackBody},
		{shopifyDelivery("shpss_x", "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", `{"id":820982911946154508}`), "webhook.shopify", "orders/create", `{"id":820982911946154508}`},
		{twilioDelivery("twilio-token", twilioURL, form, "idem-1"), "webhook.twilio", "SMS", `{"Body":"hello there","From":"+15550001111","MessageSid":"SM123"}`},
		{gitlabDelivery("gl-token", "Push Hook", "u-1", `{"object_kind":"push"}`), "webhook.gitlab", "Push Hook", `{"object_kind":"push"}`},
		{custom, "webhook.hmac", "thing.made", customBody},
	}
	ids := map[string]int{}
	for i, v := range valid {
		code, body := s.post(t, v.d)
		var out struct{ EventId string }
		if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || out.EventId == "" {
			t.Fatalf("%s: %d %s", v.d.hook, code, body)
		}
		ids[out.EventId] = i
	}
	got := recv.waitFor(t, len(valid), 30*time.Second)
	for _, b := range got {
		var ev event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		i, ok := ids[ev.ID]
		if !ok {
			t.Errorf("unexpected event %s", b)
			continue
		}
		v := valid[i]
		var want, have any
		_ = json.Unmarshal([]byte(v.detail), &want)
		_ = json.Unmarshal(ev.Detail, &have)
		if ev.Source != v.source || ev.DetailType != v.detailType || ev.Account != hookAccount || ev.Region != "us-east-1" || fmt.Sprint(want) != fmt.Sprint(have) {
			t.Errorf("%s: event %s", v.d.hook, b)
		}
	}

	// Refused: 401 for signatures, no event.
	tampered := githubDelivery("gh-secret", "push", "d-2", `{"ref":"main"}`)
	tampered.body = `{"ref":"evil"}`
	wrongSecret := stripeDelivery("whsec_wrong", now, `{"id":"evt_2","type":"x"}`)
	oldStripe := stripeDelivery("whsec_test", now.Add(-6*time.Minute), `{"id":"evt_3","type":"x"}`)
	oldSlack := slackDelivery("8f742231b10e8888abcd99yyyzzz85a5", now.Add(-10*time.Minute), `{"type":"event_callback","event_id":"Ev2","event":{"type":"message"}}`)
	unsigned := githubDelivery("gh-secret", "push", "d-3", `{}`)
	unsigned.header.Del("X-Hub-Signature-256")
	badToken := gitlabDelivery("gl-wrong", "Push Hook", "u-2", `{}`)
	otherURL := twilioDelivery("twilio-token", "https://elsewhere.example/webhooks/twilio", form, "idem-2")
	for _, c := range []struct {
		what   string
		d      delivery
		status int
		reason string
	}{
		{"tampered body", tampered, 401, "bad_signature"},
		{"wrong secret", wrongSecret, 401, "bad_signature"},
		{"old stripe timestamp", oldStripe, 401, "stale_timestamp"},
		{"old slack timestamp", oldSlack, 401, "stale_timestamp"},
		{"no signature", unsigned, 401, "missing_signature"},
		{"wrong gitlab token", badToken, 401, "bad_signature"},
		{"twilio signed for another URL", otherURL, 401, "bad_signature"},
		{"not json", githubDelivery("gh-secret", "push", "d-4", `not json`), 400, "malformed"},
		{"unknown webhook", delivery{"nope", http.Header{}, `{}`}, 404, "unknown_webhook"},
		{"oversized", githubDelivery("gh-secret", "push", "d-5", `{"a":"`+strings.Repeat("x", 1<<20)+`"}`), 413, "too_large"},
	} {
		code, body := s.post(t, c.d)
		if code != c.status || !strings.Contains(body, "message") {
			t.Errorf("%s: %d %s, want %d", c.what, code, body, c.status)
		}
	}
	for reason, n := range map[string]float64{"bad_signature": 4, "stale_timestamp": 2, "missing_signature": 1, "malformed": 1, "too_large": 1, "unknown_webhook": 1} {
		if got := metricSum(t, s, "switchyard_webhook_refused_total", `reason="`+reason+`"`); got < n {
			t.Errorf("refused %s: %v, want %v", reason, got, n)
		}
	}
	if got := metricSum(t, s, "switchyard_webhook_refused_total", `webhook="github"`); got < 3 {
		t.Errorf("refused for github: %v", got)
	}

	// Redeliveries: answered 200, no second event.
	for _, v := range valid[:4] {
		d := v.d
		if d.hook == "stripe" || d.hook == "slack" { // sign again, as a retry is signed afresh
			if d.hook == "stripe" {
				d = stripeDelivery("whsec_test", time.Now(), stripeBody)
			} else {
				d = slackDelivery("8f742231b10e8888abcd99yyyzzz85a5", time.Now(), slackBody)
			}
		}
		code, body := s.post(t, d)
		if code != http.StatusOK || !strings.Contains(body, `"Duplicate":true`) {
			t.Errorf("redelivery to %s: %d %s", d.hook, code, body)
		}
	}

	// Slack's URL verification is answered with the challenge, as text.
	code, body := s.post(t, slackDelivery("8f742231b10e8888abcd99yyyzzz85a5", time.Now(),
		`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`))
	if code != http.StatusOK || body != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification: %d %q", code, body)
	}

	// A slow client is cut off (--webhook-read-timeout 1s) with 408.
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gh := githubDelivery("gh-secret", "push", "slow-1", `{"ref":"refs/heads/main","pad":"`+strings.Repeat("y", 200)+`"}`)
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "POST /webhooks/github HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", s.addr, len(gh.body))
	for k, v := range gh.header {
		fmt.Fprintf(&hdr, "%s: %s\r\n", k, v[0])
	}
	hdr.WriteString("\r\n" + gh.body[:20])
	start := time.Now()
	if _, err := conn.Write(hdr.Bytes()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("slow client: %v after %v", err, time.Since(start))
	}
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) > 5*time.Second {
		t.Errorf("slow client: %d after %v", resp.StatusCode, time.Since(start))
	}

	// A webhook added to the file serves once the file is reloaded; an
	// invalid file keeps the webhooks in force.
	late := gitlabDelivery("late-token", "Tag Push Hook", "late-1", `{"object_kind":"tag_push"}`)
	late.hook = "late"
	if code, _ := s.post(t, late); code != http.StatusNotFound {
		t.Errorf("late before the reload: %d", code)
	}
	writeWebhooksFile(t, path, twilioURL, true)
	deadline := time.Now().Add(15 * time.Second)
	for code, _ := s.post(t, late); code != http.StatusOK; code, _ = s.post(t, late) {
		if time.Now().After(deadline) {
			t.Fatalf("late not served after the file changed: %d", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := os.WriteFile(path+".new", []byte("webhooks:\n  - {name: broken, provider: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if code, _ := s.post(t, githubDelivery("gh-secret", "push", "kept-1", `{}`)); code != http.StatusOK {
		t.Errorf("after an invalid file: %d, want the webhooks loaded before", code)
	}
	if !strings.Contains(s.logs(), "file not reloaded") {
		t.Errorf("the invalid file was not reported")
	}
	valid = append(valid, valid[len(valid)-1], valid[len(valid)-1]) // late-1 and kept-1 became events too

	// Nothing refused or repeated became an event.
	time.Sleep(time.Second)
	if n := len(recv.received()); n != len(valid) {
		t.Errorf("%d events, want %d", n, len(valid))
	}

	// After a restart, a redelivery is still known. (A file that does not
	// load stops a start, so the good one goes back first.)
	writeWebhooksFile(t, path, twilioURL, true)
	s.stop()
	s.restart()
	code, body = s.post(t, valid[0].d)
	if code != http.StatusOK || !strings.Contains(body, `"Duplicate":true`) {
		t.Errorf("redelivery after restart: %d %s", code, body)
	}
	code, _ = s.post(t, githubDelivery("gh-secret", "push", "after-restart", `{"ref":"main"}`))
	if code != http.StatusOK {
		t.Errorf("new delivery after restart: %d", code)
	}
	recv.waitFor(t, len(valid)+1, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := len(recv.received()); n != len(valid)+1 {
		t.Errorf("%d events after restart, want %d", n, len(valid)+1)
	}
}

// admin calls the admin API (signing name switchyard) as account acct.
func (s *server) admin(t *testing.T, acct, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: acct, SecretAccessKey: "x"}, req,
		hex.EncodeToString(sum[:]), "switchyard", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// Webhooks defined through the admin API live in JetStream: a definition
// put through one process serves on another sharing the NATS server, and a
// delivery made to one is known as a duplicate to the other.
func TestWebhooksAdminAPIAcrossProcesses(t *testing.T) {
	ps := startCluster(t, natsServer(t), 2)
	a, b := ps[0], ps[1]
	recv := routeAll(t, a.client(hookAccount, "us-east-1"))

	code, out := a.admin(t, hookAccount, "PUT", "/webhooks/gh-api", `{"Provider":"github","Secret":"api-secret","Source":"com.example.gh"}`)
	if code != http.StatusOK || out["Path"] != "/webhooks/gh-api" || out["Secret"] != nil || out["Origin"] != "api" {
		t.Fatalf("PutWebhook: %d %v", code, out)
	}
	// The other process serves definitions from its watch of the bucket,
	// which follows within milliseconds.
	eventually(t, "the other process to see the webhook", func() bool {
		code, _ := b.admin(t, hookAccount, "GET", "/webhooks/gh-api", "")
		return code == http.StatusOK
	})
	for _, c := range []struct {
		what, acct, method, path, body string
		status                         int
		errType                        string
	}{
		{"get from the other process", hookAccount, "GET", "/webhooks/gh-api", "", 200, ""},
		{"get from another account", "111122223333", "GET", "/webhooks/gh-api", "", 404, "ResourceNotFoundException"},
		{"put over another account's", "111122223333", "PUT", "/webhooks/gh-api", `{"Provider":"github","Secret":"x"}`, 409, "ConflictException"},
		{"unknown provider", hookAccount, "PUT", "/webhooks/bb", `{"Provider":"bitbucket","Secret":"x"}`, 400, "ValidationException"},
		{"no secret", hookAccount, "PUT", "/webhooks/bb", `{"Provider":"github"}`, 400, "ValidationException"},
		{"bad name", hookAccount, "PUT", "/webhooks/a%20b", `{"Provider":"github","Secret":"x"}`, 400, "ValidationException"},
		{"aws source", hookAccount, "PUT", "/webhooks/bb", `{"Provider":"github","Secret":"x","Source":"aws.ec2"}`, 400, "ValidationException"},
		{"not json", hookAccount, "PUT", "/webhooks/bb", `{`, 400, "SerializationException"},
		{"delete missing", hookAccount, "DELETE", "/webhooks/none", "", 404, "ResourceNotFoundException"},
	} {
		code, out := b.admin(t, c.acct, c.method, c.path, c.body)
		if code != c.status || (c.errType != "" && !strings.Contains(fmt.Sprint(out), "Message")) {
			t.Errorf("%s: %d %v, want %d %s", c.what, code, out, c.status, c.errType)
		}
	}
	_, list := b.admin(t, hookAccount, "GET", "/webhooks", "")
	if hooks, _ := list["Webhooks"].([]any); len(hooks) != 1 {
		t.Errorf("ListWebhooks: %v", list)
	}

	d := githubDelivery("api-secret", "issues", "cluster-1", `{"action":"opened"}`)
	d.hook = "gh-api"
	if code, body := b.post(t, d); code != http.StatusOK {
		t.Fatalf("delivery to b: %d %s", code, body)
	}
	if code, body := a.post(t, d); code != http.StatusOK || !strings.Contains(body, `"Duplicate":true`) {
		t.Errorf("redelivery to a: %d %s", code, body)
	}
	got := recv.waitFor(t, 1, 30*time.Second)
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil || ev.Source != "com.example.gh" || ev.DetailType != "issues" {
		t.Errorf("event %s", got[0])
	}

	if code, _ := a.admin(t, hookAccount, "DELETE", "/webhooks/gh-api", ""); code != http.StatusOK {
		t.Errorf("DeleteWebhook: %d", code)
	}
	d.header.Set("X-Github-Delivery", "cluster-2")
	if code, _ := b.post(t, d); code != http.StatusNotFound {
		t.Errorf("delivery after delete: %d", code)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(recv.received()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// The switchyard webhooks commands manage webhooks through the admin API.
func TestWebhooksCLI(t *testing.T) {
	s := startServer(t)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(binary, append(append([]string{"webhooks"}, args...), "--endpoint", "http://"+s.addr, "--account", hookAccount, "--region", "us-east-1")...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("put", "--name", "cli-hook", "--provider", "stripe", "--secret", "whsec_cli", "--source", "com.example.cli")
	if err != nil || !strings.Contains(out, `"Path": "/webhooks/cli-hook"`) || strings.Contains(out, "whsec_cli") {
		t.Fatalf("put: %v\n%s", err, out)
	}
	if out, err := run("list"); err != nil || !strings.Contains(out, `"Name": "cli-hook"`) {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, err := run("put", "--name", "bad", "--provider", "nope", "--secret", "x"); err == nil || !strings.Contains(out, "ValidationException") {
		t.Errorf("put with an unknown provider: %v\n%s", err, out)
	}
	d := stripeDelivery("whsec_cli", time.Now(), `{"id":"evt_cli","type":"charge.succeeded"}`)
	d.hook = "cli-hook"
	if code, body := s.post(t, d); code != http.StatusOK {
		t.Errorf("delivery: %d %s", code, body)
	}
	if out, err := run("delete", "--name", "cli-hook"); err != nil {
		t.Errorf("delete: %v\n%s", err, out)
	}
	if out, err := run("get", "--name", "cli-hook"); err == nil || !strings.Contains(out, "ResourceNotFoundException") {
		t.Errorf("get after delete: %v\n%s", err, out)
	}
}

// When the event cannot be stored — the webhook's bus is gone, or the NATS
// server is down — the delivery is answered 503 (which providers retry)
// within the providers' timeouts, not left hanging, and not 200.
func TestWebhooksDeadStorage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	nats := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "js"))
	if err := nats.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nats.Process.Kill(); _ = nats.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nats-server did not listen")
		}
	}
	path := filepath.Join(t.TempDir(), "webhooks.yaml")
	if err := os.WriteFile(path, []byte(`webhooks:
  - {name: gl, provider: gitlab, account: "`+hookAccount+`", region: us-east-1, secret: t}
  - {name: nobus, provider: gitlab, account: "`+hookAccount+`", region: us-east-1, secret: t, event_bus_name: missing}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--nats-url", "nats://127.0.0.1:"+strconv.Itoa(port), "--webhooks-file", path)

	d := gitlabDelivery("t", "Push Hook", "nobus-1", `{}`)
	d.hook = "nobus"
	if code, body := s.post(t, d); code != http.StatusServiceUnavailable || !strings.Contains(body, "event bus does not exist") {
		t.Errorf("to a missing bus: %d %s", code, body)
	}
	d = gitlabDelivery("t", "Push Hook", "up-1", `{}`)
	d.hook = "gl"
	if code, body := s.post(t, d); code != http.StatusOK {
		t.Fatalf("with storage up: %d %s", code, body)
	}

	_ = nats.Process.Kill()
	_ = nats.Wait()
	d.header.Set("X-Gitlab-Event-Uuid", "down-1")
	start := time.Now()
	code, body := s.post(t, d)
	if code != http.StatusServiceUnavailable || time.Since(start) > 3*time.Second {
		t.Errorf("with NATS down: %d %s after %v, want 503 within 3 s", code, body, time.Since(start))
	}
	if got := metricSum(t, s, "switchyard_webhook_deliveries_total", `result="failed"`); got < 2 {
		t.Errorf("failed deliveries counted: %v", got)
	}
}

// Deliveries count against the PutEvents quota of the webhook's account
// and region: past it they are answered 429 (which providers retry).
func TestWebhooksQuota(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhooks.yaml")
	if err := os.WriteFile(path, []byte(`webhooks:
  - {name: gl, provider: gitlab, account: "`+hookAccount+`", region: us-east-1, secret: t}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--webhooks-file", path, "--quota-putevents", "2", "--quota-control", "0")
	codes := map[int]int{}
	for i := range 10 {
		d := gitlabDelivery("t", "Push Hook", "q-"+strconv.Itoa(i), `{}`)
		d.hook = "gl"
		code, _ := s.post(t, d)
		codes[code]++
	}
	if codes[http.StatusOK] < 1 || codes[http.StatusTooManyRequests] < 5 || codes[http.StatusOK]+codes[http.StatusTooManyRequests] != 10 {
		t.Errorf("answers %v, want a few 200 and the rest 429", codes)
	}
	if got := metricSum(t, s, "switchyard_webhook_refused_total", `reason="throttled"`); got != float64(codes[http.StatusTooManyRequests]) {
		t.Errorf("throttled counted %v, answered %d", got, codes[http.StatusTooManyRequests])
	}
}
