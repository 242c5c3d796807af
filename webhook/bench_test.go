package webhook

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkVerify is the cost of verifying and reading one delivery of a
// 4 KiB JSON payload (Twilio: a form of the same size), per provider: the
// work a POST /webhooks/<name> does before storing the event.
func BenchmarkVerify(b *testing.B) {
	body := `{"id":"evt_1","type":"invoice.paid","event_id":"Ev1","event":{"type":"message"},"pad":"` + strings.Repeat("x", 4000) + `"}`
	ts := strconv.FormatInt(now.Unix(), 10)
	form := url.Values{"MessageSid": {"SM1"}, "Body": {strings.Repeat("y", 4000)}, "From": {"+15550001111"}}
	const twilioURL = "https://hooks.example.com/webhooks/sms"
	clock := func() time.Time { return now }
	for _, c := range []struct {
		name string
		v    Verifier
		h    http.Header
		body string
	}{
		{"github", Verifier{Provider: GitHub, Secret: []byte("s")}, hdr("X-Hub-Signature-256", "sha256="+hmacHex("s", body), "X-GitHub-Event", "push", "X-GitHub-Delivery", "d"), body},
		{"stripe", Verifier{Provider: Stripe, Secret: []byte("s"), Now: clock}, hdr("Stripe-Signature", "t="+ts+",v1="+hmacHex("s", ts+"."+body)), body},
		{"slack", Verifier{Provider: Slack, Secret: []byte("s"), Now: clock}, hdr("X-Slack-Signature", "v0="+hmacHex("s", "v0:"+ts+":"+body), "X-Slack-Request-Timestamp", ts), body},
		{"shopify", Verifier{Provider: Shopify, Secret: []byte("s")}, hdr("X-Shopify-Hmac-Sha256", hmacB64("s", body)), body},
		{"twilio", Verifier{Provider: Twilio, Secret: []byte("s"), URL: twilioURL}, hdr("X-Twilio-Signature", twilioSign("s", twilioURL, form), "Content-Type", "application/x-www-form-urlencoded"), form.Encode()},
		{"gitlab", Verifier{Provider: GitLab, Secret: []byte("s")}, hdr("X-Gitlab-Token", "s", "X-Gitlab-Event", "Push Hook"), body},
	} {
		b.Run(c.name, func(b *testing.B) {
			data := []byte(c.body)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.v.Verify(c.h, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
