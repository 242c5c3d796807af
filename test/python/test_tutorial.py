"""The getting-started flow, end to end: bus, rule, HTTP target, events,
and the envelope that reaches the target."""

import datetime
import json
import re
import time
import uuid

from . import harness

RFC3339_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


class TutorialTest(harness.ServerTestCase):

    def test_orders_flow(self):
        account, region = "111122223333", "eu-west-1"
        c = self.server.client(region=region, account=account)
        recv = self.receiver()

        bus = harness.unique("orders")
        out = c.create_event_bus(Name=bus)
        bus_arn = "arn:aws:events:%s:%s:event-bus/%s" % (region, account, bus)
        self.assertEqual(out["EventBusArn"], bus_arn)

        pattern = {"source": ["app.orders"], "detail-type": ["OrderCreated"]}
        out = c.put_rule(Name="order-created", EventBusName=bus, EventPattern=json.dumps(pattern))
        self.assertEqual(out["RuleArn"], "arn:aws:events:%s:%s:rule/%s/order-created" % (region, account, bus))

        out = c.put_targets(Rule="order-created", EventBusName=bus, Targets=[{"Id": "hook", "Arn": recv.url}])
        self.assertEqual(out["FailedEntryCount"], 0)
        self.assertEqual(out["FailedEntries"], [])

        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        detail = {"orderId": "o-1", "amount": 42.5, "items": [{"sku": "A", "qty": 2}], "gift": False, "note": None}
        out = c.put_events(Entries=[
            {"Source": "app.orders", "DetailType": "OrderCreated", "Detail": json.dumps(detail),
             "Resources": ["arn:aws:s3:::orders-bucket"], "EventBusName": bus},
            {"Source": "app.orders", "DetailType": "OrderShipped", "Detail": "{}", "EventBusName": bus},
            {"Source": "app.billing", "DetailType": "OrderCreated", "Detail": "{}", "EventBusName": bus},
        ])
        self.assertEqual(out["FailedEntryCount"], 0)
        self.assertEqual(len(out["Entries"]), 3)
        ids = [e["EventId"] for e in out["Entries"]]
        for e in out["Entries"]:
            uuid.UUID(e["EventId"])  # a UUID
            self.assertEqual(set(e), {"EventId"})
        self.assertEqual(len(set(ids)), 3)

        ev = recv.wait_for_id(ids[0])
        after = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(set(ev), ENVELOPE_KEYS)
        self.assertEqual(ev["version"], "0")
        self.assertEqual(ev["id"], ids[0])
        self.assertEqual(ev["detail-type"], "OrderCreated")
        self.assertEqual(ev["source"], "app.orders")
        self.assertEqual(ev["account"], account)
        self.assertEqual(ev["region"], region)
        self.assertEqual(ev["resources"], ["arn:aws:s3:::orders-bucket"])
        self.assertEqual(ev["detail"], detail)
        self.assertRegex(ev["time"], RFC3339_SECONDS)
        t = datetime.datetime.strptime(ev["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        self.assertTrue(before <= t <= after, (before, t, after))

        # The request is a JSON POST.
        req = recv.requests[0]
        self.assertEqual(req["path"], "/hook")
        self.assertIn("application/json", req["headers"].get("Content-Type", ""))

        # The two events that do not match never arrive.
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual([e["id"] for e in recv.events()], [ids[0]])

    def test_default_bus_flow_with_empty_resources(self):
        recv = self.receiver()
        src = "app." + uuid.uuid4().hex[:8]
        rule = harness.unique("r")
        self.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
        self.events.put_targets(Rule=rule, Targets=[{"Id": "1", "Arn": recv.url}])
        eid = self.put_event(source=src, detail_type="Ping", detail={"n": 1})
        ev = recv.wait_for_id(eid)
        self.assertEqual(ev["resources"], [])
        self.assertEqual(ev["account"], harness.DEFAULT_ACCOUNT)
        self.assertEqual(ev["region"], harness.DEFAULT_REGION)
        self.assertEqual(ev["detail"], {"n": 1})
        self.events.remove_targets(Rule=rule, Ids=["1"])
        self.events.delete_rule(Name=rule)
