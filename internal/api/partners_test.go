package api

import (
	"net/http"
	"testing"
	"time"
)

// partnerSeeds are well-formed requests of the partner operations, in an
// order in which each succeeds: the partner offers a source to the
// caller's own account (as --auth none allows), which makes its bus.
var partnerSeeds = []struct{ op, body string }{
	{"CreatePartnerEventSource", `{"Name":"aws.partner/p.example/ns/src","Account":"123456789012"}`},
	{"DescribePartnerEventSource", `{"Name":"aws.partner/p.example/ns/src"}`},
	{"ListPartnerEventSources", `{"NamePrefix":"aws.partner/p.example/","Limit":1}`},
	{"ListPartnerEventSourceAccounts", `{"EventSourceName":"aws.partner/p.example/ns/src"}`},
	{"ListEventSources", `{"NamePrefix":"aws.partner/","Limit":5}`},
	{"DescribeEventSource", `{"Name":"aws.partner/p.example/ns/src"}`},
	{"CreateEventBus", `{"Name":"aws.partner/p.example/ns/src","EventSourceName":"aws.partner/p.example/ns/src"}`},
	{"PutPartnerEvents", `{"Entries":[{"Source":"aws.partner/p.example/ns/src","DetailType":"d","Detail":"{\"a\":1}","Time":1700000000}]}`},
	{"DeactivateEventSource", `{"Name":"aws.partner/p.example/ns/src"}`},
	{"ActivateEventSource", `{"Name":"aws.partner/p.example/ns/src"}`},
	{"DeletePartnerEventSource", `{"Name":"aws.partner/p.example/ns/src","Account":"123456789012"}`},
}

func TestPartnerSeedsSucceed(t *testing.T) {
	h := newTestHandler(t)
	for _, s := range partnerSeeds {
		if rec := call(h, s.op, []byte(s.body)); rec.Code != http.StatusOK {
			t.Errorf("%s: status %d: %s", s.op, rec.Code, rec.Body.String())
		}
	}
}

// FuzzPartnerRequest: no body of a partner operation makes the server
// panic, answer 500 or anything but AWS's shapes.
func FuzzPartnerRequest(f *testing.F) {
	for i, s := range partnerSeeds {
		f.Add(uint8(i), []byte(s.body))
	}
	f.Add(uint8(7), []byte(`{"Entries":[{"Source":"aws.partner/a/b","Detail":"{\"a\":1,\"a\":2}","DetailType":"x"}]}`))
	f.Add(uint8(2), []byte(`{"NamePrefix":"aws.partner/../","NextToken":"!!"}`))
	h := newTestHandler(f)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		s := partnerSeeds[int(op)%len(partnerSeeds)]
		start := time.Now()
		rec := call(h, s.op, body)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("%s %q took %v", s.op, body, d)
		}
		checkResponse(t, s.op, body, rec)
	})
}
