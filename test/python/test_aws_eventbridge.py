"""The aws_eventbridge helper package (python/aws-eventbridge): installed with pip from the
checkout, then a tutorial's quick start of exactly its calls, run as its own process against a
real server with the endpoint taken from AWS_ENDPOINT_URL_EVENTS."""

import json
import os
import subprocess
import sys
import textwrap
import time

from . import harness

PACKAGE_DIR = os.path.join(harness.REPO_ROOT, "python", "aws-eventbridge")

QUICK_START = textwrap.dedent('''
    import datetime, json, sys, time
    from aws_eventbridge import EventBridgeManager, FailedEntriesError

    receiver, bus = sys.argv[1], sys.argv[2]
    eb = EventBridgeManager(region="us-east-1")
    bus_arn = eb.create_event_bus(bus)
    rule_arn = eb.put_rule("orders-created", event_pattern={"source": ["app.orders"]},
                           event_bus_name=bus, description="orders")
    tick_arn = eb.put_rule("every-minute", schedule_expression="rate(1 minute)", event_bus_name="default")
    eb.put_targets("orders-created", [{"Id": "hook", "Arn": receiver}], event_bus_name=bus)
    try:
        eb.put_targets("orders-created", [{"Id": "bad", "Arn": "not-an-arn"}], event_bus_name=bus)
        refused = None
    except FailedEntriesError as e:
        refused = e.entries[0]["ErrorCode"]
    except Exception as e:  # a ValidationException for the whole call is also AWS's answer
        refused = type(e).__name__
    archive_arn = eb.create_archive("orders-archive-" + bus, bus_arn, retention_days=1)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    out = eb.put_events([{"Source": "app.orders", "DetailType": "OrderCreated", "Detail": {"id": 7},
                          "EventBusName": bus}])
    print(json.dumps({"bus_arn": bus_arn, "rule_arn": rule_arn, "tick_arn": tick_arn, "refused": refused,
                      "archive_arn": archive_arn, "failed": out["FailedEntryCount"],
                      "event_id": out["Entries"][0].get("EventId"),
                      "start": start.timestamp(), "endpoint": eb.client.meta.endpoint_url}))
    sys.stdout.flush()
    # The replay, once the archive holds the event (the test polls it for us via stdin).
    sys.stdin.readline()
    # The archive keeps event times to the second and the window's end is exclusive.
    time.sleep(1.1)
    end = datetime.datetime.now(datetime.timezone.utc)
    r = eb.start_replay("orders-replay-" + bus, archive_arn, start, end)
    print(json.dumps({"replay_arn": r["ReplayArn"], "state": r["State"]}))
''')


class AwsEventbridgePackageTest(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site = harness.mkdtemp("switchyard-pytest-pip-")
        # Offline: the build backend is the installed setuptools, not one pip would download.
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                              "--no-build-isolation", "--disable-pip-version-check", "--target", cls.site,
                              PACKAGE_DIR], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=300)
        if out.returncode != 0:
            raise RuntimeError("pip install failed:\n" + out.stdout)

    def test_quick_start(self):
        rcv = self.receiver()
        bus = harness.unique("tutorial")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"PYTHONPATH": self.site, "AWS_ENDPOINT_URL_EVENTS": self.server.endpoint,
                    "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
        # Run from a directory without the checkout, so that only the installed package is found.
        proc = subprocess.Popen([sys.executable, "-c", QUICK_START, rcv.url, bus], env=env, cwd=self.site,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        line = proc.stdout.readline()
        self.assertTrue(line, proc.stderr.read() if proc.poll() is not None else "no output")
        first = json.loads(line)
        self.assertEqual(first["endpoint"], self.server.endpoint)
        self.assertEqual(first["bus_arn"], "arn:aws:events:us-east-1:%s:event-bus/%s" % (harness.DEFAULT_ACCOUNT, bus))
        self.assertEqual(first["rule_arn"], "arn:aws:events:us-east-1:%s:rule/%s/orders-created" % (harness.DEFAULT_ACCOUNT, bus))
        self.assertEqual(first["failed"], 0)
        self.assertIsNotNone(first["refused"])
        rule = self.events.describe_rule(Name="orders-created", EventBusName=bus)
        self.assertEqual(json.loads(rule["EventPattern"]), {"source": ["app.orders"]})
        self.assertEqual(rule["Description"], "orders")
        self.assertEqual(self.events.describe_rule(Name="every-minute")["ScheduleExpression"], "rate(1 minute)")
        got = rcv.wait_for_id(first["event_id"])
        self.assertEqual(got["detail"], {"id": 7})

        archive = first["archive_arn"].rsplit("/", 1)[-1]
        deadline = time.monotonic() + 15
        while self.events.describe_archive(ArchiveName=archive)["EventCount"] < 1:
            self.assertLess(time.monotonic(), deadline, "the archive never counted the event")
            time.sleep(0.2)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        second = json.loads(proc.stdout.readline() or "{}")
        self.assertTrue(second.get("replay_arn", "").endswith(":replay/orders-replay-" + bus), second)
        self.assertEqual(proc.wait(timeout=30), 0, proc.stderr.read())
        # The replayed copy reaches the rule's target again, marked with the replay's name.
        deadline = time.monotonic() + 30
        while True:
            replayed = [e for e in rcv.events() if e.get("replay-name") == "orders-replay-" + bus]
            if replayed:
                break
            self.assertLess(time.monotonic(), deadline, "no replayed event arrived: %s; the replay: %s" % (
                rcv.events(), self.events.describe_replay(ReplayName="orders-replay-" + bus)))
            time.sleep(0.2)
        self.assertEqual(replayed[0]["id"], first["event_id"])
