"""The README's endpoint variable: AWS_ENDPOINT_URL_EVENTBRIDGE (the SDKs
name it after the service id, "EventBridge") points boto3 and the AWS CLI at
Switchyard with no --endpoint-url or endpoint_url at all."""

import json
import os
import shutil
import subprocess
import sys
import unittest

from . import harness


class EndpointFromEnvironmentTest(harness.ServerTestCase):

    def env(self, account):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.cfg_dir = harness.mkdtemp("switchyard-pytest-env-")
        env.update({
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.server.endpoint,
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": "dummy-secret",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_CONFIG_FILE": os.path.join(self.cfg_dir, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.cfg_dir, "credentials"),
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        })
        return env

    def tearDown(self):
        harness.rmtemp(self.cfg_dir)

    def test_boto3(self):
        acct = harness.fresh_account()
        bus = harness.unique("envbus")
        code = ("import boto3, json\n"
                "c = boto3.client('events')\n"
                "c.create_event_bus(Name=%r)\n"
                "print(json.dumps(c.describe_event_bus(Name=%r)['Arn']))\n") % (bus, bus)
        p = subprocess.run([sys.executable, "-c", code], env=self.env(acct), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), "arn:aws:events:eu-west-1:%s:event-bus/%s" % (acct, bus))
        # It is on this server: another client sees it.
        self.server.client(account=acct, region="eu-west-1").describe_event_bus(Name=bus)

    @unittest.skipUnless(shutil.which("aws"), "the aws CLI is not installed")
    def test_cli(self):
        acct = harness.fresh_account()
        bus = harness.unique("envcli")
        env = self.env(acct)
        p = subprocess.run(["aws", "--output", "json", "events", "create-event-bus", "--name", bus], env=env,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["EventBusArn"], "arn:aws:events:eu-west-1:%s:event-bus/%s" % (acct, bus))
        self.server.client(account=acct, region="eu-west-1").describe_event_bus(Name=bus)


if __name__ == "__main__":
    unittest.main()
