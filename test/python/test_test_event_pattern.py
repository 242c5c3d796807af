"""TestEventPattern."""

import json

from . import harness

EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated", "count": 7},
}


class TestEventPatternTest(harness.ServerTestCase):

    def check(self, pattern, event=EVENT):
        return self.events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"]

    def test_true_and_false(self):
        self.assertIs(self.check({"source": ["aws.ec2"]}), True)
        self.assertIs(self.check({"source": ["aws.s3"]}), False)
        self.assertIs(self.check({"detail": {"state": ["terminated", "stopped"]}}), True)
        self.assertIs(self.check({"detail": {"state": ["running"]}}), False)
        self.assertIs(self.check({"detail": {"count": [{"numeric": [">=", 7, "<", 8]}]}}), True)
        self.assertIs(self.check({"detail": {"count": [{"numeric": [">", 7]}]}}), False)
        self.assertIs(self.check({"detail": {"state": [{"prefix": "term"}]}}), True)
        self.assertIs(self.check({"detail": {"state": [{"anything-but": "terminated"}]}}), False)
        self.assertIs(self.check({"detail": {"missing": [{"exists": False}]}}), True)
        self.assertIs(self.check({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}),
                      True)
        self.assertIs(self.check({"account": ["111122223333"], "region": ["us-west-1"]}), True)

    def test_invalid_pattern(self):
        for bad in ('{"source": "aws.ec2"}', "{", '{"source": []}'):
            with self.assertRaises(self.events.exceptions.InvalidEventPatternException) as cm:
                self.events.test_event_pattern(EventPattern=bad, Event=json.dumps(EVENT))
            self.assertAwsError(cm, "InvalidEventPatternException")
            self.assertTrue(cm.exception.response["Error"]["Message"].startswith("Event pattern is not valid. Reason: "))

    def test_invalid_event(self):
        for field in ("id", "account", "source", "time", "region", "detail-type"):
            ev = dict(EVENT)
            del ev[field]
            with self.assertRaises(self.events.exceptions.ClientError, msg=field) as cm:
                self.events.test_event_pattern(EventPattern='{"source": ["aws.ec2"]}', Event=json.dumps(ev))
            self.assertAwsError(cm, "ValidationException", "Parameter Event is not valid.")
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.test_event_pattern(EventPattern='{"source": ["aws.ec2"]}', Event="not json")
        self.assertAwsError(cm, "ValidationException", "Parameter Event is not valid.")

    def test_resources_not_required(self):
        # The API reference lists resources as mandatory, but EventBridge
        # accepts an event without it (LocalStack's recorded AWS behaviour).
        ev = dict(EVENT)
        del ev["resources"]
        self.assertIs(self.check({"source": ["aws.ec2"]}, ev), True)
