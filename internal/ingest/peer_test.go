package ingest

import (
	"encoding/json"
	"testing"
)

const peerEnvelopeOK = `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":["r"],"detail":{"a":1}}`

// TestCheckPeerEnvelope: what a peer may hand over as an event of
// account 111122223333 and id e1, for us-west-2, from the deployment
// serving us-east-1.
func TestCheckPeerEnvelope(t *testing.T) {
	for _, c := range []struct {
		name, envelope, want string
	}{
		{"replicated from the peer's region", peerEnvelopeOK, ""},
		{"routed to this region", `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-west-2","resources":[],"detail":{}}`, ""},
		{"another region", `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"eu-west-1","resources":[],"detail":{}}`, "AccessDeniedException"},
		{"another id", `{"version":"0","id":"e2","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail":{}}`, "AccessDeniedException"},
		{"another account", `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"444455556666","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail":{}}`, "AccessDeniedException"},
		{"no source", `{"version":"0","id":"e1","detail-type":"GE","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","detail":{}}`, "AccessDeniedException"},
		{"bad time", `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"yesterday","region":"us-east-1","detail":{}}`, "AccessDeniedException"},
		{"detail not an object", `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","detail":[1]}`, "MalformedDetail"},
		{"no detail", `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1"}`, "MalformedDetail"},
		{"detail with a key twice", `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","detail":{"a":1,"a":2}}`, "MalformedDetail"},
		{"not version 0", `{"version":"1","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","detail":{}}`, "MalformedDetail"},
		{"not an object", `"x"`, "MalformedDetail"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &PeerEvent{Account: "111122223333", Region: "us-west-2", Bus: "b", ID: "e1", Envelope: json.RawMessage(c.envelope)}
			res, _, env := checkPeerEnvelope(e, []string{"us-east-1"})
			if res.ErrorCode != c.want {
				t.Fatalf("%+v, want %q", res, c.want)
			}
			if c.want == "" && !json.Valid(env) {
				t.Fatalf("stored envelope %s", env)
			}
		})
	}
}

// TestCheckPeerEnvelopeRenders: a member given twice at the top level is
// one value to the check and, were the bytes stored as given, possibly
// another to a rule or target; the envelope stored is rendered again
// from what the check read.
func TestCheckPeerEnvelopeRenders(t *testing.T) {
	e := &PeerEvent{Account: "111122223333", Region: "us-west-2", Bus: "b", ID: "e1", Envelope: json.RawMessage(
		`{"account":"444455556666","version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail":{"a":1},"extra":true}`)}
	res, _, env := checkPeerEnvelope(e, []string{"us-east-1"})
	if res.ErrorCode != "" {
		t.Fatal(res)
	}
	want := `{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail":{"a":1}}`
	if string(env) != want {
		t.Fatalf("stored\n%s\nwant\n%s", env, want)
	}
}

// FuzzCheckPeerEnvelope: no envelope panics the check, and one it accepts
// is stored as a valid envelope of the event's account and id.
func FuzzCheckPeerEnvelope(f *testing.F) {
	f.Add([]byte(peerEnvelopeOK))
	f.Add([]byte(`{"version":"0","id":"e1","detail-type":"GE","source":"app","account":"111122223333","time":"2026-01-02T03:04:05+01:00","region":"us-west-2","resources":null,"detail":{"a.b":1,"a":{"b":2}}}`))
	f.Add([]byte(`{"version":"0","id":"e1","detail":{"\u0061":1,"a":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := &PeerEvent{Account: "111122223333", Region: "us-west-2", Bus: "b", ID: "e1", Envelope: data}
		res, _, env := checkPeerEnvelope(e, []string{"us-east-1"})
		if res.ErrorCode != "" {
			return
		}
		var got peerEnvelope
		if err := json.Unmarshal(env, &got); err != nil {
			t.Fatalf("accepted %q, stored invalid %q: %v", data, env, err)
		}
		if got.ID != "e1" || got.Account != "111122223333" || (got.Region != "us-west-2" && got.Region != "us-east-1") {
			t.Fatalf("accepted %q as %+v", data, got)
		}
	})
}
