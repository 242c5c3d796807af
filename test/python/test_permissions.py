"""Event bus resource policies: PutPermission, RemovePermission, and the
Policy DescribeEventBus shows, as boto3 sees them."""

import json

from . import harness


class PermissionsTest(harness.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.account = harness.fresh_account()
        self.c = self.server.client(account=self.account)

    def policy(self, bus="default"):
        text = self.c.describe_event_bus(Name=bus).get("Policy")
        return json.loads(text) if text else None

    def test_statement_from_parameters(self):
        self.c.put_permission(Action="events:PutEvents", Principal="111122223333", StatementId="acct-b")
        self.assertEqual(self.policy(), {"Version": "2012-10-17", "Statement": [{
            "Sid": "acct-b", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "events:PutEvents",
            "Resource": "arn:aws:events:us-east-1:%s:event-bus/default" % self.account}]})

        # An organization: Principal "*" with the PrincipalOrgID condition.
        self.c.create_event_bus(Name="org")
        self.c.put_permission(EventBusName="org", Action="events:PutEvents", Principal="*", StatementId="org",
                              Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc123"})
        st = self.policy("org")["Statement"][0]
        self.assertEqual(st["Principal"], "*")
        self.assertEqual(st["Condition"], {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
        # ListEventBuses shows the policy too.
        buses = {b["Name"]: b for b in self.c.list_event_buses()["EventBuses"]}
        self.assertIn("Policy", buses["org"])

        # The same Sid again replaces its statement; another adds one.
        self.c.put_permission(Action="events:PutEvents", Principal="444455556666", StatementId="acct-b")
        self.c.put_permission(Action="events:PutEvents", Principal="777788889999", StatementId="acct-c")
        sts = self.policy()["Statement"]
        self.assertEqual([(s["Sid"], s["Principal"]["AWS"]) for s in sts],
                         [("acct-b", "arn:aws:iam::444455556666:root"), ("acct-c", "arn:aws:iam::777788889999:root")])

    def test_remove_permission(self):
        with self.assertRaises(self.c.exceptions.ResourceNotFoundException) as cm:
            self.c.remove_permission(StatementId="none")
        self.assertEqual(cm.exception.response["Error"]["Message"], "EventBus does not have a policy.")
        self.c.put_permission(Action="events:PutEvents", Principal="111122223333", StatementId="a")
        self.c.put_permission(Action="events:PutEvents", Principal="222233334444", StatementId="b")
        with self.assertRaises(self.c.exceptions.ResourceNotFoundException) as cm:
            self.c.remove_permission(StatementId="zz")
        self.assertEqual(cm.exception.response["Error"]["Message"], "Statement with the provided id does not exist.")
        self.c.remove_permission(StatementId="a")
        self.assertEqual([s["Sid"] for s in self.policy()["Statement"]], ["b"])
        self.c.remove_permission(StatementId="b")
        self.assertIsNone(self.policy())
        self.c.put_permission(Action="events:PutEvents", Principal="111122223333", StatementId="a")
        self.c.remove_permission(RemoveAllPermissions=True)
        self.assertIsNone(self.policy())
        self.c.remove_permission(RemoveAllPermissions=True)  # no policy: nothing to do

    def test_whole_policy_replaces(self):
        self.c.put_permission(Action="events:PutEvents", Principal="111122223333", StatementId="old")
        doc = {"Version": "2012-10-17", "Statement": [
            {"Sid": "x", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333344445555:root"},
             "Action": ["events:PutEvents", "events:PutRule"],
             "Resource": "arn:aws:events:us-east-1:%s:event-bus/default" % self.account},
            {"Sid": "y", "Effect": "Deny", "Principal": "*", "Action": "events:PutEvents",
             "Resource": "*", "Condition": {"StringEquals": {"events:source": "bad"}}}]}
        self.c.put_permission(Policy=json.dumps(doc))
        self.assertEqual(self.policy(), doc)
        # A single statement, not in a list, is a policy too.
        one = dict(doc, Statement=doc["Statement"][0])
        self.c.put_permission(Policy=json.dumps(one))
        self.assertEqual([s["Sid"] for s in self.policy()["Statement"]], ["x"])

    def test_errors(self):
        cases = [
            (dict(Policy="{not json"), "ValidationException", "This policy contains invalid Json"),
            (dict(Action="events:PutEvents", StatementId="s"), "ValidationException",
             "Parameter Principal must be specified."),
            (dict(Action="events:PutRule", Principal="111122223333", StatementId="s"), "ValidationException",
             "Provided value in parameter 'action' is not supported."),
            (dict(Action="events:PutEvents", Principal="111122223333"), "InvalidParameterValue",
             "StatementId must match ^[a-zA-Z0-9-_]{1,64}$"),
            (dict(Action="events:PutEvents", Principal="111122223333", StatementId="s",
                  Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-1"}),
             "InvalidParameterValue", "Value of the parameter 'principal' must be '*' when the parameter 'condition' is set."),
        ]
        for kwargs, code, message in cases:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(self.c.exceptions.ClientError) as cm:
                    self.c.put_permission(**kwargs)
                self.assertEqual(cm.exception.response["Error"]["Code"], code)
                self.assertEqual(cm.exception.response["Error"]["Message"], message)
        # A policy IAM would refuse is refused, not stored to be ignored.
        bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Principal": "*",
                                                       "Action": "events:PutEvents", "Resource": "*"}]}
        with self.assertRaises(self.c.exceptions.ClientError) as cm:
            self.c.put_permission(Policy=json.dumps(bad))
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")
        self.assertIn("Effect", cm.exception.response["Error"]["Message"])
        # The model's constraints are checked first, in AWS's wording.
        with self.assertRaises(self.c.exceptions.ClientError) as cm:
            self.c.put_permission(Action="events:PutEvents", Principal="12345", StatementId="s")
        self.assertIn("at 'principal' failed to satisfy constraint", cm.exception.response["Error"]["Message"])
        with self.assertRaises(self.c.exceptions.ResourceNotFoundException):
            self.c.put_permission(EventBusName="nope", Action="events:PutEvents", Principal="111122223333",
                                  StatementId="s")

    def test_policy_size_limit(self):
        for i in range(200):
            try:
                self.c.put_permission(Action="events:PutEvents", Principal="%012d" % (100000000000 + i),
                                      StatementId="statement-%03d" % i)
            except self.c.exceptions.PolicyLengthExceededException:
                break
        else:
            self.fail("200 statements fit in a 10 KB policy")
        self.assertLessEqual(len(self.c.describe_event_bus()["Policy"]), 10240)
        self.assertGreater(i, 20)


class CrossAccountRulesTest(harness.ServerTestCase):
    """Rules another account creates on a bus by its ARN, allowed by the
    bus's policy ("Permissions for event buses in Amazon EventBridge"),
    through boto3 as that account."""

    def test_rule_on_another_accounts_bus(self):
        owner_acct, creator_acct = harness.fresh_account(), harness.fresh_account()
        owner = self.server.client(account=owner_acct)
        creator = self.server.client(account=creator_acct)
        bus = self.new_bus(owner)
        bus_arn = "arn:aws:events:us-east-1:%s:event-bus/%s" % (owner_acct, bus)
        rule_arn = "arn:aws:events:us-east-1:%s:rule/%s/from-creator" % (owner_acct, bus)

        with self.assertRaises(creator.exceptions.ClientError) as cm:
            creator.put_rule(Name="from-creator", EventBusName=bus_arn, EventPattern='{"source":["app"]}')
        self.assertAwsError(cm, "AccessDeniedException",
                            "User: arn:aws:iam::%s:root is not authorized to perform: events:PutRule on resource: %s "
                            "because no resource-based policy allows the events:PutRule action" % (creator_acct, rule_arn))

        # "Example policy: Send events to the same account and restrict
        # updates in Amazon EventBridge".
        owner.put_permission(EventBusName=bus, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "rules", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % creator_acct},
            "Action": ["events:PutRule", "events:DescribeRule", "events:PutTargets", "events:RemoveTargets",
                       "events:DeleteRule", "events:ListTargetsByRule"],
            "Resource": "arn:aws:events:us-east-1:%s:rule/%s/*" % (owner_acct, bus),
            "Condition": {"StringEqualsIfExists": {"events:creatorAccount": "${aws:PrincipalAccount}"}}}]}))
        out = creator.put_rule(Name="from-creator", EventBusName=bus_arn, EventPattern='{"source":["app"]}')
        self.assertEqual(out["RuleArn"], rule_arn)
        recv = self.receiver()
        creator.put_targets(Rule="from-creator", EventBusName=bus_arn, Targets=[{"Id": "1", "Arn": recv.url}])
        d = creator.describe_rule(Name="from-creator", EventBusName=bus_arn)
        self.assertEqual((d["Arn"], d["CreatedBy"], d["EventBusName"]), (rule_arn, creator_acct, bus))
        self.assertEqual([r["Name"] for r in owner.list_rules(EventBusName=bus)["Rules"]], ["from-creator"])

        # The rule routes the owner's bus's events.
        owner.put_events(Entries=[{"EventBusName": bus, "Source": "app", "DetailType": "t", "Detail": '{"n": 1}'}])
        self.assertEqual([e["detail"] for e in recv.wait_for(1)], [{"n": 1}])

        # The owner's own rules stay the owner's (events:creatorAccount).
        owner.put_rule(Name="owners", EventBusName=bus, EventPattern='{"source":["app"]}')
        with self.assertRaises(creator.exceptions.ClientError) as cm:
            creator.delete_rule(Name="owners", EventBusName=bus_arn)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")

        creator.remove_targets(Rule="from-creator", EventBusName=bus_arn, Ids=["1"])
        creator.delete_rule(Name="from-creator", EventBusName=bus_arn)
        self.assertEqual([r["Name"] for r in owner.list_rules(EventBusName=bus)["Rules"]], ["owners"])


if __name__ == "__main__":
    import unittest
    unittest.main()
