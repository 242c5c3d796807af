"""EventBridge Pipes through boto3's `pipes` client and `aws pipes`: the API
with AWS's shapes and errors, and a pipe from an SQS queue (moto_server) to
an HTTP receiver through an EventBridge bus rule."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import unittest
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import harness

ROLE = "arn:aws:iam::123456789012:role/pipe"


def pipes_client(server, region=harness.DEFAULT_REGION, account=harness.DEFAULT_ACCOUNT):
    return boto3.session.Session().client(
        "pipes", endpoint_url=server.endpoint, region_name=region,
        aws_access_key_id=account, aws_secret_access_key="dummy-secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def wait_state(client, name, state, timeout=30):
    deadline = time.time() + timeout
    while True:
        d = client.describe_pipe(Name=name)
        if d["CurrentState"] == state:
            return d
        if time.time() > deadline:
            raise AssertionError("pipe %s is %s (%s), want %s" % (name, d["CurrentState"], d.get("StateReason"), state))
        time.sleep(0.1)


class PipesAPITest(harness.ServerTestCase):

    def setUp(self):
        self.pipes = pipes_client(self.server, account=harness.fresh_account())

    def test_lifecycle(self):
        src = "arn:aws:sqs:us-east-1:123456789012:py-src"
        out = self.pipes.create_pipe(Name="py-orders", RoleArn=ROLE, Source=src, Target=src, DesiredState="STOPPED",
                                     SourceParameters={"SqsQueueParameters": {"BatchSize": 4}},
                                     Tags={"team": "py"})
        self.assertEqual(out["Name"], "py-orders")
        self.assertTrue(out["Arn"].endswith(":pipe/py-orders"))
        self.assertEqual(out["CurrentState"], "CREATING")
        self.assertEqual(out["DesiredState"], "STOPPED")
        d = wait_state(self.pipes, "py-orders", "STOPPED")
        self.assertEqual(d["SourceParameters"], {"SqsQueueParameters": {"BatchSize": 4}})
        self.assertEqual(d["Tags"], {"team": "py"})
        self.pipes.tag_resource(resourceArn=out["Arn"], tags={"env": "dev"})
        self.assertEqual(self.pipes.list_tags_for_resource(resourceArn=out["Arn"])["tags"], {"team": "py", "env": "dev"})
        self.pipes.untag_resource(resourceArn=out["Arn"], tagKeys=["team", "env"])
        self.assertEqual(self.pipes.list_tags_for_resource(resourceArn=out["Arn"])["tags"], {})

        for i in range(4):
            self.pipes.create_pipe(Name="py-p%d" % i, RoleArn=ROLE, Source=src, Target=src, DesiredState="STOPPED")
        names = [p["Name"] for page in self.pipes.get_paginator("list_pipes").paginate(PaginationConfig={"PageSize": 2})
                 for p in page["Pipes"]]
        self.assertEqual(names, ["py-orders", "py-p0", "py-p1", "py-p2", "py-p3"])

        out = self.pipes.delete_pipe(Name="py-orders")
        self.assertEqual((out["CurrentState"], out["DesiredState"]), ("DELETING", "DELETED"))
        deadline = time.time() + 20
        while True:
            try:
                self.pipes.describe_pipe(Name="py-orders")
            except self.pipes.exceptions.NotFoundException as e:
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 404)
                break
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)

    def test_validation(self):
        with self.assertRaises(ClientError) as cm:
            self.pipes.create_pipe(Name="bad name", RoleArn=ROLE, Source="arn:aws:sqs:us-east-1:123456789012:q",
                                   Target="arn:aws:sqs:us-east-1:123456789012:q")
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        self.assertIn("failed to satisfy constraint: Member must satisfy regular expression pattern", err["Error"]["Message"])
        self.assertEqual(err["fieldList"][0]["name"], "name")

        with self.assertRaises(ClientError) as cm:
            self.pipes.create_pipe(Name="kin", RoleArn=ROLE, Source="arn:aws:kinesis:us-east-1:123456789012:stream/s",
                                   Target="arn:aws:sqs:us-east-1:123456789012:q")
        self.assertEqual(cm.exception.response["fieldList"],
                         [{"name": "SourceParameters.KinesisStreamParameters", "message": "Missing required parameter."}])

        src = "arn:aws:sqs:us-east-1:123456789012:q"
        self.pipes.create_pipe(Name="dup", RoleArn=ROLE, Source=src, Target=src, DesiredState="STOPPED")
        with self.assertRaises(self.pipes.exceptions.ConflictException) as cm:
            self.pipes.create_pipe(Name="dup", RoleArn=ROLE, Source=src, Target=src)
        self.assertEqual(cm.exception.response["resourceType"], "pipe")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 409)

        with self.assertRaises(self.pipes.exceptions.NotFoundException):
            self.pipes.start_pipe(Name="never-made")


@unittest.skipUnless(shutil.which("aws"), "the aws CLI is not installed")
class PipesCliTest(harness.ServerTestCase):

    def aws(self, *args, account):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cfg = harness.mkdtemp("switchyard-pytest-cli-")
        env.update({"AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": os.path.join(cfg, "c"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cfg, "k"),
                    "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
        p = subprocess.run(["aws", "--endpoint-url", self.server.endpoint, "--output", "json", "pipes"] + list(args),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        harness.rmtemp(cfg)
        return p

    def test_cli(self):
        acct = harness.fresh_account()
        src = "arn:aws:sqs:us-east-1:%s:cli-src" % acct
        p = self.aws("create-pipe", "--name", "cli-pipe", "--role-arn", ROLE, "--source", src, "--target", src,
                     "--desired-state", "STOPPED", "--source-parameters",
                     json.dumps({"FilterCriteria": {"Filters": [{"Pattern": '{"body":{"a":[1]}}'}]}}), account=acct)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["Name"], "cli-pipe")
        p = self.aws("list-pipes", account=acct)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([x["Name"] for x in json.loads(p.stdout)["Pipes"]], ["cli-pipe"])
        p = self.aws("describe-pipe", "--name", "cli-pipe", account=acct)
        self.assertEqual(json.loads(p.stdout)["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"], '{"body":{"a":[1]}}')
        p = self.aws("describe-pipe", "--name", "nope", account=acct)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NotFoundException", p.stderr)
        p = self.aws("delete-pipe", "--name", "cli-pipe", account=acct)
        self.assertEqual(p.returncode, 0, p.stderr)


class Moto:
    """A moto_server on a random loopback port, for the pipe's source."""

    def __init__(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen([shutil.which("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2).close()
                return
            except Exception:
                if time.time() > deadline:
                    self.close()
                    raise
                time.sleep(0.2)

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@unittest.skipUnless(shutil.which("moto_server"), "moto_server is not installed")
class PipesDataTest(unittest.TestCase):
    """SQS (moto) → filter → event bus → rule → HTTP receiver."""

    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        # Switchyard's own AWS calls (the source, STS for the pipe's role)
        # sign with these; moto accepts any.
        for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"}.items():
            os.environ.setdefault(k, v)
        cls.server = harness.Server(extra_args=("--aws-endpoint", cls.moto.url)).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.moto.close()

    def test_sqs_to_bus_to_http(self):
        region, acct = "us-west-2", "123456789012"
        sqs = boto3.client("sqs", endpoint_url=self.moto.url, region_name=region,
                           aws_access_key_id="test", aws_secret_access_key="test")
        url = sqs.create_queue(QueueName="py-pipe-src")["QueueUrl"]
        arn = "arn:aws:sqs:%s:%s:py-pipe-src" % (region, acct)
        recv = harness.Receiver()
        self.addCleanup(recv.close)
        events = self.server.client(region=region, account=acct)
        events.put_rule(Name="py-from-pipe", EventPattern=json.dumps({"source": ["Pipe py-pipe"]}))
        events.put_targets(Rule="py-from-pipe", Targets=[{"Id": "h", "Arn": recv.url}])
        p = pipes_client(self.server, region=region, account=acct)
        p.create_pipe(Name="py-pipe", RoleArn=ROLE, Source=arn,
                      Target="arn:aws:events:%s:%s:event-bus/default" % (region, acct),
                      SourceParameters={"FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"ok": [True]}})}]}},
                      TargetParameters={"InputTemplate": '{"n": <$.body.n>, "from": "<aws.pipes.source-arn>"}'})
        wait_state(p, "py-pipe", "RUNNING")
        for n, ok in [(1, True), (2, False), (3, True)]:
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n, "ok": ok}))
        got = recv.wait_for(2, timeout=30)
        details = sorted((e["detail"]["n"], e["detail"]["from"], e["detail-type"]) for e in got)
        self.assertEqual(details, [(1, arn, "Event from aws:sqs"), (3, arn, "Event from aws:sqs")])
        time.sleep(2)
        self.assertEqual(len(recv.events()), 2)


if __name__ == "__main__":
    unittest.main()
