package control_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/store"
)

const (
	hcARN = "arn:aws:route53:::healthcheck/7d0f1c9e-0000-4000-8000-000000000001"
	east  = "arn:aws:events:us-east-1:111122223333:event-bus/orders"
	west  = "arn:aws:events:us-west-2:111122223333:event-bus/orders"
	role  = "arn:aws:iam::111122223333:role/replication"
)

func endpointInput(name string) control.EndpointInput {
	return control.EndpointInput{Name: name, HealthCheck: aws.String(hcARN), SecondaryRegion: aws.String("us-west-2"),
		EventBuses: []string{east, west}, RoleArn: aws.String(role)}
}

// TestEndpointRules: the rules between an endpoint's members that the API
// model cannot say are enforced with a ValidationException naming the
// parameter.
func TestEndpointRules(t *testing.T) {
	_, ctl := controltest.Open(t, store.Config{})
	sc := control.Scope{Account: "111122223333", Region: "us-east-1"}
	cases := []struct {
		name   string
		change func(*control.EndpointInput)
		want   string // "" for success
	}{
		{"valid", func(*control.EndpointInput) {}, ""},
		{"buses in either order", func(in *control.EndpointInput) { in.EventBuses = []string{west, east} }, ""},
		{"no role, replication disabled", func(in *control.EndpointInput) {
			in.RoleArn, in.Replication = nil, aws.String(control.ReplicationDisabled)
		}, ""},
		{"no role, replication by default", func(in *control.EndpointInput) { in.RoleArn = nil }, "Parameter RoleArn is not valid"},
		{"secondary is the primary", func(in *control.EndpointInput) { in.SecondaryRegion = aws.String("us-east-1") },
			"The secondary Region must be different from the primary Region us-east-1"},
		{"secondary not a region", func(in *control.EndpointInput) { in.SecondaryRegion = aws.String("moon-base") },
			"moon-base is not a valid Region"},
		{"names differ", func(in *control.EndpointInput) {
			in.EventBuses = []string{east, strings.Replace(west, "orders", "billing", 1)}
		}, "must have the same name"},
		{"same region twice", func(in *control.EndpointInput) { in.EventBuses = []string{east, east} },
			"One event bus must be in the primary Region us-east-1 and the other in the secondary Region us-west-2"},
		{"bus of the wrong secondary", func(in *control.EndpointInput) {
			in.EventBuses = []string{east, strings.Replace(west, "us-west-2", "eu-west-1", 1)}
		}, "the other in the secondary Region us-west-2"},
		{"bus of another account", func(in *control.EndpointInput) {
			in.EventBuses = []string{east, strings.Replace(west, "111122223333", "444455556666", 1)}
		}, "is not in account 111122223333"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := endpointInput("rules-" + string(rune('a'+i)))
			c.change(&in)
			e, err := ctl.CreateEndpoint(context.Background(), sc, in)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e.State != control.EndpointCreating {
					t.Errorf("state %s, want CREATING", e.State)
				}
				return
			}
			ae, ok := awserr.As(err)
			if !ok || ae.Code != awserr.CodeValidation || !strings.Contains(ae.Message, c.want) {
				t.Fatalf("got %v, want a ValidationException with %q", err, c.want)
			}
		})
	}
}

// TestEndpointLifecycle: an endpoint is found by name in its primary
// region (and by HomeRegion from the secondary), and by account and id;
// its id and URL have AWS's form; it goes CREATING → ACTIVE → UPDATING →
// ACTIVE → DELETING → gone; it is not updated while in a transition; and
// the 100-endpoint quota holds.
func TestEndpointLifecycle(t *testing.T) {
	_, ctl := controltest.Open(t, store.Config{})
	ctx := context.Background()
	sc := control.Scope{Account: "111122223333", Region: "us-east-1"}
	e, err := ctl.CreateEndpoint(ctx, sc, endpointInput("life"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z0-9]{10}\.[a-z0-9]{3}$`).MatchString(e.ID) {
		t.Errorf("EndpointId %q", e.ID)
	}
	if e.URL() != "https://"+e.ID+".endpoint.events.amazonaws.com" || e.ARN() != "arn:aws:events:us-east-1:111122223333:endpoint/life" {
		t.Errorf("URL %s, ARN %s", e.URL(), e.ARN())
	}
	if _, err := ctl.CreateEndpoint(ctx, sc, endpointInput("life")); !isCode(err, awserr.CodeResourceAlreadyExists) {
		t.Errorf("second create: %v", err)
	}
	view := ctl.View()
	if got, _ := view.EndpointByID(sc.Account, e.ID); got == nil || got.Name != "life" {
		t.Errorf("by id: %v", got)
	}
	if got, _ := view.EndpointByID("444455556666", e.ID); got != nil {
		t.Error("found by id in another account")
	}
	westScope := control.Scope{Account: sc.Account, Region: "us-west-2"}
	if _, err := ctl.DescribeEndpoint(ctx, westScope, "life", ""); !isCode(err, awserr.CodeResourceNotFound) {
		t.Errorf("describe in the secondary without HomeRegion: %v", err)
	}
	if got, err := ctl.DescribeEndpoint(ctx, westScope, "life", "us-east-1"); err != nil || got.ID != e.ID {
		t.Errorf("describe with HomeRegion: %v %v", got, err)
	}
	if _, err := ctl.UpdateEndpoint(ctx, sc, control.EndpointInput{Name: "life", Description: aws.String("x")}); !isCode(err, awserr.CodeConcurrentModification) {
		t.Errorf("update while CREATING: %v", err)
	}
	settle := func(failure string) *control.Endpoint {
		t.Helper()
		cur, rev := view.Endpoint(sc, "life")
		if ok, err := ctl.SettleEndpoint(ctx, cur, rev, failure); !ok || err != nil {
			t.Fatalf("settle: %v %v", ok, err)
		}
		got, _ := view.Endpoint(sc, "life")
		return got
	}
	if got := settle(""); got.State != control.EndpointActive {
		t.Fatalf("state %s", got.State)
	}
	up, err := ctl.UpdateEndpoint(ctx, sc, control.EndpointInput{Name: "life", Description: aws.String("now described"),
		Replication: aws.String(control.ReplicationDisabled)})
	if err != nil || up.State != control.EndpointUpdating || up.Description != "now described" || up.RoleArn != role || up.ID != e.ID {
		t.Fatalf("update: %+v %v", up, err)
	}
	if got := settle("Health check x does not exist."); got.State != control.EndpointUpdateFailed || got.StateReason == "" {
		t.Fatalf("state %s %q", got.State, got.StateReason)
	}
	if err := ctl.DeleteEndpoint(ctx, sc, "life"); err != nil {
		t.Fatal(err)
	}
	if got, _ := view.Endpoint(sc, "life"); got.State != control.EndpointDeleting || got.Routable() {
		t.Fatalf("after delete: %s", got.State)
	}
	if got := settle(""); got != nil {
		t.Fatalf("still there: %+v", got)
	}
	if got, _ := view.EndpointByID(sc.Account, e.ID); got != nil {
		t.Error("still found by id")
	}
	if err := ctl.DeleteEndpoint(ctx, sc, "life"); !isCode(err, awserr.CodeResourceNotFound) {
		t.Errorf("delete again: %v", err)
	}

	quota := control.Scope{Account: "111122223333", Region: "eu-central-1"}
	in := func(n int) control.EndpointInput {
		i := endpointInput("q" + string(rune('0'+n/10)) + string(rune('0'+n%10)) + "x")
		i.EventBuses = []string{strings.Replace(east, "us-east-1", "eu-central-1", 1), west}
		return i
	}
	for n := 0; n < control.MaxEndpoints; n++ {
		if _, err := ctl.CreateEndpoint(ctx, quota, in(n%100)); err != nil {
			t.Fatalf("endpoint %d: %v", n, err)
		}
	}
	extra := in(0)
	extra.Name = "one-too-many"
	if _, err := ctl.CreateEndpoint(ctx, quota, extra); !isCode(err, awserr.CodeLimitExceeded) {
		t.Errorf("101st endpoint: %v", err)
	}
	list, next, err := ctl.ListEndpoints(ctx, quota, "q0", "", aws.Int32(5), nil)
	if err != nil || len(list) != 5 || next == nil {
		t.Fatalf("list: %d %v %v", len(list), next, err)
	}
	rest, next2, err := ctl.ListEndpoints(ctx, quota, "q0", "", nil, next)
	if err != nil || len(rest) != 5 || next2 != nil || rest[0].Name <= list[4].Name {
		t.Fatalf("second page: %d %v %v", len(rest), next2, err)
	}
}

func isCode(err error, code string) bool {
	ae, ok := awserr.As(err)
	return ok && ae.Code == code
}
