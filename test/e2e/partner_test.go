package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Partner event sources end to end, through aws-sdk-go-v2 against a real
// server under --auth sigv4: a partner key (partner: in the credentials
// file) offers a source to a customer account, the customer makes the
// matching partner bus with a rule to a real HTTP receiver, and what the
// partner sends with PutPartnerEvents arrives there, only while the source
// is ACTIVE.

const partnerKeys = `keys:
  - access_key_id: AKIAPARTNEREXAMPLE
    secret_access_key: partner-secret
    account: "999900001111"
    partner: saas.example
  - access_key_id: AKIAOTHERPARTNER
    secret_access_key: other-secret
    account: "999900002222"
    partner: other.example
  - access_key_id: AKIACUSTOMEREXAMPLE
    secret_access_key: customer-secret
    account: "111122223333"
`

func TestPartnerEventSources(t *testing.T) {
	s, _ := startAuthServer(t, partnerKeys)
	c := ctx(t)
	partner := s.signedClient("AKIAPARTNEREXAMPLE", "partner-secret", "", "eu-west-1")
	other := s.signedClient("AKIAOTHERPARTNER", "other-secret", "", "eu-west-1")
	customer := s.signedClient("AKIACUSTOMEREXAMPLE", "customer-secret", "", "eu-west-1")
	const name = "aws.partner/saas.example/tenant-42/orders"

	// Who may act as the partner.
	_, err := customer.CreatePartnerEventSource(c, &eventbridge.CreatePartnerEventSourceInput{Name: aws.String(name), Account: aws.String("111122223333")})
	wantAPIError(t, "customer creating a partner source", err, "AccessDeniedException", "")
	_, err = other.CreatePartnerEventSource(c, &eventbridge.CreatePartnerEventSourceInput{Name: aws.String(name), Account: aws.String("111122223333")})
	wantAPIError(t, "another partner's name", err, "AccessDeniedException", "")
	_, err = partner.CreatePartnerEventSource(c, &eventbridge.CreatePartnerEventSourceInput{Name: aws.String("saas.example/x/y"), Account: aws.String("111122223333")})
	wantAPIError(t, "name without aws.partner/", err, "ValidationException",
		"1 validation error detected: Value 'saas.example/x/y' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: aws\\.partner(/[\\.\\-_A-Za-z0-9]+){2,}")
	_, err = partner.CreatePartnerEventSource(c, &eventbridge.CreatePartnerEventSourceInput{Name: aws.String(name), Account: aws.String("1234")})
	wantAPIError(t, "short account", err, "ValidationException", "")

	out, err := partner.CreatePartnerEventSource(c, &eventbridge.CreatePartnerEventSourceInput{Name: aws.String(name), Account: aws.String("111122223333")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:events:eu-west-1::event-source/" + name; aws.ToString(out.EventSourceArn) != want {
		t.Errorf("EventSourceArn %q, want %q", aws.ToString(out.EventSourceArn), want)
	}
	_, err = partner.CreatePartnerEventSource(c, &eventbridge.CreatePartnerEventSourceInput{Name: aws.String(name), Account: aws.String("111122223333")})
	wantAPIError(t, "second create", err, "ResourceAlreadyExistsException", "Event source "+name+" already exists.")

	state := func(what, want string) {
		t.Helper()
		d, err := customer.DescribeEventSource(c, &eventbridge.DescribeEventSourceInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if string(d.State) != want || aws.ToString(d.CreatedBy) != "saas.example" || aws.ToString(d.Arn) != aws.ToString(out.EventSourceArn) {
			t.Errorf("%s: state %s by %s (%s), want %s by saas.example", what, d.State, aws.ToString(d.CreatedBy), aws.ToString(d.Arn), want)
		}
		if want == "PENDING" && (d.ExpirationTime == nil || d.ExpirationTime.Sub(*d.CreationTime) != 14*24*time.Hour) {
			t.Errorf("%s: ExpirationTime %v for creation %v, want two weeks later", what, d.ExpirationTime, d.CreationTime)
		}
	}
	state("offered", "PENDING")
	// Another region and another account do not see it.
	if l, err := s.signedClient("AKIACUSTOMEREXAMPLE", "customer-secret", "", "us-east-1").ListEventSources(c, &eventbridge.ListEventSourcesInput{}); err != nil || len(l.EventSources) != 0 {
		t.Errorf("other region: %v %+v", err, l)
	}

	// The partner's views.
	ps, err := partner.ListPartnerEventSources(c, &eventbridge.ListPartnerEventSourcesInput{NamePrefix: aws.String("aws.partner/saas.example/")})
	if err != nil || len(ps.PartnerEventSources) != 1 || aws.ToString(ps.PartnerEventSources[0].Name) != name {
		t.Errorf("ListPartnerEventSources: %v %+v", err, ps)
	}
	_, err = partner.ListPartnerEventSources(c, &eventbridge.ListPartnerEventSourcesInput{NamePrefix: aws.String("aws.partner/other.example/")})
	wantAPIError(t, "listing another partner's", err, "AccessDeniedException", "")
	dp, err := partner.DescribePartnerEventSource(c, &eventbridge.DescribePartnerEventSourceInput{Name: aws.String(name)})
	if err != nil || aws.ToString(dp.Name) != name {
		t.Errorf("DescribePartnerEventSource: %v %+v", err, dp)
	}
	_, err = partner.DescribePartnerEventSource(c, &eventbridge.DescribePartnerEventSourceInput{Name: aws.String(name + "-no")})
	wantAPIError(t, "describe missing", err, "ResourceNotFoundException", "Event source "+name+"-no does not exist.")

	// The customer's partner bus: named as the source, which must exist.
	_, err = customer.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("aws.partner/saas.example/tenant-42/other"), EventSourceName: aws.String("aws.partner/saas.example/tenant-42/other")})
	wantAPIError(t, "bus for a source not offered", err, "ResourceNotFoundException", "Event source aws.partner/saas.example/tenant-42/other does not exist.")
	_, err = customer.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String("mine"), EventSourceName: aws.String(name)})
	wantAPIError(t, "bus named otherwise", err, "ValidationException", "")
	if _, err := customer.CreateEventBus(c, &eventbridge.CreateEventBusInput{Name: aws.String(name), EventSourceName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	state("bus created", "ACTIVE")
	acc, err := partner.ListPartnerEventSourceAccounts(c, &eventbridge.ListPartnerEventSourceAccountsInput{EventSourceName: aws.String(name)})
	if err != nil || len(acc.PartnerEventSourceAccounts) != 1 || aws.ToString(acc.PartnerEventSourceAccounts[0].Account) != "111122223333" || acc.PartnerEventSourceAccounts[0].State != types.EventSourceStateActive {
		t.Errorf("ListPartnerEventSourceAccounts: %v %+v", err, acc)
	}

	// The partner bus behaves as any bus: a rule routes to a receiver, an
	// archive keeps its events.
	bus, err := customer.DescribeEventBus(c, &eventbridge.DescribeEventBusInput{Name: aws.String(name)})
	if err != nil || aws.ToString(bus.Arn) != "arn:aws:events:eu-west-1:111122223333:event-bus/"+name {
		t.Fatalf("DescribeEventBus: %v %+v", err, bus)
	}
	if _, err := customer.CreateArchive(c, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("partner-arc"), EventSourceArn: bus.Arn}); err != nil {
		t.Fatal(err)
	}
	recv := newReceiver(t)
	if _, err := customer.PutRule(c, &eventbridge.PutRuleInput{Name: aws.String("orders"), EventBusName: aws.String(name),
		EventPattern: aws.String(`{"source":[{"prefix":"aws.partner/saas.example/"}],"detail-type":["OrderPlaced"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.PutTargets(c, &eventbridge.PutTargetsInput{Rule: aws.String("orders"), EventBusName: aws.String(name),
		Targets: []types.Target{{Id: aws.String("hook"), Arn: aws.String(recv.URL)}}}); err != nil {
		t.Fatal(err)
	}
	put := func(n int) *eventbridge.PutPartnerEventsOutput {
		t.Helper()
		o, err := partner.PutPartnerEvents(c, &eventbridge.PutPartnerEventsInput{Entries: []types.PutPartnerEventsRequestEntry{
			{Source: aws.String(name), DetailType: aws.String("OrderPlaced"), Detail: aws.String(`{"n":` + string(rune('0'+n)) + `}`)},
			{Source: aws.String(name), DetailType: aws.String("OrderPlaced"), Detail: aws.String(`not json`)},
			{Source: aws.String("aws.partner/other.example/a/b"), DetailType: aws.String("OrderPlaced"), Detail: aws.String(`{}`)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	o := put(1)
	if o.FailedEntryCount != 2 || aws.ToString(o.Entries[0].EventId) == "" || aws.ToString(o.Entries[1].ErrorCode) != "MalformedDetail" ||
		aws.ToString(o.Entries[2].ErrorCode) != "AccessDeniedException" {
		t.Errorf("PutPartnerEvents: %d failed, %+v", o.FailedEntryCount, o.Entries)
	}
	got := recv.waitFor(t, 1, 20*time.Second)
	waitArchived(t, customer, "partner-arc", 1)
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Source != name || ev.Account != "111122223333" || ev.Region != "eu-west-1" || ev.DetailType != "OrderPlaced" || string(ev.Detail) != `{"n":1}` || ev.ID != aws.ToString(o.Entries[0].EventId) {
		t.Errorf("delivered %+v", ev)
	}

	// Deactivated, the source is PENDING and its events do not arrive;
	// activated again, they do.
	if _, err := customer.DeactivateEventSource(c, &eventbridge.DeactivateEventSourceInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	state("deactivated", "PENDING")
	put(2)
	if _, err := customer.ActivateEventSource(c, &eventbridge.ActivateEventSourceInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	state("activated", "ACTIVE")
	put(3)
	recv.waitFor(t, 2, 20*time.Second)
	time.Sleep(500 * time.Millisecond)
	got = recv.received()
	if len(got) != 2 || json.Unmarshal(got[1], &ev) != nil || string(ev.Detail) != `{"n":3}` {
		t.Errorf("after deactivating and activating, got %d events (%s), want the first and the third", len(got), got)
	}

	// Deleted by the partner: DELETED while the bus exists, which cannot be
	// activated; gone with the bus.
	if _, err := partner.DeletePartnerEventSource(c, &eventbridge.DeletePartnerEventSourceInput{Name: aws.String(name), Account: aws.String("111122223333")}); err != nil {
		t.Fatal(err)
	}
	d, err := customer.DescribeEventSource(c, &eventbridge.DescribeEventSourceInput{Name: aws.String(name)})
	if err != nil || d.State != types.EventSourceStateDeleted {
		t.Errorf("after DeletePartnerEventSource: %v %+v", err, d)
	}
	_, err = customer.ActivateEventSource(c, &eventbridge.ActivateEventSourceInput{Name: aws.String(name)})
	wantAPIError(t, "activating a deleted source", err, "InvalidStateException", "")
	if _, err := customer.RemoveTargets(c, &eventbridge.RemoveTargetsInput{Rule: aws.String("orders"), EventBusName: aws.String(name), Ids: []string{"hook"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.DeleteRule(c, &eventbridge.DeleteRuleInput{Name: aws.String("orders"), EventBusName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.DeleteArchive(c, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("partner-arc")}); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.DeleteEventBus(c, &eventbridge.DeleteEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = customer.DescribeEventSource(c, &eventbridge.DescribeEventSourceInput{Name: aws.String(name)})
	wantAPIError(t, "describe after the bus is gone", err, "ResourceNotFoundException", "Event source "+name+" does not exist.")
	if l, err := customer.ListEventSources(c, &eventbridge.ListEventSourcesInput{}); err != nil || len(l.EventSources) != 0 {
		t.Errorf("ListEventSources at the end: %v %+v", err, l)
	}
}
