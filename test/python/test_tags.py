"""Tags on event buses and rules: TagResource, UntagResource,
ListTagsForResource, and tags given at creation."""

import json

from . import harness

ACCT = harness.DEFAULT_ACCOUNT
REGION = harness.DEFAULT_REGION
PATTERN = json.dumps({"source": ["tags.test"]})


def as_dict(tags):
    d = {t["Key"]: t["Value"] for t in tags}
    assert len(d) == len(tags), tags
    return d


class TagTest(harness.ServerTestCase):

    def bus_arn(self, name):
        return "arn:aws:events:%s:%s:event-bus/%s" % (REGION, ACCT, name)

    def test_bus_tags(self):
        name = harness.unique("bus")
        arn = self.events.create_event_bus(Name=name, Tags=[{"Key": "team", "Value": "orders"},
                                                             {"Key": "env", "Value": "dev"}])["EventBusArn"]
        self.assertEqual(as_dict(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"]),
                         {"team": "orders", "env": "dev"})
        self.events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"},
                                                        {"Key": "cost", "Value": ""}])
        self.assertEqual(as_dict(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"]),
                         {"team": "orders", "env": "prod", "cost": ""})
        self.events.untag_resource(ResourceARN=arn, TagKeys=["team", "not-there"])
        self.assertEqual(as_dict(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"]),
                         {"env": "prod", "cost": ""})
        self.events.untag_resource(ResourceARN=arn, TagKeys=["env", "cost"])
        self.assertEqual(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"], [])

    def test_default_bus_tags(self):
        c = self.server.client(account=harness.fresh_account())
        arn = c.describe_event_bus()["Arn"]
        self.assertEqual(c.list_tags_for_resource(ResourceARN=arn)["Tags"], [])
        c.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(c.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "k", "Value": "v"}])

    def test_rule_tags_on_default_and_custom_bus(self):
        bus = self.new_bus()
        for kw in ({}, {"EventBusName": bus}):
            name = harness.unique("r")
            arn = self.events.put_rule(Name=name, EventPattern=PATTERN, Tags=[{"Key": "a", "Value": "1"}],
                                       **kw)["RuleArn"]
            self.addCleanup(self.events.delete_rule, Name=name, **kw)
            self.assertEqual(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "a", "Value": "1"}])
            self.events.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
            self.assertEqual(as_dict(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"]), {"a": "3", "b": "2"})
            self.events.untag_resource(ResourceARN=arn, TagKeys=["a"])
            self.assertEqual(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "b", "Value": "2"}])
            # Tags survive a PutRule that replaces the rule's attributes.
            self.events.put_rule(Name=name, EventPattern=PATTERN, Description="changed", **kw)
            self.assertEqual(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "b", "Value": "2"}])

    def test_tags_of_missing_resources(self):
        missing_bus = harness.unique("nobus")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.list_tags_for_resource(ResourceARN=self.bus_arn(missing_bus))
        self.assertAwsError(cm, "ResourceNotFoundException", "Event bus %s does not exist." % missing_bus)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.tag_resource(ResourceARN=self.bus_arn(missing_bus), Tags=[{"Key": "k", "Value": "v"}])
        missing_rule = harness.unique("nor")
        arn = "arn:aws:events:%s:%s:rule/%s" % (REGION, ACCT, missing_rule)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.list_tags_for_resource(ResourceARN=arn)
        self.assertAwsError(cm, "ResourceNotFoundException",
                            "Rule %s does not exist on EventBus default." % missing_rule)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.untag_resource(ResourceARN=arn, TagKeys=["k"])

    def test_deleted_bus_takes_its_tags(self):
        name = harness.unique("bus")
        arn = self.events.create_event_bus(Name=name, Tags=[{"Key": "old", "Value": "yes"}])["EventBusArn"]
        self.events.delete_event_bus(Name=name)
        self.events.create_event_bus(Name=name)
        self.assertEqual(self.events.list_tags_for_resource(ResourceARN=arn)["Tags"], [])

    def test_tag_limit(self):
        name = self.new_bus()
        tags = [{"Key": "k%02d" % i, "Value": "v"} for i in range(50)]
        self.events.tag_resource(ResourceARN=self.bus_arn(name), Tags=tags)
        self.assertEqual(len(self.events.list_tags_for_resource(ResourceARN=self.bus_arn(name))["Tags"]), 50)
        with self.assertRaises(self.events.exceptions.LimitExceededException):
            self.events.tag_resource(ResourceARN=self.bus_arn(name), Tags=[{"Key": "one-more", "Value": "v"}])
        self.assertEqual(len(self.events.list_tags_for_resource(ResourceARN=self.bus_arn(name))["Tags"]), 50)

    def test_tag_key_too_long(self):
        name = self.new_bus()
        key = "k" * 129
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.tag_resource(ResourceARN=self.bus_arn(name), Tags=[{"Key": key, "Value": "v"}])
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value '%s' at 'tags.1.member.key' failed to satisfy "
                            "constraint: Member must have length less than or equal to 128" % key)
