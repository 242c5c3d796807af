"""Event buses: CreateEventBus, DescribeEventBus, ListEventBuses,
UpdateEventBus, DeleteEventBus."""

import datetime
import itertools
import json
import time
import unittest

from . import harness

ACCT = harness.DEFAULT_ACCOUNT
REGION = harness.DEFAULT_REGION


def bus_arn(name, account=ACCT, region=REGION):
    return "arn:aws:events:%s:%s:event-bus/%s" % (region, account, name)


class BusTest(harness.ServerTestCase):

    def test_create_returns_arn_and_description(self):
        name = harness.unique("bus")
        out = self.events.create_event_bus(Name=name, Description="orders of the shop")
        self.assertEqual(out["EventBusArn"], bus_arn(name))
        self.assertEqual(out["Description"], "orders of the shop")

    def test_describe_by_name_and_by_arn(self):
        name = harness.unique("bus")
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
        self.events.create_event_bus(Name=name, Description="d1")
        for ref in (name, bus_arn(name)):
            d = self.events.describe_event_bus(Name=ref)
            self.assertEqual(d["Name"], name)
            self.assertEqual(d["Arn"], bus_arn(name))
            self.assertEqual(d["Description"], "d1")
            self.assertIsInstance(d["CreationTime"], datetime.datetime)
            self.assertGreaterEqual(d["CreationTime"], start)
            self.assertLessEqual(d["CreationTime"], datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2))
            self.assertIsInstance(d["LastModifiedTime"], datetime.datetime)

    def test_default_bus_exists(self):
        acct = harness.fresh_account()
        c = self.server.client(account=acct)
        d = c.describe_event_bus()
        self.assertEqual(d["Name"], "default")
        self.assertEqual(d["Arn"], bus_arn("default", account=acct))
        d2 = c.describe_event_bus(Name="default")
        self.assertEqual(d2["Arn"], d["Arn"])
        names = [b["Name"] for b in c.list_event_buses()["EventBuses"]]
        self.assertEqual(names, ["default"])

    def test_default_bus_cannot_be_deleted(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.delete_event_bus(Name="default")
        self.assertAwsError(cm, "ValidationException", "Cannot delete event bus default.")
        self.assertEqual(self.events.describe_event_bus(Name="default")["Name"], "default")

    def test_duplicate_bus(self):
        name = self.new_bus()
        with self.assertRaises(self.events.exceptions.ResourceAlreadyExistsException) as cm:
            self.events.create_event_bus(Name=name)
        self.assertAwsError(cm, "ResourceAlreadyExistsException", "Event bus %s already exists." % name)

    def test_describe_missing_bus(self):
        name = harness.unique("nobus")
        for ref in (name, bus_arn(name)):
            with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
                self.events.describe_event_bus(Name=ref)
            self.assertAwsError(cm, "ResourceNotFoundException", "Event bus %s does not exist." % name)

    def test_list_with_prefix_limit_and_paging(self):
        acct = harness.fresh_account()
        c = self.server.client(account=acct)
        names = ["shop-%d" % i for i in range(5)]
        for n in reversed(names):
            c.create_event_bus(Name=n, Description="desc " + n)
        c.create_event_bus(Name="other")

        everything = c.list_event_buses()
        self.assertNotIn("NextToken", everything)
        self.assertEqual(sorted(b["Name"] for b in everything["EventBuses"]), sorted(["default", "other"] + names))

        got, pages = [], 0
        for out in harness.pages(c.list_event_buses, NamePrefix="shop-", Limit=2):
            pages += 1
            self.assertLessEqual(len(out["EventBuses"]), 2)
            got += out["EventBuses"]
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(b["Name"] for b in got), names)
        for b in got:
            self.assertEqual(b["Arn"], bus_arn(b["Name"], account=acct))
            self.assertEqual(b["Description"], "desc " + b["Name"])
            self.assertIsInstance(b["CreationTime"], datetime.datetime)

        self.assertEqual(c.list_event_buses(NamePrefix="nothing-like-this")["EventBuses"], [])

    def test_list_paginator(self):
        c = self.server.client(account=harness.fresh_account())
        for i in range(3):
            c.create_event_bus(Name="p%d" % i)
        # boto3 has no paginator for ListEventBuses; page by hand with Limit=1.
        seen = []
        for out in itertools.islice(harness.pages(c.list_event_buses, Limit=1), 10):
            seen += [b["Name"] for b in out["EventBuses"]]
        self.assertEqual(sorted(seen), ["default", "p0", "p1", "p2"])
        self.assertEqual(len(seen), 4)

    def test_update_description(self):
        name = self.new_bus()
        out = self.events.update_event_bus(Name=name, Description="new words")
        self.assertEqual(out["Arn"], bus_arn(name))
        self.assertEqual(out["Name"], name)
        self.assertEqual(out["Description"], "new words")
        d = self.events.describe_event_bus(Name=name)
        self.assertEqual(d["Description"], "new words")
        self.assertGreaterEqual(d["LastModifiedTime"], d["CreationTime"])

    def test_update_missing_bus(self):
        name = harness.unique("nobus")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.update_event_bus(Name=name, Description="x")
        self.assertAwsError(cm, "ResourceNotFoundException", "Event bus %s does not exist." % name)

    def test_delete_bus(self):
        name = self.new_bus()
        self.events.delete_event_bus(Name=name)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.describe_event_bus(Name=name)
        self.assertNotIn(name, [b["Name"] for b in self.events.list_event_buses(NamePrefix=name)["EventBuses"]])
        # Deleting again (or a bus that never existed) succeeds.
        self.events.delete_event_bus(Name=name)
        # The name can be used again.
        self.events.create_event_bus(Name=name)
        self.events.delete_event_bus(Name=name)

    # AWS refuses to delete a bus that still has rules: ValidationException
    # "EventBus can't be deleted since it has rules." (seen by Terraform's
    # and SST's users; the API reference: "All rules associated with this event
    # bus need to be deleted.").
    def test_delete_bus_with_rules_is_refused(self):
        name = self.new_bus()
        self.events.put_rule(Name="r1", EventBusName=name, EventPattern='{"source":["x"]}')
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.delete_event_bus(Name=name)
        self.assertAwsError(cm, "ValidationException", "EventBus can't be deleted since it has rules.")

    def test_invalid_bus_names(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.create_event_bus(Name="bad name")
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+")
        long = "b" * 257
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.create_event_bus(Name=long)
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: "
                            "Member must have length less than or equal to 256" % long)

    def test_bus_name_max_length_accepted(self):
        name = "m" * 240 + harness.unique("")[-10:]
        self.assertEqual(len(name), 250)
        self.assertEqual(self.events.create_event_bus(Name=name)["EventBusArn"], bus_arn(name))
        self.events.delete_event_bus(Name=name)

    def test_describe_bus_in_other_account_arn(self):
        name = self.new_bus()
        other = bus_arn(name, account="210987654321")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.describe_event_bus(Name=other)

    def test_events_on_custom_bus_not_seen_on_default(self):
        recv_default, recv_custom = self.receiver(), self.receiver()
        src = harness.unique("app")
        name = self.new_bus()
        rule = harness.unique("r")
        pattern = json.dumps({"source": [src]})
        self.events.put_rule(Name=rule, EventPattern=pattern)
        self.events.put_targets(Rule=rule, Targets=[{"Id": "d", "Arn": recv_default.url}])
        self.events.put_rule(Name=rule, EventBusName=name, EventPattern=pattern)
        self.events.put_targets(Rule=rule, EventBusName=name, Targets=[{"Id": "c", "Arn": recv_custom.url}])
        eid = self.put_event(source=src, bus=name)
        recv_custom.wait_for_id(eid)
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(recv_default.events(), [])
        self.events.delete_rule(Name=rule, Force=True)
