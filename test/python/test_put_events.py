"""PutEvents: per-entry errors, request-level limits, Time, Resources,
EventBusName forms."""

import datetime
import json
import time
import uuid

from . import harness

ACCT = harness.DEFAULT_ACCOUNT
REGION = harness.DEFAULT_REGION


def entry(**kw):
    e = {"Source": "app.pe", "DetailType": "Thing", "Detail": "{}"}
    e.update(kw)
    return {k: v for k, v in e.items() if v is not None}


class PutEventsTest(harness.ServerTestCase):

    def assertEntryError(self, result, code, message):
        self.assertEqual(result.get("ErrorCode"), code, result)
        self.assertEqual(result.get("ErrorMessage"), message, result)
        self.assertNotIn("EventId", result)

    def test_per_entry_errors_with_http_200(self):
        out = self.events.put_events(Entries=[
            entry(),                                  # 0 ok
            entry(Source=None),                       # 1 no Source
            entry(DetailType=None),                   # 2 no DetailType
            entry(Detail=None),                       # 3 no Detail
            entry(Detail="[1, 2]"),                   # 4 not an object
            entry(Detail="{not json"),                # 5 not JSON
            entry(Source="aws.ec2"),                  # 6 reserved source
            entry(Detail='"just a string"'),          # 7 not an object
            entry(),                                  # 8 ok
        ])
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(out["FailedEntryCount"], 7)
        r = out["Entries"]
        self.assertEqual(len(r), 9)
        for i in (0, 8):
            uuid.UUID(r[i]["EventId"])
            self.assertEqual(set(r[i]), {"EventId"})
        self.assertEntryError(r[1], "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.")
        self.assertEntryError(r[2], "InvalidArgument",
                              "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
        self.assertEntryError(r[3], "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.")
        self.assertEntryError(r[4], "MalformedDetail", "Detail is malformed.")
        self.assertEntryError(r[5], "MalformedDetail", "Detail is malformed.")
        self.assertEntryError(r[6], "NotAuthorizedForSourceException", "Not authorized for the source.")
        self.assertEntryError(r[7], "MalformedDetail", "Detail is malformed.")

    def test_failed_entries_are_not_delivered(self):
        recv = self.receiver()
        bus = self.new_bus()
        self.events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["Thing"]}))
        self.events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        out = self.events.put_events(Entries=[entry(EventBusName=bus, Detail="[]"),
                                             entry(EventBusName=bus, Source="aws.s3"),
                                             entry(EventBusName=bus, Detail='{"ok": true}')])
        self.assertEqual(out["FailedEntryCount"], 2)
        good = out["Entries"][2]["EventId"]
        recv.wait_for_id(good)
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual([e["id"] for e in recv.events()], [good])

    def test_eleven_entries_is_a_validation_error(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_events(Entries=[entry() for _ in range(11)])
        self.assertAwsError(cm, "ValidationException")
        msg = cm.exception.response["Error"]["Message"]
        self.assertTrue(msg.startswith("1 validation error detected: Value '"), msg)
        self.assertTrue(msg.endswith("' at 'entries' failed to satisfy constraint: "
                                     "Member must have length less than or equal to 10"), msg)
        # Ten are fine.
        self.assertEqual(self.events.put_events(Entries=[entry() for _ in range(10)])["FailedEntryCount"], 0)

    def test_total_size_over_1mib(self):
        # AWS's limit is 1 MiB of entries a request since January 29, 2026
        # (it was 256 KB): "More room to build: serverless services now
        # support payloads up to 1 MB", AWS Compute Blog.
        big = json.dumps({"pad": "x" * (400 * 1024)})
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_events(Entries=[entry(Detail=big) for _ in range(3)])
        self.assertAwsError(cm, "ValidationException", "Total size of the entries in the request is over the limit.")
        # Three entries of 300 KB (over the old limit) are accepted.
        out = self.events.put_events(Entries=[entry(Detail=json.dumps({"pad": "z" * (300 * 1024)})) for _ in range(3)])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        # One entry of just under 1 MiB is accepted.
        source, dtype = "app.pe", "Thing"
        room = 1024 * 1024 - len(source) - len(dtype) - len('{"pad": ""}') - 1
        detail = json.dumps({"pad": "y" * room})
        self.assertEqual(len(detail) + len(source) + len(dtype), 1024 * 1024 - 1)
        out = self.events.put_events(Entries=[entry(Detail=detail)])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        # 1 MiB and a byte is not.
        detail = json.dumps({"pad": "y" * (room + 2)})
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_events(Entries=[entry(Detail=detail)])
        self.assertAwsError(cm, "ValidationException", "Total size of the entries in the request is over the limit.")

    def test_time_and_resources_are_honoured(self):
        recv = self.receiver()
        bus = self.new_bus()
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["app.time"]}))
        self.events.put_targets(Rule="r", EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        when = datetime.datetime(2021, 3, 4, 5, 6, 7, 890000, tzinfo=datetime.timezone.utc)
        resources = ["arn:aws:ec2:us-east-1:123456789012:instance/i-1", "arn:aws:s3:::b"]
        eid = self.put_event(source="app.time", bus=bus, Time=when, Resources=resources)
        ev = recv.wait_for_id(eid)
        self.assertEqual(ev["time"], "2021-03-04T05:06:07Z")
        self.assertEqual(ev["resources"], resources)

    def test_event_bus_name_as_arn(self):
        recv = self.receiver()
        bus = self.new_bus()
        arn = "arn:aws:events:%s:%s:event-bus/%s" % (REGION, ACCT, bus)
        self.events.put_rule(Name="r", EventBusName=arn, EventPattern=json.dumps({"source": ["app.arn"]}))
        self.events.put_targets(Rule="r", EventBusName=arn, Targets=[{"Id": "1", "Arn": recv.url}])
        eid = self.put_event(source="app.arn", bus=arn)
        self.assertEqual(recv.wait_for_id(eid)["source"], "app.arn")

    def test_default_bus_by_name_and_arn(self):
        recv = self.receiver()
        src = harness.unique("app")
        rule = harness.unique("r")
        self.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
        self.addCleanup(self.events.delete_rule, Name=rule, Force=True)
        self.events.put_targets(Rule=rule, Targets=[{"Id": "1", "Arn": recv.url}])
        ids = [self.put_event(source=src),
               self.put_event(source=src, bus="default"),
               self.put_event(source=src, bus="arn:aws:events:%s:%s:event-bus/default" % (REGION, ACCT))]
        for i in ids:
            recv.wait_for_id(i)

    def test_detail_is_delivered_as_sent(self):
        recv = self.receiver()
        bus = self.new_bus()
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["app.detail"]}))
        self.events.put_targets(Rule="r", EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        detail = {"unicode": "h\u00e9llo \u2603 \U0001F600", "html": "<a href='x'>&</a>", "big": 9223372036854775807,
                  "neg": -1.5e-3, "nested": {"a": [1, {"b": None}], "t": True}, "quote": "\"\\"}
        eid = self.put_event(source="app.detail", detail_type="D \u00e9", detail=detail, bus=bus)
        ev = recv.wait_for_id(eid)
        self.assertEqual(ev["detail"], detail)
        self.assertEqual(ev["detail-type"], "D \u00e9")

    def test_detail_integer_out_of_range_is_malformed(self):
        out = self.events.put_events(Entries=[entry(Detail='{"n": 9223372036854775808}')])
        self.assertEqual(out["FailedEntryCount"], 1)
        self.assertEntryError(out["Entries"][0], "MalformedDetail", "Detail is malformed.")

    def test_matching_is_per_detail(self):
        recv = self.receiver()
        bus = self.new_bus()
        pattern = {"source": ["app.shop"], "detail": {"total": [{"numeric": [">", 100]}], "country": ["DE", "FR"]}}
        self.events.put_rule(Name="big", EventBusName=bus, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule="big", EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        out = self.events.put_events(Entries=[
            entry(Source="app.shop", EventBusName=bus, Detail=json.dumps({"total": 150, "country": "DE"})),
            entry(Source="app.shop", EventBusName=bus, Detail=json.dumps({"total": 50, "country": "DE"})),
            entry(Source="app.shop", EventBusName=bus, Detail=json.dumps({"total": 150, "country": "US"})),
            entry(Source="app.shop", EventBusName=bus, Detail=json.dumps({"total": 101.5, "country": "FR"})),
        ])
        ids = [e["EventId"] for e in out["Entries"]]
        recv.wait_for_id(ids[0])
        recv.wait_for_id(ids[3])
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(sorted(e["id"] for e in recv.events()), sorted([ids[0], ids[3]]))

    def test_partner_style_bus_name_is_a_validation_error(self):
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_events(Entries=[entry(), entry(EventBusName="aws.partner/x/y")])
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value 'aws.partner/x/y' at 'entries.2.member.eventBusName' "
                            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
                            "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\.\\-_A-Za-z0-9]+")

    def test_responses_carry_a_request_id(self):
        out = self.events.put_events(Entries=[entry()])
        self.assertTrue(out["ResponseMetadata"]["RequestId"])
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.describe_event_bus(Name=harness.unique("nobus"))
        self.assertTrue(cm.exception.response["ResponseMetadata"]["RequestId"])
