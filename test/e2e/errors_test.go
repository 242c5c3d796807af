package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// TestErrorMessages: the answers to operations on what does not exist, or
// is in no state for the operation, with AWS's code and message. Each row
// names where the message comes from: AWS's answers recorded by LocalStack's
// AWS-validated tests (tests/aws/services/events/*.snapshot.json in
// localstack/localstack: "snapshot" below), AWS's answers quoted in public
// issues, or moto's EventBridge (moto/events/models.py), which follows
// AWS's messages.
func TestErrorMessages(t *testing.T) {
	s := startServer(t)
	c := s.client("123456789012", "us-east-1")
	cx := ctx(t)
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	mustRule(t, c, "orders", "with-target", `{"source":["x"]}`, "http://127.0.0.1:9/hook")
	if _, err := c.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("keep"),
		EventSourceArn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default")}); err != nil {
		t.Fatal(err)
	}
	const managed = "Events-Archive-keep" // the archive's managed rule
	q := aws.String("arn:aws:sqs:us-east-1:123456789012:q")
	nobus := aws.String("nobus")
	conn := "arn:aws:events:us-east-1:123456789012:connection/nope/1c2f0b1e-0b0b-4b0b-8b0b-0b0b0b0b0b0b"

	const (
		connMissing  = "Failed to describe the connection(s). Connection 'nope' does not exist."              // snapshot: describe-deleted-connection
		destMissing  = "Failed to describe the api-destination(s). An api-destination 'nope' does not exist." // snapshot: describe-api-destination-not-found-error
		busMissing   = "Event bus nobus does not exist."                                                      // snapshot: test_put_events_nonexistent_event_bus, test_create_archive_error_unknown_event_bus
		ruleMissing  = "Rule nope does not exist on EventBus orders."                                         // snapshot: test_describe_nonexistent_rule
		managedForce = managed + " is a managed rule. Set 'force' parameter to true to override."             // rebuy-de/aws-nuke#448, cloud-custodian/cloud-custodian#10308
	)
	for _, e := range []struct {
		name, code, msg string
		call            func() error
	}{
		// Connections and API destinations that do not exist.
		{"DescribeConnection", "ResourceNotFoundException", connMissing, func() error {
			_, err := c.DescribeConnection(cx, &eventbridge.DescribeConnectionInput{Name: aws.String("nope")})
			return err
		}},
		{"UpdateConnection", "ResourceNotFoundException", connMissing, func() error {
			_, err := c.UpdateConnection(cx, &eventbridge.UpdateConnectionInput{Name: aws.String("nope"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
				AuthParameters: &types.UpdateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.UpdateConnectionApiKeyAuthRequestParameters{
					ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
			return err
		}},
		{"DeleteConnection", "ResourceNotFoundException", connMissing, func() error {
			_, err := c.DeleteConnection(cx, &eventbridge.DeleteConnectionInput{Name: aws.String("nope")})
			return err
		}},
		{"DeauthorizeConnection", "ResourceNotFoundException", connMissing, func() error {
			_, err := c.DeauthorizeConnection(cx, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("nope")})
			return err
		}},
		{"CreateApiDestination with a connection that does not exist", "ResourceNotFoundException", connMissing, func() error {
			_, err := c.CreateApiDestination(cx, &eventbridge.CreateApiDestinationInput{Name: aws.String("d"), ConnectionArn: aws.String(conn),
				InvocationEndpoint: aws.String("https://example.com/"), HttpMethod: types.ApiDestinationHttpMethodPost})
			return err
		}},
		{"DescribeApiDestination", "ResourceNotFoundException", destMissing, func() error {
			_, err := c.DescribeApiDestination(cx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("nope")})
			return err
		}},
		{"UpdateApiDestination", "ResourceNotFoundException", destMissing, func() error {
			_, err := c.UpdateApiDestination(cx, &eventbridge.UpdateApiDestinationInput{Name: aws.String("nope"), InvocationEndpoint: aws.String("https://example.com/")})
			return err
		}},
		{"DeleteApiDestination", "ResourceNotFoundException", destMissing, func() error {
			_, err := c.DeleteApiDestination(cx, &eventbridge.DeleteApiDestinationInput{Name: aws.String("nope")})
			return err
		}},

		// Rules and targets on a named bus that does not exist.
		{"PutRule on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: nobus, EventPattern: aws.String(`{"source":["x"]}`)})
			return err
		}},
		{"PutTargets on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), EventBusName: nobus, Targets: []types.Target{{Id: aws.String("1"), Arn: q}}})
			return err
		}},
		{"ListTargetsByRule on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), EventBusName: nobus})
			return err
		}},
		{"DescribeRule on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("r"), EventBusName: nobus})
			return err
		}},
		{"DeleteRule on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.DeleteRule(cx, &eventbridge.DeleteRuleInput{Name: aws.String("r"), EventBusName: nobus})
			return err
		}},
		{"EnableRule on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.EnableRule(cx, &eventbridge.EnableRuleInput{Name: aws.String("r"), EventBusName: nobus})
			return err
		}},
		{"DisableRule on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.DisableRule(cx, &eventbridge.DisableRuleInput{Name: aws.String("r"), EventBusName: nobus})
			return err
		}},
		{"RemoveTargets on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.RemoveTargets(cx, &eventbridge.RemoveTargetsInput{Rule: aws.String("r"), EventBusName: nobus, Ids: []string{"1"}})
			return err
		}},
		{"ListRules on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.ListRules(cx, &eventbridge.ListRulesInput{EventBusName: nobus})
			return err
		}},
		{"ListRuleNamesByTarget on a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.ListRuleNamesByTarget(cx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: q, EventBusName: nobus})
			return err
		}},
		{"PutRule on a missing bus by its ARN", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/nobus"),
				EventPattern: aws.String(`{"source":["x"]}`)})
			return err
		}},

		// Rules that do not exist on a bus that does.
		{"DescribeRule of a missing rule", "ResourceNotFoundException", ruleMissing, func() error {
			_, err := c.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("nope"), EventBusName: aws.String("orders")})
			return err
		}},
		{"PutTargets on a missing rule", "ResourceNotFoundException", ruleMissing, func() error {
			_, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("nope"), EventBusName: aws.String("orders"), Targets: []types.Target{{Id: aws.String("1"), Arn: q}}})
			return err
		}},
		{"ListTargetsByRule of a missing rule", "ResourceNotFoundException", ruleMissing, func() error {
			_, err := c.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("nope"), EventBusName: aws.String("orders")})
			return err
		}},

		// Buses and rules in no state to be deleted.
		{"DeleteEventBus of a bus with rules", "ValidationException", "EventBus can't be deleted since it has rules.", func() error {
			// AWS's answer, as Terraform's and SST's users met it; the API
			// reference: "All rules associated with this event bus need to
			// be deleted."
			_, err := c.DeleteEventBus(cx, &eventbridge.DeleteEventBusInput{Name: aws.String("orders")})
			return err
		}},
		{"DeleteEventBus of the default bus", "ValidationException", "Cannot delete event bus default.", func() error { // snapshot: test_delete_default_event_bus
			_, err := c.DeleteEventBus(cx, &eventbridge.DeleteEventBusInput{Name: aws.String("default")})
			return err
		}},
		{"DeleteRule of a rule with targets", "ValidationException", "Rule can't be deleted since it has targets.", func() error { // snapshot: test_delete_rule_with_targets
			_, err := c.DeleteRule(cx, &eventbridge.DeleteRuleInput{Name: aws.String("with-target"), EventBusName: aws.String("orders")})
			return err
		}},
		{"DeleteRule of a managed rule without Force", "ManagedRuleException", managedForce, func() error {
			_, err := c.DeleteRule(cx, &eventbridge.DeleteRuleInput{Name: aws.String(managed)})
			return err
		}},
		{"RemoveTargets of a managed rule without Force", "ManagedRuleException", managedForce, func() error {
			_, err := c.RemoveTargets(cx, &eventbridge.RemoveTargetsInput{Rule: aws.String(managed), Ids: []string{"1"}})
			return err
		}},

		// Archives that do not exist or already do (snapshot:
		// test_archive_and_replay). UpdateArchive of a missing archive
		// is the exception: AWS answers it with an InternalException
		// (test_update_archive_error_unknown_archive), a 500 that SDKs
		// retry; Switchyard answers ResourceNotFoundException, as for
		// DescribeArchive and DeleteArchive.
		{"DescribeArchive", "ResourceNotFoundException", "Archive nope does not exist.", func() error {
			_, err := c.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("nope")})
			return err
		}},
		{"UpdateArchive", "ResourceNotFoundException", "Archive nope does not exist.", func() error {
			_, err := c.UpdateArchive(cx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("nope")})
			return err
		}},
		{"DeleteArchive", "ResourceNotFoundException", "Archive nope does not exist.", func() error {
			_, err := c.DeleteArchive(cx, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("nope")})
			return err
		}},
		{"CreateArchive with a name in use", "ResourceAlreadyExistsException", "Archive keep already exists.", func() error {
			_, err := c.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("keep"),
				EventSourceArn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/orders")})
			return err
		}},
		{"ListArchives of a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.ListArchives(cx, &eventbridge.ListArchivesInput{EventSourceArn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/nobus")})
			return err
		}},
		{"CreateArchive of a missing bus", "ResourceNotFoundException", busMissing, func() error {
			_, err := c.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("other"),
				EventSourceArn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/nobus")})
			return err
		}},
	} {
		wantAPIError(t, e.name, e.call(), e.code, e.msg)
	}
	// With Force, a managed rule's targets and the rule itself go.
	if _, err := c.DeleteRule(cx, &eventbridge.DeleteRuleInput{Name: aws.String(managed), Force: true}); err != nil {
		t.Errorf("DeleteRule of the managed rule with Force: %v", err)
	}
}
