package api

import (
	"testing"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/store"
)

// The resource of each operation is the ARN IAM's EventBridge table names
// for it ("Actions, resources, and condition keys for Amazon EventBridge").
func TestResourceOf(t *testing.T) {
	_, ctl := controltest.Open(t, store.Config{})
	sc := control.Scope{Account: "123456789012", Region: "eu-west-1"}
	const p = "arn:aws:events:eu-west-1:123456789012:"
	for _, tt := range []struct{ op, body, want string }{
		{"CreateEventBus", `{"Name":"orders"}`, p + "event-bus/orders"},
		{"DescribeEventBus", `{}`, p + "event-bus/default"},
		{"DescribeEventBus", `{"Name":"arn:aws:events:eu-west-1:123456789012:event-bus/x"}`, p + "event-bus/x"},
		{"PutPermission", `{"EventBusName":"orders"}`, p + "event-bus/orders"},
		{"PutRule", `{"Name":"r","EventBusName":"arn:aws:events:eu-west-1:123456789012:event-bus/aws.partner/saas/x"}`, p + "rule/aws.partner/saas/x/r"},
		{"PutRule", `{"Name":"r"}`, p + "rule/r"},
		{"PutRule", `{"Name":"r","EventBusName":"orders"}`, p + "rule/orders/r"},
		{"PutTargets", `{"Rule":"r","EventBusName":"arn:aws:events:eu-west-1:123456789012:event-bus/orders"}`, p + "rule/orders/r"},
		{"TagResource", `{"ResourceARN":"` + p + `rule/r"}`, p + "rule/r"},
		{"CreateArchive", `{"ArchiveName":"a"}`, p + "archive/a"},
		{"StartReplay", `{"ReplayName":"x"}`, p + "replay/x"},
		{"CreateConnection", `{"Name":"c"}`, p + "connection/c"},
		{"CreateEndpoint", `{"Name":"e"}`, p + "endpoint/e"},
		{"ListRules", `{}`, "*"},
		{"ListEventBuses", `not json`, "*"},
	} {
		if got := resourceOf(ctl.View(), sc, tt.op, []byte(tt.body)); got != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.op, tt.body, got, tt.want)
		}
	}
}
