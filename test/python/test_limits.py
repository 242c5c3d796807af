"""Quotas set with serve's flags: --rules-per-bus, --targets-per-rule,
--pattern-max-length, --max-request-size."""

import json

from . import harness

LIMIT_MSG = "The requested resource exceeds the maximum number allowed."


class LimitsTest(harness.ServerTestCase):
    server_args = ("--rules-per-bus", "3", "--targets-per-rule", "2", "--pattern-max-length", "60",
                   "--max-request-size", "1000", "--sync", "always")

    def test_rules_per_bus(self):
        bus = self.new_bus()
        for i in range(3):
            self.events.put_rule(Name="r%d" % i, EventBusName=bus, EventPattern='{"source":["x"]}')
        with self.assertRaises(self.events.exceptions.LimitExceededException) as cm:
            self.events.put_rule(Name="r3", EventBusName=bus, EventPattern='{"source":["x"]}')
        self.assertAwsError(cm, "LimitExceededException", LIMIT_MSG)
        # Replacing an existing rule is not a new rule.
        self.events.put_rule(Name="r0", EventBusName=bus, EventPattern='{"source":["y"]}')
        # The limit is per bus.
        other = self.new_bus()
        self.events.put_rule(Name="r3", EventBusName=other, EventPattern='{"source":["x"]}')
        # Room again after a delete.
        self.events.delete_rule(Name="r1", EventBusName=bus)
        self.events.put_rule(Name="r3", EventBusName=bus, EventPattern='{"source":["x"]}')

    def test_targets_per_rule(self):
        name = harness.unique("r")
        self.events.put_rule(Name=name, EventPattern='{"source":["x"]}')
        self.addCleanup(self.events.delete_rule, Name=name, Force=True)
        self.events.put_targets(Rule=name, Targets=[{"Id": "a", "Arn": "arn:aws:sqs:us-east-1:1:a"},
                                                    {"Id": "b", "Arn": "arn:aws:sqs:us-east-1:1:b"}])
        with self.assertRaises(self.events.exceptions.LimitExceededException) as cm:
            self.events.put_targets(Rule=name, Targets=[{"Id": "c", "Arn": "arn:aws:sqs:us-east-1:1:c"}])
        self.assertAwsError(cm, "LimitExceededException", LIMIT_MSG)

    def test_pattern_max_length(self):
        name = harness.unique("r")
        ok = json.dumps({"source": ["s" * 40]})
        self.assertLessEqual(len(ok), 60)
        self.events.put_rule(Name=name, EventPattern=ok)
        self.addCleanup(self.events.delete_rule, Name=name)
        too_long = json.dumps({"source": ["s" * 60]})
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_rule(Name=name, EventPattern=too_long)
        self.assertAwsError(cm, "ValidationException", "1 validation error detected: Value at 'eventPattern' failed to "
                            "satisfy constraint: Member must have length less than or equal to 60")
        # The rule is unchanged.
        self.assertEqual(self.events.describe_rule(Name=name)["EventPattern"], ok)

    def test_max_request_size(self):
        detail = json.dumps({"pad": "x" * 400})
        out = self.events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": detail}] * 2)
        self.assertEqual(out["FailedEntryCount"], 0)
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": detail}] * 3)
        self.assertAwsError(cm, "ValidationException", "Total size of the entries in the request is over the limit.")
