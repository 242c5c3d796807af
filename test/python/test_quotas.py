"""An account's API quotas, as boto3 meets them: ThrottlingException over
the quota, which botocore's retry modes retry until the next second has
room."""

import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from . import harness


class QuotasTest(harness.ServerTestCase):
    server_args = ("--quota-control", "3", "--quota-putevents", "0")

    def test_throttled_without_retries(self):
        c = self.server.client(account=harness.fresh_account())

        def call(_):
            try:
                c.list_event_buses()
                return "OK"
            except c.exceptions.ClientError as e:
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400)
                self.assertEqual(e.response["Error"]["Message"], "Rate exceeded")
                return e.response["Error"]["Code"]

        start = time.monotonic()
        with ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(call, range(20)))
        seconds = time.monotonic() - start
        self.assertIn("ThrottlingException", codes)
        # At most 3 in each second the calls touched.
        self.assertLessEqual(codes.count("OK"), 3 * (int(seconds) + 2), (seconds, codes))
        # PutEvents is outside the control quota (and has none here).
        for _ in range(10):
            out = c.put_events(Entries=[{"Source": "q", "DetailType": "q", "Detail": "{}"}])
            self.assertEqual(out["FailedEntryCount"], 0)

    def test_sdk_retries_through(self):
        # The SDK's own retries (standard mode, with backoff) get every call
        # through: throttling slows a client down, it does not fail it.
        c = boto3.session.Session().client(
            "events", endpoint_url=self.server.endpoint, region_name="us-east-1",
            aws_access_key_id=harness.fresh_account(), aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 10, "mode": "standard"}))
        start = time.monotonic()
        for _ in range(12):
            c.list_event_buses()
        # 12 requests at 3 a second take four one-second windows: the first
        # may end at once, the other three boundaries are at least 2 s on.
        self.assertGreater(time.monotonic() - start, 1.9)
