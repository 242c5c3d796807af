package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"
)

// The signatures below are built the way each provider documents building
// them (see the package comment), independently of the code under test.

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func hmacB64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// twilioSign follows "Webhooks security": the URL, then each POST
// parameter's name and value sorted by name, HMAC-SHA1 under the auth
// token, base64.
func twilioSign(token, u string, form url.Values) string {
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
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

var now = time.Unix(1_765_000_000, 0)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestVerify(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	stripeBody := `{"id":"evt_1","type":"invoice.paid","data":{"object":{}}}`
	slackBody := `{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","text":"hi"}}`
	twilioURL := "https://hooks.example.com/webhooks/sms?x=1"
	twilioForm := url.Values{"MessageSid": {"SM1"}, "Body": {"hello world"}, "From": {"+15550001111"}}
	gh := `{"zen":"Keep it logically awesome."}`
	cases := []struct {
		name          string
		v             Verifier
		h             http.Header
		body          string
		reason        string // "" for accepted
		typ, id, json string
	}{
		{"github", Verifier{Provider: GitHub, Secret: []byte("s3")},
			hdr("X-Hub-Signature-256", "sha256="+hmacHex("s3", gh), "X-GitHub-Event", "ping", "X-GitHub-Delivery", "d-1", "Content-Type", "application/json"),
			gh, "", "ping", "d-1", gh},
		{"github form", Verifier{Provider: GitHub, Secret: []byte("s3")},
			hdr("X-Hub-Signature-256", "sha256="+hmacHex("s3", "payload="+url.QueryEscape(gh)), "X-GitHub-Event", "ping", "Content-Type", "application/x-www-form-urlencoded"),
			"payload=" + url.QueryEscape(gh), "", "ping", "", gh},
		{"github tampered", Verifier{Provider: GitHub, Secret: []byte("s3")},
			hdr("X-Hub-Signature-256", "sha256="+hmacHex("s3", gh)), gh + " ", ReasonBadSignature, "", "", ""},
		{"github wrong secret", Verifier{Provider: GitHub, Secret: []byte("s3")},
			hdr("X-Hub-Signature-256", "sha256="+hmacHex("other", gh)), gh, ReasonBadSignature, "", "", ""},
		{"github sha1 only", Verifier{Provider: GitHub, Secret: []byte("s3")},
			hdr("X-Hub-Signature", "sha1=00"), gh, ReasonMissingSignature, "", "", ""},
		{"github not hex", Verifier{Provider: GitHub, Secret: []byte("s3")},
			hdr("X-Hub-Signature-256", "sha256=zz"), gh, ReasonBadSignature, "", "", ""},
		{"stripe", Verifier{Provider: Stripe, Secret: []byte("whsec_x"), Now: func() time.Time { return now }},
			hdr("Stripe-Signature", "t="+ts+",v1="+hmacHex("whsec_x", ts+"."+stripeBody)+",v0=abc"), stripeBody, "", "invoice.paid", "evt_1", stripeBody},
		{"stripe rolled secret", Verifier{Provider: Stripe, Secret: []byte("whsec_x"), Now: func() time.Time { return now }},
			hdr("Stripe-Signature", "t="+ts+",v1="+hmacHex("whsec_old", ts+"."+stripeBody)+",v1="+hmacHex("whsec_x", ts+"."+stripeBody)), stripeBody, "", "invoice.paid", "evt_1", stripeBody},
		{"stripe old", Verifier{Provider: Stripe, Secret: []byte("whsec_x"), Now: func() time.Time { return now }},
			hdr("Stripe-Signature", "t="+old+",v1="+hmacHex("whsec_x", old+"."+stripeBody)), stripeBody, ReasonStaleTimestamp, "", "", ""},
		{"stripe tolerance", Verifier{Provider: Stripe, Secret: []byte("whsec_x"), Tolerance: 10 * time.Minute, Now: func() time.Time { return now }},
			hdr("Stripe-Signature", "t="+old+",v1="+hmacHex("whsec_x", old+"."+stripeBody)), stripeBody, "", "invoice.paid", "evt_1", stripeBody},
		{"stripe timestamp moved", Verifier{Provider: Stripe, Secret: []byte("whsec_x"), Now: func() time.Time { return now }},
			hdr("Stripe-Signature", "t="+ts+",v1="+hmacHex("whsec_x", old+"."+stripeBody)), stripeBody, ReasonBadSignature, "", "", ""},
		{"stripe no v1", Verifier{Provider: Stripe, Secret: []byte("whsec_x")},
			hdr("Stripe-Signature", "t="+ts), stripeBody, ReasonBadSignature, "", "", ""},
		{"slack", Verifier{Provider: Slack, Secret: []byte("8f74"), Now: func() time.Time { return now }},
			hdr("X-Slack-Signature", "v0="+hmacHex("8f74", "v0:"+ts+":"+slackBody), "X-Slack-Request-Timestamp", ts), slackBody, "", "app_mention", "Ev1", slackBody},
		{"slack old", Verifier{Provider: Slack, Secret: []byte("8f74"), Now: func() time.Time { return now }},
			hdr("X-Slack-Signature", "v0="+hmacHex("8f74", "v0:"+old+":"+slackBody), "X-Slack-Request-Timestamp", old), slackBody, ReasonStaleTimestamp, "", "", ""},
		{"slack no timestamp", Verifier{Provider: Slack, Secret: []byte("8f74")},
			hdr("X-Slack-Signature", "v0=00"), slackBody, ReasonMissingSignature, "", "", ""},
		{"slack form", Verifier{Provider: Slack, Secret: []byte("8f74"), Now: func() time.Time { return now }},
			hdr("X-Slack-Signature", "v0="+hmacHex("8f74", "v0:"+ts+":command=%2Fweather&text=94070"), "X-Slack-Request-Timestamp", ts, "Content-Type", "application/x-www-form-urlencoded"),
			"command=%2Fweather&text=94070", "", "", "", `{"command":"/weather","text":"94070"}`},
		{"shopify", Verifier{Provider: Shopify, Secret: []byte("shpss")},
			hdr("X-Shopify-Hmac-Sha256", hmacB64("shpss", `{"id":1}`), "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "wh-1"), `{"id":1}`, "", "orders/create", "wh-1", `{"id":1}`},
		{"shopify hex is not base64", Verifier{Provider: Shopify, Secret: []byte("shpss")},
			hdr("X-Shopify-Hmac-Sha256", hmacHex("shpss", `{"id":1}`)), `{"id":1}`, ReasonBadSignature, "", "", ""},
		{"twilio", Verifier{Provider: Twilio, Secret: []byte("tok"), URL: twilioURL},
			hdr("X-Twilio-Signature", twilioSign("tok", twilioURL, twilioForm), "Content-Type", "application/x-www-form-urlencoded", "I-Twilio-Idempotency-Token", "idem-1"),
			twilioForm.Encode(), "", "", "idem-1", `{"Body":"hello world","From":"+15550001111","MessageSid":"SM1"}`},
		{"twilio other url", Verifier{Provider: Twilio, Secret: []byte("tok"), URL: twilioURL},
			hdr("X-Twilio-Signature", twilioSign("tok", "http://hooks.example.com/webhooks/sms?x=1", twilioForm), "Content-Type", "application/x-www-form-urlencoded"),
			twilioForm.Encode(), ReasonBadSignature, "", "", ""},
		{"gitlab", Verifier{Provider: GitLab, Secret: []byte("glt")},
			hdr("X-Gitlab-Token", "glt", "X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "u-1"), `{"object_kind":"push"}`, "", "Push Hook", "u-1", `{"object_kind":"push"}`},
		{"gitlab idempotency key", Verifier{Provider: GitLab, Secret: []byte("glt")},
			hdr("X-Gitlab-Token", "glt", "X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "u-1", "Idempotency-Key", "k-1"), `{}`, "", "Push Hook", "k-1", `{}`},
		{"gitlab wrong token", Verifier{Provider: GitLab, Secret: []byte("glt")},
			hdr("X-Gitlab-Token", "glx"), `{}`, ReasonBadSignature, "", "", ""},
		{"hmac base64 prefix", Verifier{Provider: HMAC, Secret: []byte("k"), Header: "X-Sig", Encoding: "base64", Prefix: "v1,", EventTypeHeader: "X-Type", DeliveryIDHeader: "X-Id"},
			hdr("X-Sig", "v1,"+hmacB64("k", `{"a":1}`), "X-Type", "thing.made", "X-Id", "i-9"), `{"a":1}`, "", "thing.made", "i-9", `{"a":1}`},
		{"hmac hex", Verifier{Provider: HMAC, Secret: []byte("k"), Header: "X-Sig"},
			hdr("X-Sig", hmacHex("k", `{"a":1}`)), `{"a":1}`, "", "", "", `{"a":1}`},
		{"not an object", Verifier{Provider: GitHub, Secret: []byte("s3")},
			hdr("X-Hub-Signature-256", "sha256="+hmacHex("s3", `[1]`)), `[1]`, ReasonMalformed, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := c.v.Verify(c.h, []byte(c.body))
			if c.reason != "" {
				var we *Error
				if !errors.As(err, &we) || we.Reason != c.reason {
					t.Fatalf("got %v (%+v), want refused for %s", err, d, c.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.EventType != c.typ || d.ID != c.id || string(d.Payload) != c.json {
				t.Errorf("got type %q id %q payload %s, want %q %q %s", d.EventType, d.ID, d.Payload, c.typ, c.id, c.json)
			}
		})
	}
}

// GitHub's documented test values ("Validating webhook deliveries",
// "Testing the webhook payload validation"): the secret "It's a Secret to
// Everybody" and the payload "Hello, World!" give this signature.
func TestGitHubDocumentedExample(t *testing.T) {
	const sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	v := Verifier{Provider: GitHub, Secret: []byte("It's a Secret to Everybody")}
	err := v.verifyHex(sig, "X-Hub-Signature-256", "sha256=", sha256.New, []byte("Hello, World!"))
	if err != nil {
		t.Fatal(err)
	}
}

func TestSlackChallenge(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	v := Verifier{Provider: Slack, Secret: []byte("8f74"), Now: func() time.Time { return now }}
	d, err := v.Verify(hdr("X-Slack-Signature", "v0="+hmacHex("8f74", "v0:"+ts+":"+body), "X-Slack-Request-Timestamp", ts), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Reply) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" || d.ReplyType != "text/plain" {
		t.Errorf("reply %q (%s)", d.Reply, d.ReplyType)
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		v  Verifier
		ok bool
	}{
		{Verifier{Provider: GitHub, Secret: []byte("x")}, true},
		{Verifier{Provider: GitHub}, false},
		{Verifier{Provider: "bitbucket", Secret: []byte("x")}, false},
		{Verifier{Provider: Twilio, Secret: []byte("x")}, false},
		{Verifier{Provider: Twilio, Secret: []byte("x"), URL: "https://h/p"}, true},
		{Verifier{Provider: HMAC, Secret: []byte("x")}, false},
		{Verifier{Provider: HMAC, Secret: []byte("x"), Header: "X-S", Algorithm: "md5"}, false},
		{Verifier{Provider: HMAC, Secret: []byte("x"), Header: "X-S", Encoding: "base32"}, false},
		{Verifier{Provider: HMAC, Secret: []byte("x"), Header: "X-S", Algorithm: "sha512", Encoding: "base64"}, true},
	} {
		if err := c.v.Check(); (err == nil) != c.ok {
			t.Errorf("%+v: %v, want ok %v", c.v, err, c.ok)
		}
	}
}

// FuzzVerify: no header or body makes Verify panic, and whatever it
// accepts has a JSON object as its payload.
func FuzzVerify(f *testing.F) {
	f.Add("github", "sha256=00", "application/json", `{"a":1}`)
	f.Add("stripe", "t=1,v1=00,v1=zz", "", `{}`)
	f.Add("slack", "v0=00", "application/x-www-form-urlencoded", "payload=%7B%7D&a=1&a=2")
	f.Add("twilio", "AAAA", "application/x-www-form-urlencoded", "%zz=1")
	f.Add("hmac", "", "text/plain", "\xff")
	f.Fuzz(func(t *testing.T, provider, sig, ctype, body string) {
		v := Verifier{Provider: provider, Secret: []byte("k"), URL: "https://h/p", Header: "X-Sig", Now: func() time.Time { return now }}
		h := hdr("X-Hub-Signature-256", sig, "Stripe-Signature", sig, "X-Slack-Signature", sig, "X-Slack-Request-Timestamp", sig,
			"X-Shopify-Hmac-Sha256", sig, "X-Twilio-Signature", sig, "X-Gitlab-Token", sig, "X-Sig", sig, "Content-Type", ctype)
		d, err := v.Verify(h, []byte(body))
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			return
		}
		if len(d.Payload) == 0 || d.Payload[0] != '{' {
			t.Fatalf("accepted payload %q", d.Payload)
		}
	})
}

// A JSON body to Twilio's scheme: the URL with its bodySHA256 is signed,
// and the body must have that SHA-256.
func TestTwilioJSON(t *testing.T) {
	body := `{"event":"delivered"}`
	sum := sha256.Sum256([]byte(body))
	q := "bodySHA256=" + hex.EncodeToString(sum[:])
	const base = "https://hooks.example.com/webhooks/studio"
	sig := twilioSign("tok", base+"?"+q, nil)
	v := Verifier{Provider: Twilio, Secret: []byte("tok"), URL: base}
	h := hdr("X-Twilio-Signature", sig, "Content-Type", "application/json")
	if d, err := v.VerifyQuery(h, q, []byte(body)); err != nil || string(d.Payload) != body {
		t.Fatalf("valid: %v %+v", err, d)
	}
	if _, err := v.VerifyQuery(h, q, []byte(`{"event":"failed"}`)); err == nil {
		t.Error("a body other than the signed hash's was accepted")
	}
	if _, err := v.VerifyQuery(h, "", []byte(body)); err == nil {
		t.Error("a JSON body without bodySHA256 was accepted")
	}
}

// Twilio's documented example ("Webhooks security", "A few notes"): auth
// token 12345, this URL and these parameters give this signature.
func TestTwilioDocumentedExample(t *testing.T) {
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"}}
	v := Verifier{Provider: Twilio, Secret: []byte("12345"), URL: "https://mycompany.com/myapp.php?foo=1&bar=2"}
	_, err := v.Verify(hdr("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "Content-Type", "application/x-www-form-urlencoded"), []byte(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
}
