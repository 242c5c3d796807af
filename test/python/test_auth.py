"""--auth sigv4: boto3 and the AWS CLI sign for real with keys from a
credentials file the test writes, and the server verifies them."""

import datetime
import json
import os
import shutil
import subprocess
import time
import unittest
from unittest import mock

import boto3
import botocore.auth
from botocore.config import Config
from botocore.exceptions import ClientError

from . import harness

KEYS = """keys:
  - access_key_id: AKIAPYTHONEXAMPLE
    secret_access_key: "py/secret+KEY"
    account: "210987654321"
    principal: carol
  - access_key_id: AKIAPYTHONSENDER
    secret_access_key: py-sender-secret
    account: "333344445555"
  - access_key_id: ASIAPYTHONSESSION
    secret_access_key: py-session-secret
    account: "210987654321"
    session_token: "IQoJb3JpZ2luX2VjEXAMPLE//token+="
  - access_key_id: ASIAPYTHONEXPIRED
    secret_access_key: py-expired-secret
    account: "210987654321"
    session_token: old
    expiration: 2020-01-01T00:00:00Z
"""

INVALID_TOKEN = "The security token included in the request is invalid."
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")


def write_atomically(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.chmod(path + ".new", 0o600)
    os.replace(path + ".new", path)


class AuthTest(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.cred_dir = harness.mkdtemp("switchyard-pytest-creds-")
        cls.cred_file = os.path.join(cls.cred_dir, "credentials.yaml")
        write_atomically(cls.cred_file, KEYS)
        cls.server_args = ("--auth", "sigv4", "--credentials-file", cls.cred_file)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        harness.rmtemp(cls.cred_dir)

    def signed(self, key, secret, token=None, region="us-east-1"):
        return boto3.session.Session().client(
            "events", endpoint_url=self.server.endpoint, region_name=region,
            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30))

    def carol(self, region="us-east-1"):
        return self.signed("AKIAPYTHONEXAMPLE", "py/secret+KEY", region=region)

    def test_allowed_call_acts_in_the_files_account(self):
        bus = harness.unique("auth")
        out = self.carol("eu-central-1").create_event_bus(Name=bus)
        self.assertEqual(out["EventBusArn"], "arn:aws:events:eu-central-1:210987654321:event-bus/%s" % bus)
        self.put_event(bus=bus, client=self.carol("eu-central-1"))
        names = [b["Name"] for b in self.carol("eu-central-1").list_event_buses(NamePrefix=bus)["EventBuses"]]
        self.assertEqual(names, [bus])

    def test_session_token(self):
        ok = self.signed("ASIAPYTHONSESSION", "py-session-secret", token="IQoJb3JpZ2luX2VjEXAMPLE//token+=")
        ok.list_event_buses()
        for token in (None, "IQoJb3JpZ2luX2VjEXAMPLE//token+!"):
            with self.assertRaises(ClientError) as cm:
                self.signed("ASIAPYTHONSESSION", "py-session-secret", token=token).list_event_buses()
            self.assertAwsError(cm, "UnrecognizedClientException", INVALID_TOKEN)
        with self.assertRaises(ClientError) as cm:
            self.signed("ASIAPYTHONEXPIRED", "py-expired-secret", token="old").list_event_buses()
        self.assertAwsError(cm, "ExpiredTokenException", "The security token included in the request is expired")

    def test_refused(self):
        with self.assertRaises(ClientError) as cm:
            self.signed("AKIAPYTHONUNKNOWN", "x").list_event_buses()
        self.assertAwsError(cm, "UnrecognizedClientException", INVALID_TOKEN)
        with self.assertRaises(ClientError) as cm:
            self.signed("AKIAPYTHONEXAMPLE", "not-carols").list_event_buses()
        self.assertAwsError(cm, "InvalidSignatureException", MISMATCH)
        # The accounts of --auth none are not accounts here.
        with self.assertRaises(ClientError) as cm:
            self.server.client(account="210987654321").list_event_buses()
        self.assertAwsError(cm, "UnrecognizedClientException", INVALID_TOKEN)

    def test_skewed_clock(self):
        for skew, prefix in ((-10, "Signature expired: "), (10, "Signature not yet current: ")):
            then = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=skew)
            with mock.patch.object(botocore.auth, "get_current_datetime", return_value=then):
                with self.assertRaises(ClientError) as cm:
                    self.carol().list_event_buses()
            err = cm.exception.response["Error"]
            self.assertEqual(err["Code"], "InvalidSignatureException")
            self.assertTrue(err["Message"].startswith(prefix) and " 5 min.)" in err["Message"], err["Message"])

    def test_reload_without_restart(self):
        client = self.signed("AKIAPYTHONADDED", "added-secret")
        with self.assertRaises(ClientError) as cm:
            client.list_event_buses()
        self.assertAwsError(cm, "UnrecognizedClientException", INVALID_TOKEN)
        write_atomically(self.cred_file, KEYS + """  - access_key_id: AKIAPYTHONADDED
    secret_access_key: added-secret
    account: "333344445555"
""")
        self.addCleanup(write_atomically, self.cred_file, KEYS)
        deadline = time.monotonic() + 10
        while True:
            try:
                bus = harness.unique("added")
                arn = client.create_event_bus(Name=bus)["EventBusArn"]
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.assertEqual(arn, "arn:aws:events:us-east-1:333344445555:event-bus/%s" % bus)

    def cli(self, key, secret, *args, token=None, region="us-east-1"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cfg_dir = harness.mkdtemp("switchyard-pytest-cli-")
        self.addCleanup(harness.rmtemp, cfg_dir)
        env.update({
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": os.path.join(cfg_dir, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cfg_dir, "credentials"),
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        })
        if token:
            env["AWS_SESSION_TOKEN"] = token
        return subprocess.run(["aws", "events", "--endpoint-url", self.server.endpoint, "--output", "json"] + list(args),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    @unittest.skipUnless(shutil.which("aws"), "the aws CLI is not installed")
    def test_cli_with_env_credentials(self):
        bus = harness.unique("cli-auth")
        self.carol().create_event_bus(Name=bus)
        p = self.cli("AKIAPYTHONEXAMPLE", "py/secret+KEY", "list-event-buses", "--name-prefix", bus)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([b["Arn"] for b in json.loads(p.stdout)["EventBuses"]],
                         ["arn:aws:events:us-east-1:210987654321:event-bus/%s" % bus])
        p = self.cli("ASIAPYTHONSESSION", "py-session-secret", "list-event-buses", token="IQoJb3JpZ2luX2VjEXAMPLE//token+=")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli("AKIAPYTHONEXAMPLE", "wrong", "list-event-buses")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidSignatureException", p.stderr)
        p = self.cli("AKIAPYTHONUNKNOWN", "x", "list-event-buses")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("UnrecognizedClientException", p.stderr)
        self.assertIn(INVALID_TOKEN, p.stderr)


if __name__ == "__main__":
    unittest.main()

    def test_cross_account_put_events_by_bus_policy(self):
        owner = self.carol()
        sender = self.signed("AKIAPYTHONSENDER", "py-sender-secret")
        bus = harness.unique("central")
        arn = owner.create_event_bus(Name=bus)["EventBusArn"]
        recv = self.receiver()
        owner.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["app.cross"]}))
        owner.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "1", "Arn": recv.url}])
        entry = {"EventBusName": arn, "Source": "app.cross", "DetailType": "t", "Detail": "{}"}
        with self.assertRaises(ClientError) as cm:
            sender.put_events(Entries=[entry])
        self.assertAwsError(cm, "AccessDeniedException")
        self.assertIn("arn:aws:iam::333344445555:root is not authorized to perform: events:PutEvents on resource: " + arn,
                      cm.exception.response["Error"]["Message"])

        owner.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="333344445555", StatementId="s")
        out = sender.put_events(Entries=[entry])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        got = recv.wait_for_id(out["Entries"][0]["EventId"])
        self.assertEqual(got["account"], "333344445555")  # the sender's, as AWS keeps it

        owner.remove_permission(EventBusName=bus, StatementId="s")
        with self.assertRaises(ClientError) as cm:
            sender.put_events(Entries=[entry])
        self.assertAwsError(cm, "AccessDeniedException")
