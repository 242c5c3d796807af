"""Persistence: a server stopped with SIGTERM and started again on the
same data directory has every bus, rule, target and tag, and delivers."""

import json
import unittest

from . import harness


class PersistenceTest(unittest.TestCase):

    def setUp(self):
        self.data_dir = harness.mkdtemp()
        self.addCleanup(harness.rmtemp, self.data_dir)
        self.server = None
        self.addCleanup(self._stop)

    def _stop(self):
        if self.server is not None:
            self.server.stop()

    def start(self):
        self.server = harness.Server(data_dir=self.data_dir).start()
        return self.server

    def test_restart_keeps_everything(self):
        recv = harness.Receiver()
        self.addCleanup(recv.close)
        acct, region = "444455556666", "eu-central-1"

        c = self.start().client(account=acct, region=region)
        c.create_event_bus(Name="kept", Description="survives", Tags=[{"Key": "tier", "Value": "gold"}])
        c.create_event_bus(Name="dropped")
        c.delete_event_bus(Name="dropped")
        c.put_rule(Name="orders", EventBusName="kept", State="DISABLED", Description="rule desc",
                   EventPattern=json.dumps({"source": ["app.orders"]}), Tags=[{"Key": "owner", "Value": "me"}])
        c.put_rule(Name="tick", ScheduleExpression="rate(1 day)")
        targets = [{"Id": "hook", "Arn": recv.url},
                   {"Id": "q", "Arn": "arn:aws:sqs:eu-central-1:444455556666:q", "Input": '{"a": 1}',
                    "RetryPolicy": {"MaximumRetryAttempts": 2}}]
        c.put_targets(Rule="orders", EventBusName="kept", Targets=targets)
        c.tag_resource(ResourceARN="arn:aws:events:%s:%s:event-bus/default" % (region, acct),
                       Tags=[{"Key": "d", "Value": "1"}])
        before_bus = c.describe_event_bus(Name="kept")
        before_rule = c.describe_rule(Name="orders", EventBusName="kept")
        # Another scope too.
        other = self.server.client(account="777788889999", region="us-east-1")
        other.create_event_bus(Name="kept")

        self.assertEqual(self.server.stop(), 0, "switchyard did not exit cleanly on SIGTERM")

        c = self.start().client(account=acct, region=region)
        self.assertEqual(sorted(b["Name"] for b in c.list_event_buses()["EventBuses"]), ["default", "kept"])
        bus = c.describe_event_bus(Name="kept")
        self.assertEqual(bus["Description"], "survives")
        self.assertEqual(bus["Arn"], before_bus["Arn"])
        self.assertEqual(bus["CreationTime"], before_bus["CreationTime"])
        with self.assertRaises(c.exceptions.ResourceNotFoundException):
            c.describe_event_bus(Name="dropped")
        after_rule = c.describe_rule(Name="orders", EventBusName="kept")
        for d in (before_rule, after_rule):
            d.pop("ResponseMetadata")
        self.assertEqual(after_rule, before_rule)
        self.assertEqual(c.describe_rule(Name="tick")["ScheduleExpression"], "rate(1 day)")
        got = c.list_targets_by_rule(Rule="orders", EventBusName="kept")["Targets"]
        self.assertEqual(sorted(got, key=lambda t: t["Id"]), sorted(targets, key=lambda t: t["Id"]))
        self.assertEqual(c.list_tags_for_resource(ResourceARN=bus["Arn"])["Tags"], [{"Key": "tier", "Value": "gold"}])
        self.assertEqual(c.list_tags_for_resource(ResourceARN=before_rule["Arn"])["Tags"],
                         [{"Key": "owner", "Value": "me"}])
        self.assertEqual(c.list_tags_for_resource(
            ResourceARN="arn:aws:events:%s:%s:event-bus/default" % (region, acct))["Tags"], [{"Key": "d", "Value": "1"}])
        other = self.server.client(account="777788889999", region="us-east-1")
        self.assertEqual(other.describe_event_bus(Name="kept")["Name"], "kept")
        self.assertEqual(other.list_rules(EventBusName="kept")["Rules"], [])

        # The restored rule routes once enabled.
        c.enable_rule(Name="orders", EventBusName="kept")
        out = c.put_events(Entries=[{"Source": "app.orders", "DetailType": "X", "Detail": '{"after": "restart"}',
                                     "EventBusName": "kept"}])
        ev = recv.wait_for_id(out["Entries"][0]["EventId"])
        self.assertEqual(ev["detail"], {"after": "restart"})
        self.assertEqual(ev["account"], acct)

    def test_events_accepted_before_stop_are_delivered(self):
        # An event acknowledged by PutEvents is durable: put it while the
        # target is down, stop the server, restart, and it arrives.
        recv = harness.Receiver(status=503)
        self.addCleanup(recv.close)
        c = self.start().client()
        c.put_rule(Name="r", EventPattern=json.dumps({"source": ["app.durable"]}))
        c.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": recv.url}])
        eid = c.put_events(Entries=[{"Source": "app.durable", "DetailType": "X", "Detail": "{}"}])["Entries"][0]["EventId"]
        recv.wait_for(1)  # the first attempt fails with 503
        self.assertEqual(self.server.stop(), 0)
        recv.status = 200
        recv.requests.clear()
        self.start()
        self.assertEqual(recv.wait_for_id(eid, timeout=30)["id"], eid)
