package awstarget

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/testpeer"
)

// TestOpsItem: an SSM OpsItem target calls CreateOpsItem with the members
// of the target's input template ("Configuring EventBridge to
// automatically create OpsItems for specific events", Systems Manager
// User Guide), and, given the whole event, with what Switchyard makes of
// it.
func TestOpsItem(t *testing.T) {
	e := newKindsEnv(t)
	arn := "arn:aws:ssm:" + kindsRegion + ":" + testpeer.Account + ":opsitem"
	for _, c := range []struct {
		name  string
		input *string
		event string
		want  string // the CreateOpsItem body, as JSON with sorted keys
	}{
		{"the input template", aws.String(`{"title":"EBS snapshot copy failed","description":"Your EBS snapshot copy has failed.",` +
			`"category":"Availability","severity":"2","source":"EC2","resources":["arn:aws:ec2:us-east-1:123456789012:snapshot/snap-1"],` +
			`"operationalData":{"/aws/dedup":{"type":"SearchableString","value":"{\"dedupString\":\"SSMOpsItems-EBS-snapshot-copy-failed\"}"},` +
			`"/aws/automations":{"value":"[ { \"automationType\": \"AWS:SSM:Automation\", \"automationId\": \"AWS-CopySnapshot\" } ]"},` +
			`"failure-cause":{"value":"quota"},"attempts":{"value":3}}}`), kindsEvent,
			`{"Category":"Availability","Description":"Your EBS snapshot copy has failed.","OperationalData":{` +
				`"/aws/automations":{"Value":"[ { \"automationType\": \"AWS:SSM:Automation\", \"automationId\": \"AWS-CopySnapshot\" } ]"},` +
				`"/aws/dedup":{"Type":"SearchableString","Value":"{\"dedupString\":\"SSMOpsItems-EBS-snapshot-copy-failed\"}"},` +
				`"/aws/resources":{"Type":"SearchableString","Value":"[{\"arn\":\"arn:aws:ec2:us-east-1:123456789012:snapshot/snap-1\"}]"},` +
				`"attempts":{"Value":"3"},"failure-cause":{"Value":"quota"}},"Severity":"2","Source":"EC2","Title":"EBS snapshot copy failed"}`},
		{"the whole event of an AWS service", nil,
			`{"version":"0","id":"e-2","detail-type":"EBS Snapshot Notification","source":"aws.ec2","account":"123456789012","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":["arn:aws:ec2::us-east-1:snapshot/snap-2"],"detail":{}}`,
			`{"Description":"Event e-2 from aws.ec2 matched rule arn:aws:events:us-east-1:` + testpeer.Account + `:rule/r.","OperationalData":{` +
				`"/aws/resources":{"Type":"SearchableString","Value":"[{\"arn\":\"arn:aws:ec2::us-east-1:snapshot/snap-2\"}]"},` +
				`"event":{"Type":"String","Value":"{\"version\":\"0\",\"id\":\"e-2\",\"detail-type\":\"EBS Snapshot Notification\",\"source\":\"aws.ec2\",\"account\":\"123456789012\",\"time\":\"2026-01-02T03:04:05Z\",\"region\":\"us-east-1\",\"resources\":[\"arn:aws:ec2::us-east-1:snapshot/snap-2\"],\"detail\":{}}"}},` +
				`"Source":"ec2","Title":"EBS Snapshot Notification"}`},
		{"a source with a reserved word", aws.String(`{"title":"t"}`),
			`{"id":"e-3","detail-type":"x","source":"com.amazon.shop","resources":[]}`,
			`{"Description":"Event e-3 from com.amazon.shop matched rule arn:aws:events:us-east-1:` + testpeer.Account + `:rule/r.","Source":"EventBridge","Title":"t"}`},
	} {
		_ = e.invoke(t, control.Target{Arn: arn, Input: c.input}, c.event)
		body := e.lastBody(t, "CreateOpsItem")
		if got := jsonOf(body); got != c.want {
			t.Errorf("%s: CreateOpsItem\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
	permanent(t, e.invoke(t, control.Target{Arn: arn, Input: aws.String(`["not","an","object"]`)}, kindsEvent), "an input that is no JSON object")
	t.Skip("moto_server does not implement CreateOpsItem: the requests reached it as above, but no OpsItem can be read back")
}
