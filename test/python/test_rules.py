"""Rules: PutRule, DescribeRule, ListRules, EnableRule, DisableRule,
DeleteRule, and their validation."""

import json
import time
import unittest

from . import harness

ACCT = harness.DEFAULT_ACCOUNT
REGION = harness.DEFAULT_REGION
PATTERN = json.dumps({"source": ["app.orders"], "detail-type": ["OrderCreated"]})


def rule_arn(name, bus="default", account=ACCT, region=REGION):
    if bus == "default":
        return "arn:aws:events:%s:%s:rule/%s" % (region, account, name)
    return "arn:aws:events:%s:%s:rule/%s/%s" % (region, account, bus, name)


class RuleTest(harness.ServerTestCase):

    def ClientError(self):
        return self.events.exceptions.ClientError

    # ---- create, describe, replace

    def test_put_and_describe_on_default_bus(self):
        name = harness.unique("r")
        out = self.events.put_rule(Name=name, EventPattern=PATTERN, Description="orders in",
                                   RoleArn="arn:aws:iam::123456789012:role/events")
        self.assertEqual(out["RuleArn"], rule_arn(name))
        d = self.events.describe_rule(Name=name)
        self.assertEqual(d["Name"], name)
        self.assertEqual(d["Arn"], rule_arn(name))
        self.assertEqual(json.loads(d["EventPattern"]), json.loads(PATTERN))
        self.assertEqual(d["State"], "ENABLED")
        self.assertEqual(d["Description"], "orders in")
        self.assertEqual(d["RoleArn"], "arn:aws:iam::123456789012:role/events")
        self.assertEqual(d["EventBusName"], "default")
        self.assertEqual(d["CreatedBy"], ACCT)
        self.assertNotIn("ScheduleExpression", d)
        self.assertNotIn("ManagedBy", d)
        # Naming the default bus explicitly, by name or ARN, is the same.
        self.assertEqual(self.events.describe_rule(Name=name, EventBusName="default")["Arn"], rule_arn(name))
        self.assertEqual(self.events.describe_rule(
            Name=name, EventBusName="arn:aws:events:%s:%s:event-bus/default" % (REGION, ACCT))["Arn"], rule_arn(name))
        self.events.delete_rule(Name=name)

    def test_put_and_describe_on_custom_bus(self):
        bus = self.new_bus()
        name = harness.unique("r")
        out = self.events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN, State="DISABLED")
        self.assertEqual(out["RuleArn"], rule_arn(name, bus))
        for ref in (bus, "arn:aws:events:%s:%s:event-bus/%s" % (REGION, ACCT, bus)):
            d = self.events.describe_rule(Name=name, EventBusName=ref)
            self.assertEqual(d["Arn"], rule_arn(name, bus))
            self.assertEqual(d["EventBusName"], bus)
            self.assertEqual(d["State"], "DISABLED")
        # Not on the default bus.
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.describe_rule(Name=name)
        self.assertAwsError(cm, "ResourceNotFoundException", "Rule %s does not exist on EventBus default." % name)

    def test_put_rule_replaces_attributes_and_keeps_targets(self):
        bus = self.new_bus()
        name = harness.unique("r")
        self.events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN, Description="first",
                             State="DISABLED")
        self.events.put_targets(Rule=name, EventBusName=bus,
                                Targets=[{"Id": "t1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
        new_pattern = json.dumps({"source": ["app.billing"]})
        out = self.events.put_rule(Name=name, EventBusName=bus, EventPattern=new_pattern)
        self.assertEqual(out["RuleArn"], rule_arn(name, bus))
        d = self.events.describe_rule(Name=name, EventBusName=bus)
        self.assertEqual(json.loads(d["EventPattern"]), {"source": ["app.billing"]})
        # Omitted arguments are not kept: no description, default state.
        self.assertNotIn("Description", d)
        self.assertEqual(d["State"], "ENABLED")
        targets = self.events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
        self.assertEqual([t["Id"] for t in targets], ["t1"])

    def test_event_pattern_is_stored_verbatim(self):
        name = harness.unique("r")
        src = '{ "source" : [ "a.b" ],\n  "detail": {"n": [{"numeric": [">", 5]}]} }'
        self.events.put_rule(Name=name, EventPattern=src)
        self.assertEqual(self.events.describe_rule(Name=name)["EventPattern"], src)
        self.events.delete_rule(Name=name)

    # AWS: "If you are updating an existing rule, any tags you specify in the
    # PutRule operation are ignored. To update the tags of an existing rule,
    # use TagResource and UntagResource." (PutRule, API reference.)
    def test_put_rule_update_ignores_tags(self):
        name = harness.unique("r")
        self.addCleanup(self.events.delete_rule, Name=name)
        self.events.put_rule(Name=name, EventPattern=PATTERN, Tags=[{"Key": "team", "Value": "a"}])
        self.events.put_rule(Name=name, EventPattern=PATTERN,
                             Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "prod"}])
        tags = self.events.list_tags_for_resource(ResourceARN=rule_arn(name))["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "a"}])

    def test_schedule_rule_on_default_bus(self):
        name = harness.unique("r")
        self.events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)")
        d = self.events.describe_rule(Name=name)
        self.assertEqual(d["ScheduleExpression"], "rate(5 minutes)")
        self.assertNotIn("EventPattern", d)
        self.events.put_rule(Name=name, ScheduleExpression="cron(0 12 * * ? *)", EventPattern=PATTERN)
        d = self.events.describe_rule(Name=name)
        self.assertEqual(d["ScheduleExpression"], "cron(0 12 * * ? *)")
        self.assertEqual(d["EventPattern"], PATTERN)
        self.events.delete_rule(Name=name)

    def test_state_enabled_with_all_cloudtrail_management_events(self):
        recv = self.receiver()
        bus = self.new_bus()
        state = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
        self.events.put_rule(Name="ct", EventBusName=bus, EventPattern=json.dumps({"source": ["app.ct"]}), State=state)
        self.assertEqual(self.events.describe_rule(Name="ct", EventBusName=bus)["State"], state)
        self.assertEqual(self.events.list_rules(EventBusName=bus)["Rules"][0]["State"], state)
        self.events.put_targets(Rule="ct", EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        recv.wait_for_id(self.put_event(source="app.ct", bus=bus))
        self.events.disable_rule(Name="ct", EventBusName=bus)
        self.assertEqual(self.events.describe_rule(Name="ct", EventBusName=bus)["State"], "DISABLED")

    # ---- errors and validation

    def test_missing_rule(self):
        name = harness.unique("nor")
        bus = self.new_bus()
        for kw, busname in (({}, "default"), ({"EventBusName": bus}, bus)):
            msg = "Rule %s does not exist on EventBus %s." % (name, busname)
            with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
                self.events.describe_rule(Name=name, **kw)
            self.assertAwsError(cm, "ResourceNotFoundException", msg)
            with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
                self.events.enable_rule(Name=name, **kw)
            self.assertAwsError(cm, "ResourceNotFoundException", msg)
            with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
                self.events.disable_rule(Name=name, **kw)
            self.assertAwsError(cm, "ResourceNotFoundException", msg)
            with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
                self.events.list_targets_by_rule(Rule=name, **kw)
            self.assertAwsError(cm, "ResourceNotFoundException", msg)
            with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
                self.events.put_targets(Rule=name, Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:1:q"}], **kw)
            self.assertAwsError(cm, "ResourceNotFoundException", msg)
            # Deleting a rule that does not exist succeeds.
            self.events.delete_rule(Name=name, **kw)

    def test_rule_on_missing_bus(self):
        bus = harness.unique("nobus")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.put_rule(Name="r", EventBusName=bus, EventPattern=PATTERN)
        self.assertAwsError(cm, "ResourceNotFoundException", "Event bus %s does not exist." % bus)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.list_rules(EventBusName=bus)
        self.assertAwsError(cm, "ResourceNotFoundException", "Event bus %s does not exist." % bus)

    # DeleteRule: "When you call delete rule for a non-existent custom
    # eventbus, ResourceNotFoundException is returned." (API reference.)
    def test_delete_rule_on_missing_bus(self):
        bus = harness.unique("nobus")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.delete_rule(Name="r", EventBusName=bus)
        self.assertAwsError(cm, "ResourceNotFoundException", "Event bus %s does not exist." % bus)

    def test_invalid_rule_name(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_rule(Name="bad name", EventPattern=PATTERN)
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
        long = "r" * 65
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_rule(Name=long, EventPattern=PATTERN)
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: "
                            "Member must have length less than or equal to 64" % long)
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.describe_rule(Name="a/b")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")

    def test_two_validation_errors(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_rule(Name="bad name", EventPattern=PATTERN, State="SLEEPING")
        self.assertAwsError(cm, "ValidationException")
        msg = cm.exception.response["Error"]["Message"]
        self.assertTrue(msg.startswith("2 validation errors detected: "), msg)
        self.assertIn("Value 'SLEEPING' at 'state' failed to satisfy constraint: Member must satisfy enum value set: "
                      "[ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]", msg)

    def test_neither_pattern_nor_schedule(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_rule(Name=harness.unique("r"))
        self.assertAwsError(cm, "ValidationException",
                            "Parameter(s) EventPattern or ScheduleExpression must be specified.")

    def test_invalid_event_patterns(self):
        for bad in ('{"source": "app.orders"}', "not json", '{"source": []}', "[]",
                    '{"detail": {"n": [{"numeric": [">"]}]}}'):
            with self.assertRaises(self.events.exceptions.InvalidEventPatternException, msg=bad) as cm:
                self.events.put_rule(Name=harness.unique("r"), EventPattern=bad)
            self.assertAwsError(cm, "InvalidEventPatternException")
            self.assertTrue(cm.exception.response["Error"]["Message"].startswith(
                "Event pattern is not valid. Reason: "), cm.exception.response["Error"]["Message"])

    def test_empty_array_reason(self):
        with self.assertRaises(self.events.exceptions.InvalidEventPatternException) as cm:
            self.events.put_rule(Name=harness.unique("r"), EventPattern='{"source": []}')
        self.assertAwsError(cm, "InvalidEventPatternException",
                            "Event pattern is not valid. Reason: Empty arrays are not allowed")

    # A pattern longer than the account's limit (2048 characters by default)
    # is refused before it is parsed, with a ValidationException
    # (pattern.LengthError documents AWS's text).
    def test_pattern_over_length_limit(self):
        long = json.dumps({"source": ["s" * 2100]})
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_rule(Name=harness.unique("r"), EventPattern=long)
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: "
                            "Member must have length less than or equal to 2048")

    def test_schedule_on_custom_bus_refused(self):
        bus = self.new_bus()
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_rule(Name="sched", EventBusName=bus, ScheduleExpression="rate(1 hour)")
        self.assertAwsError(cm, "ValidationException",
                            "ScheduleExpression is supported only on the default event bus.")

    def test_invalid_schedule(self):
        for bad in ("rate(0 minutes)", "every day", "rate(1 minutes)", "cron(0 12 * * * *)", "cron(0 12 * *)"):
            with self.assertRaises(self.events.exceptions.ClientError, msg=bad) as cm:
                self.events.put_rule(Name=harness.unique("r"), ScheduleExpression=bad)
            self.assertAwsError(cm, "ValidationException", "Parameter ScheduleExpression is not valid.")

    # ---- listing

    def test_list_rules_prefix_and_paging(self):
        bus = self.new_bus()
        for n in ("a3", "a1", "b1", "a2", "a4"):
            self.events.put_rule(Name=n, EventBusName=bus, EventPattern=PATTERN, Description="rule " + n)
        out = self.events.list_rules(EventBusName=bus)
        self.assertEqual([r["Name"] for r in out["Rules"]], ["a1", "a2", "a3", "a4", "b1"])
        self.assertNotIn("NextToken", out)
        r = out["Rules"][0]
        self.assertEqual(r["Arn"], rule_arn("a1", bus))
        self.assertEqual(r["EventPattern"], PATTERN)
        self.assertEqual(r["State"], "ENABLED")
        self.assertEqual(r["Description"], "rule a1")
        self.assertEqual(r["EventBusName"], bus)

        outs = list(harness.pages(self.events.list_rules, EventBusName=bus, NamePrefix="a", Limit=3))
        names = [r["Name"] for out in outs for r in out["Rules"]]
        self.assertEqual(names, ["a1", "a2", "a3", "a4"])
        self.assertEqual(len(outs), 2)

        # The boto3 paginator drives NextToken the same way.
        pages = list(self.events.get_paginator("list_rules").paginate(
            EventBusName=bus, PaginationConfig={"PageSize": 2}))
        self.assertEqual([r["Name"] for p in pages for r in p["Rules"]], ["a1", "a2", "a3", "a4", "b1"])
        self.assertEqual(len(pages), 3)

        self.assertEqual(self.events.list_rules(EventBusName=bus, NamePrefix="zz")["Rules"], [])

    def test_list_rules_invalid_token(self):
        bus = self.new_bus()
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.list_rules(EventBusName=bus, NextToken="!!!not-a-token!!!")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")

    def test_list_rules_limit_out_of_range(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.list_rules(Limit=101)
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: "
                            "Member must have value less than or equal to 100")

    # ---- enable, disable, delete

    def test_disable_and_enable(self):
        bus = self.new_bus()
        recv, marker = self.receiver(), self.receiver()
        name = harness.unique("r")
        self.events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["app.x"]}))
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        self.events.put_rule(Name="marker", EventBusName=bus, EventPattern=json.dumps({"source": ["app.marker"]}))
        self.events.put_targets(Rule="marker", EventBusName=bus, Targets=[{"Id": "1", "Arn": marker.url}])

        self.events.disable_rule(Name=name, EventBusName=bus)
        self.assertEqual(self.events.describe_rule(Name=name, EventBusName=bus)["State"], "DISABLED")
        self.events.disable_rule(Name=name, EventBusName=bus)  # idempotent
        self.put_event(source="app.x", bus=bus)
        m = self.put_event(source="app.marker", bus=bus)
        marker.wait_for_id(m)
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(recv.events(), [], "a disabled rule delivered")

        self.events.enable_rule(Name=name, EventBusName=bus)
        self.assertEqual(self.events.describe_rule(Name=name, EventBusName=bus)["State"], "ENABLED")
        e = self.put_event(source="app.x", bus=bus)
        got = recv.wait_for_id(e)
        self.assertEqual(got["source"], "app.x")
        self.assertEqual(len(recv.events()), 1)

    def test_delete_rule_with_targets(self):
        bus = self.new_bus()
        name = harness.unique("r")
        self.events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN)
        self.events.put_targets(Rule=name, EventBusName=bus,
                                Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.delete_rule(Name=name, EventBusName=bus)
        self.assertAwsError(cm, "ValidationException", "Rule can't be deleted since it has targets.")
        self.events.describe_rule(Name=name, EventBusName=bus)  # still there

        # After RemoveTargets it can be deleted.
        self.events.remove_targets(Rule=name, EventBusName=bus, Ids=["1"])
        self.events.delete_rule(Name=name, EventBusName=bus)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.describe_rule(Name=name, EventBusName=bus)

    def test_delete_rule_force(self):
        bus = self.new_bus()
        name = harness.unique("r")
        self.events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN)
        self.events.put_targets(Rule=name, EventBusName=bus,
                                Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
        self.events.delete_rule(Name=name, EventBusName=bus, Force=True)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.describe_rule(Name=name, EventBusName=bus)
        self.assertEqual(self.events.list_rules(EventBusName=bus)["Rules"], [])

    def test_deleted_rule_stops_delivering(self):
        bus = self.new_bus()
        recv, marker = self.receiver(), self.receiver()
        self.events.put_rule(Name="gone", EventBusName=bus, EventPattern=json.dumps({"source": ["app.x"]}))
        self.events.put_targets(Rule="gone", EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        self.events.put_rule(Name="marker", EventBusName=bus, EventPattern=json.dumps({"source": ["app.marker"]}))
        self.events.put_targets(Rule="marker", EventBusName=bus, Targets=[{"Id": "1", "Arn": marker.url}])
        self.events.delete_rule(Name="gone", EventBusName=bus, Force=True)
        self.put_event(source="app.x", bus=bus)
        marker.wait_for_id(self.put_event(source="app.marker", bus=bus))
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(recv.events(), [])
