"""Delivery to targets: the envelope's byte form, Input/InputPath/
InputTransformer, and retries within a target's RetryPolicy."""

import json
import time

from . import harness


class DeliveryTest(harness.ServerTestCase):

    def route(self, recv, **target):
        bus = self.new_bus()
        src = harness.unique("app")
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": [src]}))
        t = {"Id": "1", "Arn": recv.url}
        t.update(target)
        self.events.put_targets(Rule="r", EventBusName=bus, Targets=[t])
        return bus, src

    def test_envelope_field_order(self):
        recv = self.receiver()
        bus, src = self.route(recv)
        eid = self.put_event(source=src, bus=bus, detail={"z": 1, "a": 2})
        recv.wait_for_id(eid)
        doc = json.loads(recv.requests[0]["body"], object_pairs_hook=lambda pairs: pairs)
        self.assertEqual([k for k, _ in doc],
                         ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"])
        self.assertEqual([k for k, _ in dict(doc)["detail"]], ["z", "a"])

    def test_input_constant(self):
        recv = self.receiver()
        bus, src = self.route(recv, Input='{"fixed": "text"}')
        self.put_event(source=src, bus=bus)
        self.assertEqual(recv.wait_for(1), [{"fixed": "text"}])

    # "If InputPath is specified in the form of JSONPath (for example,
    # $.detail), then only the part of the event specified in the path is
    # passed to the target" (PutTargets, API reference).
    def test_input_path(self):
        recv = self.receiver()
        bus, src = self.route(recv, InputPath="$.detail")
        self.put_event(source=src, bus=bus, detail={"order": {"id": 7}})
        self.assertEqual(recv.wait_for(1), [{"order": {"id": 7}}])

    # InputTransformer: "one or more specified JSONPaths are extracted from the
    # event and used as values in a template" (PutTargets, API reference).
    def test_input_transformer(self):
        recv = self.receiver()
        bus, src = self.route(recv, InputTransformer={
            "InputPathsMap": {"id": "$.detail.id", "src": "$.source"},
            "InputTemplate": '{"order": <id>, "from": <src>}'})
        self.put_event(source=src, bus=bus, detail={"id": "o-1"})
        self.assertEqual(recv.wait_for(1), [{"order": "o-1", "from": src}])

    def test_failed_delivery_is_retried(self):
        recv = self.receiver(statuses=[503, 500])
        bus, src = self.route(recv)
        eid = self.put_event(source=src, bus=bus)
        reqs = recv.wait_for(3, timeout=20)
        self.assertEqual([r["id"] for r in reqs[:3]], [eid] * 3)
        self.assertEqual([r["status"] for r in recv.requests[:3]], [503, 500, 200])
        # Backoff between attempts.
        self.assertGreater(recv.requests[1]["time"] - recv.requests[0]["time"], 0.3)
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(len(recv.requests), 3)

    def test_retry_policy_zero_attempts(self):
        recv = self.receiver(status=500)
        bus, src = self.route(recv, RetryPolicy={"MaximumRetryAttempts": 0})
        self.put_event(source=src, bus=bus)
        recv.wait_for(1)
        time.sleep(2.5)  # a retry would come after about a second
        self.assertEqual(len(recv.requests), 1)

    def test_client_error_is_not_retried(self):
        recv = self.receiver(status=400)
        bus, src = self.route(recv)
        self.put_event(source=src, bus=bus)
        recv.wait_for(1)
        time.sleep(2.5)
        self.assertEqual(len(recv.requests), 1)
