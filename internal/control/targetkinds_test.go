package control

import "testing"

func TestNATSSubject(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:events:us-east-1:123456789012:nats-subject/orders.created": "orders.created",
		"arn:aws:events:::nats-subject/a":                                   "a",
	} {
		if got, ok := NATSSubject(arn); !ok || got != want {
			t.Errorf("NATSSubject(%s) = %q %v, want %q", arn, got, ok, want)
		}
	}
	for _, arn := range []string{"arn:aws:events:us-east-1:1:event-bus/x", "arn:aws:sqs:us-east-1:1:nats-subject/x", "http://x"} {
		if _, ok := NATSSubject(arn); ok {
			t.Errorf("NATSSubject(%s): want not a NATS ARN", arn)
		}
	}
	for subj, want := range map[string]bool{
		"orders": true, "orders.created": true, "a-b_c.D9": true, "syslog.x": true,
		"": false, "a..b": false, ".a": false, "a.": false, "a.*": false, "a.>": false, "a b": false,
		"sy.events.1.us-east-1.default": false, "sy": false, "$JS.API.STREAM.DELETE.X": false, "$KV.x.y": false,
		"_INBOX.abc": false,
	} {
		if got := ValidNATSSubject(subj); got != want {
			t.Errorf("ValidNATSSubject(%q) = %v, want %v", subj, got, want)
		}
	}
}
