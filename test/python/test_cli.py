"""The AWS CLI (`aws --endpoint-url ... events ...`) against the server."""

import json
import shutil
import unittest

from . import harness


@unittest.skipUnless(shutil.which("aws"), "the aws CLI is not installed")
class CliTest(harness.ServerTestCase):

    def aws(self, *args, **kw):
        p = self.server.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, "aws %s failed (%d):\n%s" % (" ".join(args), p.returncode, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else None

    def test_bus_rule_target_and_event(self):
        acct = harness.fresh_account()
        recv = self.receiver()
        bus = harness.unique("cli")
        out = self.aws("create-event-bus", "--name", bus, account=acct, region="us-west-2")
        self.assertEqual(out["EventBusArn"], "arn:aws:events:us-west-2:%s:event-bus/%s" % (acct, bus))

        pattern = json.dumps({"source": ["app.orders"], "detail-type": ["OrderCreated"]})
        out = self.aws("put-rule", "--name", "created", "--event-bus-name", bus, "--event-pattern", pattern,
                       account=acct, region="us-west-2")
        self.assertEqual(out["RuleArn"], "arn:aws:events:us-west-2:%s:rule/%s/created" % (acct, bus))

        out = self.aws("put-targets", "--rule", "created", "--event-bus-name", bus,
                       "--targets", json.dumps([{"Id": "hook", "Arn": recv.url}]), account=acct, region="us-west-2")
        self.assertEqual(out, {"FailedEntryCount": 0, "FailedEntries": []})

        out = self.aws("put-events", "--entries", json.dumps([
            {"Source": "app.orders", "DetailType": "OrderCreated", "Detail": json.dumps({"id": 7}),
             "EventBusName": bus},
            {"DetailType": "OrderCreated", "Detail": "{}", "EventBusName": bus},
        ]), account=acct, region="us-west-2")
        self.assertEqual(out["FailedEntryCount"], 1)
        eid = out["Entries"][0]["EventId"]
        self.assertEqual(out["Entries"][1], {"ErrorCode": "InvalidArgument",
                                             "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument."})
        ev = recv.wait_for_id(eid)
        self.assertEqual(ev["detail"], {"id": 7})
        self.assertEqual(ev["account"], acct)
        self.assertEqual(ev["region"], "us-west-2")

        # What the CLI wrote is what boto3 reads.
        c = self.server.client(account=acct, region="us-west-2")
        self.assertEqual(c.list_targets_by_rule(Rule="created", EventBusName=bus)["Targets"],
                         [{"Id": "hook", "Arn": recv.url}])
        out = self.aws("list-rules", "--event-bus-name", bus, account=acct, region="us-west-2")
        self.assertEqual([r["Name"] for r in out["Rules"]], ["created"])
        self.assertEqual(out["Rules"][0]["EventPattern"], pattern)

    def test_error_exit_code_and_message(self):
        bus = harness.unique("nobus")
        p = self.server.cli("describe-event-bus", "--name", bus)
        self.assertIn(p.returncode, (254, 255), p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn("An error occurred (ResourceNotFoundException) when calling the DescribeEventBus operation: "
                      "Event bus %s does not exist." % bus, p.stderr)

        p = self.server.cli("delete-event-bus", "--name", "default")
        self.assertIn(p.returncode, (254, 255), p.stderr)
        self.assertIn("An error occurred (ValidationException) when calling the DeleteEventBus operation: "
                      "Cannot delete event bus default.", p.stderr)

    def test_list_event_buses_paginates(self):
        acct = harness.fresh_account()
        c = self.server.client(account=acct)
        for i in range(3):
            c.create_event_bus(Name="page-%d" % i)
        out = self.aws("list-event-buses", "--name-prefix", "page-", "--limit", "2", account=acct)
        self.assertEqual([b["Name"] for b in out["EventBuses"]], ["page-0", "page-1"])
        out = self.aws("list-event-buses", "--name-prefix", "page-", "--limit", "2",
                       "--next-token", out["NextToken"], account=acct)
        self.assertEqual([b["Name"] for b in out["EventBuses"]], ["page-2"])
        self.assertNotIn("NextToken", out)

    def test_test_event_pattern(self):
        event = {"id": "1", "account": "123456789012", "source": "app.x", "time": "2024-01-01T00:00:00Z",
                 "region": "us-east-1", "resources": [], "detail-type": "T", "detail": {}}
        out = self.aws("test-event-pattern", "--event-pattern", '{"source": ["app.x"]}', "--event", json.dumps(event))
        self.assertEqual(out, {"Result": True})
        p = self.server.cli("test-event-pattern", "--event-pattern", '{"source": "app.x"}', "--event", json.dumps(event))
        self.assertIn(p.returncode, (254, 255))
        self.assertIn("An error occurred (InvalidEventPatternException) when calling the TestEventPattern operation: "
                      "Event pattern is not valid. Reason: ", p.stderr)
