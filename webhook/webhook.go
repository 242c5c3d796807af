// Package webhook verifies inbound SaaS webhooks the way each provider
// documents its signature scheme, and reads what the delivery is: the
// provider's event type, its delivery id (for idempotency) and the payload
// as JSON. It has no dependency on the rest of Switchyard: give it a
// Verifier for one webhook and the request's headers and body as received.
//
// The schemes, each as its provider documents it:
//
//   - GitHub ("Validating webhook deliveries", docs.github.com):
//     X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body
//     under the webhook secret; X-GitHub-Event is the event type,
//     X-GitHub-Delivery the delivery's GUID. A form-encoded delivery
//     carries the JSON in its payload field.
//   - Stripe ("Check the webhook signatures", docs.stripe.com/webhooks):
//     Stripe-Signature is "t=<unix time>,v1=<hex>[,v1=...]", the HMAC-SHA256
//     of "<t>.<body>" under the endpoint's signing secret; a timestamp more
//     than the tolerance (300 s by default) from now is refused as a replay.
//     The event's type and id are the body's "type" and "id".
//   - Slack ("Verifying requests from Slack", api.slack.com): X-Slack-Signature
//     is "v0=" and the hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<body>"
//     under the app's signing secret; a timestamp more than five minutes
//     from now is refused. The event type is the body's event.type for an
//     event_callback, else its type; the delivery id its event_id. A
//     url_verification request is answered with its challenge.
//   - Shopify ("Verify webhook deliveries", shopify.dev): X-Shopify-Hmac-Sha256
//     is the base64 HMAC-SHA256 of the body under the app's client secret;
//     X-Shopify-Topic is the event type, X-Shopify-Webhook-Id (or
//     X-Shopify-Event-Id) the delivery id.
//   - Twilio ("Webhooks security", twilio.com/docs/usage/security):
//     X-Twilio-Signature is the base64 HMAC-SHA1, under the account's auth
//     token, of the full URL Twilio called followed by each POST parameter's
//     name and value, sorted by name; a JSON body is signed instead by its
//     hex SHA-256 in the URL's bodySHA256 query parameter.
//     I-Twilio-Idempotency-Token is the delivery id.
//   - GitLab ("Webhooks", docs.gitlab.com: "Validate payloads by using a
//     secret token"): X-Gitlab-Token is the secret itself; X-Gitlab-Event
//     is the event type, Idempotency-Key (GitLab 17.4 and later) or else
//     X-Gitlab-Event-UUID the delivery id.
//   - Generic HMAC: a configured header holds an optional prefix and the
//     HMAC (SHA-1, SHA-256 or SHA-512) of the body, hex or base64; event
//     type and delivery id come from configured headers.
//
// Every comparison of a signature is in constant time.
package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The providers.
const (
	GitHub  = "github"
	Stripe  = "stripe"
	Slack   = "slack"
	Shopify = "shopify"
	Twilio  = "twilio"
	GitLab  = "gitlab"
	HMAC    = "hmac"
)

// Providers lists the providers Verify knows.
var Providers = []string{GitHub, Stripe, Slack, Shopify, Twilio, GitLab, HMAC}

// DefaultTolerance is how far a signed timestamp (Stripe, Slack) may be
// from now: Stripe's libraries' default of 300 s, and Slack's five minutes.
const DefaultTolerance = 5 * time.Minute

// Verifier verifies the deliveries of one webhook.
type Verifier struct {
	Provider string
	// Secret is the shared secret: the webhook secret (GitHub), the
	// endpoint's signing secret (Stripe, whsec_...), the app's signing
	// secret (Slack), the app's client secret (Shopify), the account's
	// auth token (Twilio), the secret token (GitLab), the HMAC key.
	Secret []byte
	// Tolerance bounds the age of a signed timestamp (DefaultTolerance if
	// 0).
	Tolerance time.Duration
	// URL is the URL the provider calls, as it calls it (Twilio signs it):
	// the public URL in front of any proxy.
	URL string
	// Generic HMAC: the signature header, its algorithm (sha1, sha256,
	// sha512) and encoding (hex, base64), a prefix before the signature
	// ("sha256=") and the headers naming the event type and delivery id.
	Header           string
	Algorithm        string
	Encoding         string
	Prefix           string
	EventTypeHeader  string
	DeliveryIDHeader string
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Delivery is a verified webhook delivery.
type Delivery struct {
	// EventType is the provider's type of the event ("push",
	// "invoice.paid", "message", "orders/create", ...); "" if it has none.
	EventType string
	// ID identifies the delivery: the same for a redelivery of it; "" if
	// the provider gives none.
	ID string
	// Payload is the delivery's content as a JSON object: the body if it is
	// JSON, a form-encoded body as an object of its fields (a field given
	// more than once as an array).
	Payload json.RawMessage
	// Reply, if set, is what the provider expects as the answer instead
	// of an event (Slack's url_verification challenge), as ReplyType.
	Reply     []byte
	ReplyType string
}

// Reasons a delivery is refused, as Error.Reason and metric labels.
const (
	ReasonMissingSignature = "missing_signature"
	ReasonBadSignature     = "bad_signature"
	ReasonStaleTimestamp   = "stale_timestamp"
	ReasonMalformed        = "malformed"
)

// Error is why a delivery was refused.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Check reports whether v is complete for its provider.
func (v *Verifier) Check() error {
	if len(v.Secret) == 0 {
		return errors.New("a secret is required")
	}
	switch v.Provider {
	case GitHub, Stripe, Slack, Shopify, GitLab:
	case Twilio:
		if u, err := url.Parse(v.URL); v.URL == "" || err != nil || u.Scheme == "" || u.Host == "" {
			return errors.New("twilio needs the URL Twilio calls (url), which it signs")
		}
	case HMAC:
		if v.Header == "" {
			return errors.New("hmac needs the header holding the signature (header)")
		}
		if _, err := hashOf(v.Algorithm); err != nil {
			return err
		}
		switch v.Encoding {
		case "", "hex", "base64":
		default:
			return fmt.Errorf("encoding %q: want hex or base64", v.Encoding)
		}
	default:
		return fmt.Errorf("unknown provider %q: want one of %s", v.Provider, strings.Join(Providers, ", "))
	}
	if v.Tolerance < 0 {
		return errors.New("tolerance must not be negative")
	}
	return nil
}

func hashOf(alg string) (func() hash.Hash, error) {
	switch strings.ToLower(alg) {
	case "sha1":
		return sha1.New, nil
	case "", "sha256":
		return sha256.New, nil
	case "sha512":
		return sha512.New, nil
	}
	return nil, fmt.Errorf("algorithm %q: want sha1, sha256 or sha512", alg)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) tolerance() time.Duration {
	if v.Tolerance > 0 {
		return v.Tolerance
	}
	return DefaultTolerance
}

func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Verify checks a delivery's signature and reads it. Its errors are *Error.
func (v *Verifier) Verify(h http.Header, body []byte) (*Delivery, error) {
	return v.VerifyQuery(h, "", body)
}

// VerifyQuery is Verify for a request whose URL had the query rawQuery,
// which Twilio signs with the URL: when URL has no query of its own, the
// request's is added to it.
func (v *Verifier) VerifyQuery(h http.Header, rawQuery string, body []byte) (*Delivery, error) {
	var err error
	d := &Delivery{}
	switch v.Provider {
	case GitHub:
		err = v.verifyHex(h.Get("X-Hub-Signature-256"), "X-Hub-Signature-256", "sha256=", sha256.New, body)
		d.EventType, d.ID = h.Get("X-GitHub-Event"), h.Get("X-GitHub-Delivery")
	case Stripe:
		err = v.verifyStripe(h.Get("Stripe-Signature"), body)
	case Slack:
		err = v.verifySlack(h, body)
	case Shopify:
		err = v.verifyBase64(h.Get("X-Shopify-Hmac-Sha256"), "X-Shopify-Hmac-Sha256", sha256.New, body)
		d.EventType, d.ID = h.Get("X-Shopify-Topic"), first(h.Get("X-Shopify-Webhook-Id"), h.Get("X-Shopify-Event-Id"))
	case Twilio:
		err = v.verifyTwilio(h, rawQuery, body)
		d.ID = h.Get("I-Twilio-Idempotency-Token")
	case GitLab:
		tok := h.Get("X-Gitlab-Token")
		switch {
		case tok == "":
			err = refuse(ReasonMissingSignature, "X-Gitlab-Token is missing.")
		case subtle.ConstantTimeCompare([]byte(tok), v.Secret) != 1:
			err = refuse(ReasonBadSignature, "X-Gitlab-Token does not match.")
		}
		d.EventType, d.ID = h.Get("X-Gitlab-Event"), first(h.Get("Idempotency-Key"), h.Get("X-Gitlab-Event-UUID"))
	case HMAC:
		err = v.verifyGeneric(h, body)
		if v.EventTypeHeader != "" {
			d.EventType = h.Get(v.EventTypeHeader)
		}
		if v.DeliveryIDHeader != "" {
			d.ID = h.Get(v.DeliveryIDHeader)
		}
	default:
		return nil, refuse(ReasonMalformed, "Unknown provider %q.", v.Provider)
	}
	if err != nil {
		return nil, err
	}
	if d.Payload, err = payload(h.Get("Content-Type"), body, v.Provider == GitHub); err != nil {
		return nil, err
	}
	switch v.Provider {
	case Stripe:
		var ev struct{ ID, Type string }
		_ = json.Unmarshal(d.Payload, &ev)
		d.EventType, d.ID = ev.Type, ev.ID
	case Slack:
		readSlack(d)
	}
	return d, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func (v *Verifier) verifyHex(sig, header, prefix string, h func() hash.Hash, parts ...[]byte) error {
	if sig == "" {
		return refuse(ReasonMissingSignature, "%s is missing.", header)
	}
	hexSig, ok := strings.CutPrefix(sig, prefix)
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return refuse(ReasonBadSignature, "%s is not %s followed by a hex digest.", header, prefix)
	}
	if !hmac.Equal(got, mac(h, v.Secret, parts...)) {
		return refuse(ReasonBadSignature, "%s does not match the payload.", header)
	}
	return nil
}

func (v *Verifier) verifyBase64(sig, header string, h func() hash.Hash, parts ...[]byte) error {
	if sig == "" {
		return refuse(ReasonMissingSignature, "%s is missing.", header)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return refuse(ReasonBadSignature, "%s is not base64.", header)
	}
	if !hmac.Equal(got, mac(h, v.Secret, parts...)) {
		return refuse(ReasonBadSignature, "%s does not match the payload.", header)
	}
	return nil
}

// fresh checks a signed Unix timestamp against the tolerance, both ways: a
// timestamp from the future is as suspect as an old one.
func (v *Verifier) fresh(ts, header string) error {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return refuse(ReasonBadSignature, "%s has no valid timestamp.", header)
	}
	d := v.now().Sub(time.Unix(t, 0))
	if d < 0 {
		d = -d
	}
	if d > v.tolerance() {
		return refuse(ReasonStaleTimestamp, "The timestamp of %s is %s from now, more than the tolerance of %s.", header, d.Round(time.Second), v.tolerance())
	}
	return nil
}

func (v *Verifier) verifyStripe(sig string, body []byte) error {
	if sig == "" {
		return refuse(ReasonMissingSignature, "Stripe-Signature is missing.")
	}
	var ts string
	var v1 [][]byte
	for item := range strings.SplitSeq(sig, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(item), "=")
		switch k {
		case "t":
			ts = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil {
				v1 = append(v1, b)
			}
		}
	}
	if ts == "" || len(v1) == 0 {
		return refuse(ReasonBadSignature, "Stripe-Signature has no timestamp or no v1 signature.")
	}
	want := mac(sha256.New, v.Secret, []byte(ts), []byte("."), body)
	ok := false
	for _, s := range v1 { // several while a secret is rolled
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return refuse(ReasonBadSignature, "No v1 signature of Stripe-Signature matches the payload.")
	}
	// The timestamp is checked once the signature vouches for it.
	return v.fresh(ts, "Stripe-Signature")
}

func (v *Verifier) verifySlack(h http.Header, body []byte) error {
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return refuse(ReasonMissingSignature, "X-Slack-Signature or X-Slack-Request-Timestamp is missing.")
	}
	if err := v.verifyHex(sig, "X-Slack-Signature", "v0=", sha256.New, []byte("v0:"+ts+":"), body); err != nil {
		return err
	}
	return v.fresh(ts, "X-Slack-Request-Timestamp")
}

func (v *Verifier) verifyTwilio(h http.Header, rawQuery string, body []byte) error {
	sig := h.Get("X-Twilio-Signature")
	if sig == "" {
		return refuse(ReasonMissingSignature, "X-Twilio-Signature is missing.")
	}
	u := v.URL
	if rawQuery != "" && !strings.Contains(u, "?") {
		u += "?" + rawQuery
	}
	data := []byte(u)
	if !isForm(h.Get("Content-Type")) {
		// A JSON body is not among the signed parameters: Twilio signs
		// its SHA-256 instead, as the bodySHA256 query parameter of the
		// URL ("Validating requests with a JSON body", Webhooks security).
		uq, err := url.Parse(u)
		if err != nil {
			return refuse(ReasonMalformed, "The URL does not parse: %v.", err)
		}
		sum := sha256.Sum256(body)
		given, err := hex.DecodeString(uq.Query().Get("bodySHA256"))
		if err != nil || !hmac.Equal(given, sum[:]) {
			return refuse(ReasonBadSignature, "The bodySHA256 of the URL is not the body's SHA-256.")
		}
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return refuse(ReasonMalformed, "The form body does not parse: %v.", err)
		}
		keys := make([]string, 0, len(form))
		for k := range form {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			// A parameter given more than once contributes each value,
			// in order (Twilio's helper libraries do so).
			for _, val := range form[k] {
				data = append(data, k...)
				data = append(data, val...)
			}
		}
	}
	return v.verifyBase64(sig, "X-Twilio-Signature", sha1.New, data)
}

func (v *Verifier) verifyGeneric(h http.Header, body []byte) error {
	sig := h.Get(v.Header)
	if sig == "" {
		return refuse(ReasonMissingSignature, "%s is missing.", v.Header)
	}
	alg, err := hashOf(v.Algorithm)
	if err != nil {
		return refuse(ReasonMalformed, "%v", err)
	}
	if v.Encoding == "base64" {
		s, ok := strings.CutPrefix(sig, v.Prefix)
		if !ok {
			return refuse(ReasonBadSignature, "%s does not start with %q.", v.Header, v.Prefix)
		}
		return v.verifyBase64(s, v.Header, alg, body)
	}
	return v.verifyHex(sig, v.Header, v.Prefix, alg, body)
}

func isForm(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/x-www-form-urlencoded"
}

// payload turns the body into the event's detail: JSON as it is (it must
// be an object), a form as an object of its fields. GitHub's form-encoded
// deliveries hold the JSON payload in the payload field.
func payload(contentType string, body []byte, payloadField bool) (json.RawMessage, error) {
	if isForm(contentType) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, refuse(ReasonMalformed, "The form body does not parse: %v.", err)
		}
		if p := form.Get("payload"); p != "" && (payloadField || len(form) == 1) {
			// GitHub's form deliveries, and Slack's interactivity
			// payloads, hold a JSON document in one field.
			if j := bytes.TrimSpace([]byte(p)); json.Valid(j) && len(j) > 0 && j[0] == '{' {
				return j, nil
			}
		}
		obj := make(map[string]any, len(form))
		for k, vals := range form {
			if len(vals) == 1 {
				obj[k] = vals[0]
			} else {
				obj[k] = vals
			}
		}
		out, err := json.Marshal(obj)
		if err != nil {
			return nil, refuse(ReasonMalformed, "The form body cannot be an event: %v.", err)
		}
		return out, nil
	}
	j := bytes.TrimSpace(body)
	if len(j) == 0 || j[0] != '{' || !json.Valid(j) {
		return nil, refuse(ReasonMalformed, "The body is neither a JSON object nor a form.")
	}
	return j, nil
}

// readSlack reads a Slack delivery's type and id, and its url_verification
// challenge ("url_verification event", api.slack.com/events): answered with
// the challenge as plain text, and no event.
func readSlack(d *Delivery) {
	var b struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		EventID   string `json:"event_id"`
		Event     struct {
			Type string `json:"type"`
		} `json:"event"`
	}
	_ = json.Unmarshal(d.Payload, &b)
	d.EventType, d.ID = b.Type, b.EventID
	if b.Type == "event_callback" && b.Event.Type != "" {
		d.EventType = b.Event.Type
	}
	if b.Type == "url_verification" {
		d.Reply, d.ReplyType = []byte(b.Challenge), "text/plain"
	}
}
