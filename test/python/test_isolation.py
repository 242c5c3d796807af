"""Accounts and regions: the same names in different scopes are different
resources, and events stay in their scope."""

import json
import time

from . import harness

PATTERN = json.dumps({"source": ["app.iso"]})


class IsolationTest(harness.ServerTestCase):

    def test_same_names_in_two_regions_and_two_accounts(self):
        a, b = harness.fresh_account(), harness.fresh_account()
        scopes = [(a, "us-east-1"), (a, "eu-west-1"), (b, "us-east-1")]
        clients = [self.server.client(account=acct, region=region) for acct, region in scopes]
        for (acct, region), c in zip(scopes, clients):
            arn = c.create_event_bus(Name="shared", Description="%s/%s" % (acct, region))["EventBusArn"]
            self.assertEqual(arn, "arn:aws:events:%s:%s:event-bus/shared" % (region, acct))
            rule_arn = c.put_rule(Name="rule", EventBusName="shared", EventPattern=PATTERN)["RuleArn"]
            self.assertEqual(rule_arn, "arn:aws:events:%s:%s:rule/shared/rule" % (region, acct))
        for (acct, region), c in zip(scopes, clients):
            d = c.describe_event_bus(Name="shared")
            self.assertEqual(d["Description"], "%s/%s" % (acct, region))
            self.assertEqual(d["Arn"], "arn:aws:events:%s:%s:event-bus/shared" % (region, acct))
            self.assertEqual(c.describe_rule(Name="rule", EventBusName="shared")["CreatedBy"], acct)
            self.assertEqual(sorted(x["Name"] for x in c.list_event_buses()["EventBuses"]), ["default", "shared"])

        # Changing one scope leaves the others alone.
        clients[0].put_targets(Rule="rule", EventBusName="shared",
                               Targets=[{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:%s:q" % a}])
        self.assertEqual(clients[1].list_targets_by_rule(Rule="rule", EventBusName="shared")["Targets"], [])
        self.assertEqual(clients[2].list_targets_by_rule(Rule="rule", EventBusName="shared")["Targets"], [])
        clients[1].delete_rule(Name="rule", EventBusName="shared")
        clients[1].delete_event_bus(Name="shared")
        with self.assertRaises(clients[1].exceptions.ResourceNotFoundException):
            clients[1].describe_event_bus(Name="shared")
        self.assertEqual(clients[0].describe_event_bus(Name="shared")["Name"], "shared")
        self.assertEqual(clients[2].describe_rule(Name="rule", EventBusName="shared")["Name"], "rule")

    def test_another_scopes_arn_is_not_found(self):
        a, b = harness.fresh_account(), harness.fresh_account()
        ca, cb = self.server.client(account=a), self.server.client(account=b)
        ca.create_event_bus(Name="mine")
        foreign = "arn:aws:events:us-east-1:%s:event-bus/mine" % a
        with self.assertRaises(cb.exceptions.ResourceNotFoundException):
            cb.describe_event_bus(Name=foreign)
        with self.assertRaises(cb.exceptions.ResourceNotFoundException):
            cb.list_tags_for_resource(ResourceARN=foreign)
        # A rule on another account's bus by its ARN needs the bus's policy
        # to allow it (test_permissions.CrossAccountRulesTest): refused.
        with self.assertRaises(cb.exceptions.ClientError) as cm:
            cb.put_rule(Name="r", EventBusName=foreign, EventPattern=PATTERN)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        other_region = ca.describe_event_bus(Name="mine")["Arn"].replace("us-east-1", "us-west-2")
        with self.assertRaises(ca.exceptions.ResourceNotFoundException):
            ca.describe_event_bus(Name=other_region)

    def test_events_stay_in_their_scope(self):
        a, b = harness.fresh_account(), harness.fresh_account()
        scopes = [(a, "us-east-1"), (a, "ap-southeast-2"), (b, "us-east-1")]
        receivers = [self.receiver() for _ in scopes]
        clients = [self.server.client(account=acct, region=region) for acct, region in scopes]
        for c, r in zip(clients, receivers):
            c.put_rule(Name="iso", EventPattern=PATTERN)
            c.put_targets(Rule="iso", Targets=[{"Id": "1", "Arn": r.url}])
        ids = [self.put_event(source="app.iso", client=c) for c in clients]
        for (acct, region), r, eid in zip(scopes, receivers, ids):
            ev = r.wait_for_id(eid)
            self.assertEqual(ev["account"], acct)
            self.assertEqual(ev["region"], region)
        time.sleep(harness.QUIET_PERIOD)
        for r, eid in zip(receivers, ids):
            self.assertEqual([e["id"] for e in r.events()], [eid])

    def test_non_numeric_access_key_is_the_default_account(self):
        c1 = self.server.client(access_key="AKIAIOSFODNN7EXAMPLE")
        c2 = self.server.client(access_key="SOMETHINGELSE")
        name = self.new_bus(client=c1)
        self.assertEqual(c2.describe_event_bus(Name=name)["Arn"],
                         "arn:aws:events:us-east-1:%s:event-bus/%s" % (harness.DEFAULT_ACCOUNT, name))
        self.assertEqual(self.events.describe_event_bus(Name=name)["Name"], name)

    def test_partitions_in_arns(self):
        for region, partition in (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")):
            c = self.server.client(region=region)
            name = self.new_bus(client=c)
            arn = "arn:%s:events:%s:%s:event-bus/%s" % (partition, region, harness.DEFAULT_ACCOUNT, name)
            self.assertEqual(c.describe_event_bus(Name=name)["Arn"], arn)
            self.assertEqual(c.describe_event_bus(Name=arn)["Name"], name)
            rule_arn = c.put_rule(Name="r", EventBusName=arn, EventPattern=PATTERN)["RuleArn"]
            self.assertEqual(rule_arn, "arn:%s:events:%s:%s:rule/%s/r" % (partition, region, harness.DEFAULT_ACCOUNT, name))
            c.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": "p", "Value": partition}])
            self.assertEqual(c.list_tags_for_resource(ResourceARN=rule_arn)["Tags"], [{"Key": "p", "Value": partition}])
