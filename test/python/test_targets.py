"""Targets: PutTargets, ListTargetsByRule, RemoveTargets,
ListRuleNamesByTarget, and event-bus targets forwarding to another bus."""

import json
import time

from . import harness

ACCT = harness.DEFAULT_ACCOUNT
REGION = harness.DEFAULT_REGION
QUIET_PATTERN = json.dumps({"source": ["never.sent.source"]})

FULL_TARGETS = [
    {"Id": "lambda-1", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:handle",
     "InputTransformer": {"InputPathsMap": {"id": "$.detail.id", "src": "$.source"},
                          "InputTemplate": '{"order": <id>, "from": <src>}'},
     "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
     "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}},
    {"Id": "queue.fifo", "Arn": "arn:aws:sqs:us-east-1:123456789012:orders.fifo",
     "SqsParameters": {"MessageGroupId": "group-1"}, "InputPath": "$.detail"},
    {"Id": "stream_1", "Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
     "RoleArn": "arn:aws:iam::123456789012:role/put-records",
     "KinesisParameters": {"PartitionKeyPath": "$.detail.id"}, "Input": '{"constant": true}'},
    {"Id": "api", "Arn": "arn:aws:events:us-east-1:123456789012:api-destination/orders/0a1b2c3d",
     "RoleArn": "arn:aws:iam::123456789012:role/invoke-api",
     "HttpParameters": {"PathParameterValues": ["v1"], "HeaderParameters": {"X-Team": "orders"},
                        "QueryStringParameters": {"debug": "1"}}},
]


class TargetTest(harness.ServerTestCase):

    def rule(self, bus=None, pattern=QUIET_PATTERN):
        name = harness.unique("r")
        kw = {"EventBusName": bus} if bus else {}
        self.events.put_rule(Name=name, EventPattern=pattern, **kw)
        return name

    def test_round_trip_of_all_fields(self):
        bus = self.new_bus()
        name = self.rule(bus)
        out = self.events.put_targets(Rule=name, EventBusName=bus, Targets=FULL_TARGETS)
        self.assertEqual(out["FailedEntryCount"], 0)
        self.assertEqual(out["FailedEntries"], [])
        out = self.events.list_targets_by_rule(Rule=name, EventBusName=bus)
        self.assertNotIn("NextToken", out)
        self.assertEqual(sorted(out["Targets"], key=lambda t: t["Id"]), sorted(FULL_TARGETS, key=lambda t: t["Id"]))

    def test_update_target_by_id(self):
        name = self.rule()
        self.addCleanup(self.events.delete_rule, Name=name, Force=True)
        self.events.put_targets(Rule=name, Targets=[
            {"Id": "a", "Arn": "arn:aws:sqs:us-east-1:123456789012:one", "Input": '{"v": 1}'},
            {"Id": "b", "Arn": "arn:aws:sqs:us-east-1:123456789012:two"}])
        self.events.put_targets(Rule=name, Targets=[{"Id": "a", "Arn": "arn:aws:sqs:us-east-1:123456789012:three"}])
        targets = {t["Id"]: t for t in self.events.list_targets_by_rule(Rule=name)["Targets"]}
        self.assertEqual(set(targets), {"a", "b"})
        # The target is replaced as a whole: Input is gone.
        self.assertEqual(targets["a"], {"Id": "a", "Arn": "arn:aws:sqs:us-east-1:123456789012:three"})

    def test_five_targets_per_rule(self):
        name = self.rule()
        self.addCleanup(self.events.delete_rule, Name=name, Force=True)
        five = [{"Id": "t%d" % i, "Arn": "arn:aws:sqs:us-east-1:123456789012:q%d" % i} for i in range(5)]
        self.assertEqual(self.events.put_targets(Rule=name, Targets=five)["FailedEntryCount"], 0)
        with self.assertRaises(self.events.exceptions.LimitExceededException) as cm:
            self.events.put_targets(Rule=name, Targets=[{"Id": "t5", "Arn": "arn:aws:sqs:us-east-1:123456789012:q5"}])
        self.assertAwsError(cm, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
        # Updating one of the five is fine.
        self.events.put_targets(Rule=name, Targets=[{"Id": "t0", "Arn": "arn:aws:sqs:us-east-1:123456789012:new"}])
        self.assertEqual(len(self.events.list_targets_by_rule(Rule=name)["Targets"]), 5)

        other = self.rule()
        self.addCleanup(self.events.delete_rule, Name=other, Force=True)
        six = five + [{"Id": "t5", "Arn": "arn:aws:sqs:us-east-1:123456789012:q5"}]
        with self.assertRaises(self.events.exceptions.LimitExceededException):
            self.events.put_targets(Rule=other, Targets=six)
        self.assertEqual(self.events.list_targets_by_rule(Rule=other)["Targets"], [])

    def test_remove_targets(self):
        bus = self.new_bus()
        name = self.rule(bus)
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=[
            {"Id": i, "Arn": "arn:aws:sqs:us-east-1:123456789012:" + i} for i in ("a", "b", "c")])
        out = self.events.remove_targets(Rule=name, EventBusName=bus, Ids=["a", "c"])
        self.assertEqual(out["FailedEntryCount"], 0)
        self.assertEqual(out["FailedEntries"], [])
        self.assertEqual([t["Id"] for t in self.events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]],
                         ["b"])
        self.events.remove_targets(Rule=name, EventBusName=bus, Ids=["b"])
        self.assertEqual(self.events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"], [])
        # Now the rule can be deleted without Force.
        self.events.delete_rule(Name=name, EventBusName=bus)

    def test_remove_targets_missing_rule(self):
        name = harness.unique("nor")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.remove_targets(Rule=name, Ids=["a"])
        self.assertAwsError(cm, "ResourceNotFoundException", "Rule %s does not exist on EventBus default." % name)

    def test_list_targets_paging(self):
        name = self.rule()
        self.addCleanup(self.events.delete_rule, Name=name, Force=True)
        self.events.put_targets(Rule=name, Targets=[
            {"Id": "t%d" % i, "Arn": "arn:aws:sqs:us-east-1:123456789012:q%d" % i} for i in range(5)])
        outs = list(harness.pages(self.events.list_targets_by_rule, Rule=name, Limit=2))
        ids = [t["Id"] for out in outs for t in out["Targets"]]
        self.assertEqual(sorted(ids), ["t0", "t1", "t2", "t3", "t4"])
        self.assertEqual(len(outs), 3)

    def test_invalid_target_id(self):
        name = self.rule()
        self.addCleanup(self.events.delete_rule, Name=name, Force=True)
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_targets(Rule=name, Targets=[{"Id": "bad id", "Arn": "arn:aws:sqs:us-east-1:1:q"}])
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value 'bad id' at 'targets.1.member.id' failed to satisfy "
                            "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")

    def test_list_rule_names_by_target(self):
        bus = self.new_bus()
        arn = "arn:aws:sqs:us-east-1:123456789012:" + harness.unique("q")
        for n in ("r2", "r1", "r3"):
            self.events.put_rule(Name=n, EventBusName=bus, EventPattern=QUIET_PATTERN)
        self.events.put_targets(Rule="r2", EventBusName=bus, Targets=[{"Id": "x", "Arn": arn}])
        self.events.put_targets(Rule="r1", EventBusName=bus, Targets=[{"Id": "y", "Arn": arn},
                                                                      {"Id": "z", "Arn": arn + "-other"}])
        self.events.put_targets(Rule="r3", EventBusName=bus, Targets=[{"Id": "x", "Arn": arn + "-other"}])
        out = self.events.list_rule_names_by_target(TargetArn=arn, EventBusName=bus)
        self.assertEqual(sorted(out["RuleNames"]), ["r1", "r2"])
        self.assertNotIn("NextToken", out)
        # Paging.
        first = self.events.list_rule_names_by_target(TargetArn=arn, EventBusName=bus, Limit=1)
        self.assertEqual(len(first["RuleNames"]), 1)
        second = self.events.list_rule_names_by_target(TargetArn=arn, EventBusName=bus, Limit=1,
                                                       NextToken=first["NextToken"])
        self.assertEqual(sorted(first["RuleNames"] + second["RuleNames"]), ["r1", "r2"])
        # Another bus, and the default bus, know nothing of it.
        self.assertEqual(self.events.list_rule_names_by_target(TargetArn=arn)["RuleNames"], [])
        # After removal it is gone.
        self.events.remove_targets(Rule="r2", EventBusName=bus, Ids=["x"])
        self.assertEqual(self.events.list_rule_names_by_target(TargetArn=arn, EventBusName=bus)["RuleNames"], ["r1"])

    def test_bus_to_bus_forwarding(self):
        recv = self.receiver()
        first, second = self.new_bus(prefix="first"), self.new_bus(prefix="second")
        second_arn = "arn:aws:events:%s:%s:event-bus/%s" % (REGION, ACCT, second)
        self.events.put_rule(Name="fwd", EventBusName=first, EventPattern=json.dumps({"source": ["app.fwd"]}))
        self.events.put_targets(Rule="fwd", EventBusName=first, Targets=[{"Id": "to-second", "Arn": second_arn}])
        self.events.put_rule(Name="sink", EventBusName=second,
                             EventPattern=json.dumps({"detail-type": ["Forwarded"]}))
        self.events.put_targets(Rule="sink", EventBusName=second, Targets=[{"Id": "hook", "Arn": recv.url}])
        self.assertEqual(self.events.list_rule_names_by_target(TargetArn=second_arn, EventBusName=first)["RuleNames"],
                         ["fwd"])

        self.put_event(source="app.fwd", detail_type="Forwarded", detail={"k": "v"}, bus=first,
                       Resources=["arn:aws:s3:::x"])
        ev = recv.wait_for(1)[0]
        self.assertEqual(ev["source"], "app.fwd")
        self.assertEqual(ev["detail-type"], "Forwarded")
        self.assertEqual(ev["detail"], {"k": "v"})
        self.assertEqual(ev["resources"], ["arn:aws:s3:::x"])
        self.assertEqual(ev["account"], ACCT)
        self.assertEqual(ev["region"], REGION)
        # An event put straight onto the second bus also arrives; one that
        # does not match the first bus's rule is not forwarded.
        self.put_event(source="app.other", detail_type="Forwarded", bus=first)
        direct = self.put_event(source="app.direct", detail_type="Forwarded", bus=second)
        recv.wait_for_id(direct)
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(sorted(e["source"] for e in recv.events()), ["app.direct", "app.fwd"])

    def test_input_replaces_event(self):
        recv = self.receiver()
        bus = self.new_bus()
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["app.in"]}))
        self.events.put_targets(Rule="r", EventBusName=bus,
                                Targets=[{"Id": "1", "Arn": recv.url, "Input": '{"constant": [1, 2]}'}])
        self.put_event(source="app.in", bus=bus)
        self.assertEqual(recv.wait_for(1), [{"constant": [1, 2]}])

    def test_two_targets_both_receive(self):
        r1, r2 = self.receiver(), self.receiver()
        bus = self.new_bus()
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["app.two"]}))
        self.events.put_targets(Rule="r", EventBusName=bus,
                                Targets=[{"Id": "1", "Arn": r1.url}, {"Id": "2", "Arn": r2.url}])
        eid = self.put_event(source="app.two", bus=bus)
        self.assertEqual(r1.wait_for_id(eid)["id"], eid)
        self.assertEqual(r2.wait_for_id(eid)["id"], eid)

    def test_removed_target_receives_nothing(self):
        recv, marker = self.receiver(), self.receiver()
        bus = self.new_bus()
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["app.rm"]}))
        self.events.put_targets(Rule="r", EventBusName=bus,
                                Targets=[{"Id": "gone", "Arn": recv.url}, {"Id": "kept", "Arn": marker.url}])
        self.events.remove_targets(Rule="r", EventBusName=bus, Ids=["gone"])
        marker.wait_for_id(self.put_event(source="app.rm", bus=bus))
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(recv.events(), [])
