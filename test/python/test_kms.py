"""Event buses encrypted with a customer managed key, through boto3: with a
local master key (--kms-local-key-file), the events of a bus with a
KmsKeyIdentifier reach its targets, and its archive's files do not hold
them in plaintext, while those of a bus without a key do."""

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
import unittest

import boto3
from botocore.exceptions import ClientError

from . import harness


def _files_holding(root, needle):
    found = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                with open(p, "rb") as fh:
                    if needle in fh.read():
                        found.append(p)
            except OSError:
                pass
    return found


class KMSLocalKeyTest(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        key_dir = harness.mkdtemp("switchyard-pytest-kms-")
        cls.key_file = os.path.join(key_dir, "bus.key")
        with open(cls.key_file, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode())
        os.chmod(cls.key_file, 0o600)
        # --sync always: what was stored is in the files when checked.
        cls.server_args = ("--kms-local-key-file", cls.key_file, "--sync", "always")
        super().setUpClass()

    def test_encrypted_bus_delivers_and_stores_no_plaintext(self):
        enc, plain = harness.unique("enc"), harness.unique("plain")
        self.events.create_event_bus(Name=enc, KmsKeyIdentifier="alias/orders-key")
        self.events.create_event_bus(Name=plain)
        d = self.events.describe_event_bus(Name=enc)
        self.assertEqual(d["KmsKeyIdentifier"], "alias/orders-key")
        rcv = self.receiver()
        for bus in (enc, plain):
            # The archive keeps what it stores (the events and delivery
            # streams drop what was processed), so its files show how the
            # events are stored.
            arn = self.events.describe_event_bus(Name=bus)["Arn"]
            self.events.create_archive(ArchiveName=bus + "-arc", EventSourceArn=arn)
            self.events.put_rule(Name="all", EventBusName=bus, EventPattern='{"source":["app.kms"]}')
            self.events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "r", "Arn": rcv.url}])
        secret = harness.unique("secret-card")
        visible = harness.unique("visible-card")
        self.put_event(source="app.kms", detail={"card": secret}, bus=enc)
        self.put_event(source="app.kms", detail={"card": visible}, bus=plain)
        got = [e["detail"]["card"] for e in rcv.wait_for(2)]
        self.assertCountEqual(got, [secret, visible])
        for bus in (enc, plain):
            deadline = time.monotonic() + 15
            while self.events.describe_archive(ArchiveName=bus + "-arc")["EventCount"] < 1:
                self.assertLess(time.monotonic(), deadline, "event not archived")
                time.sleep(0.1)
        self.assertEqual(_files_holding(self.server.data_dir, secret.encode()), [],
                         "the encrypted bus's event is stored in plaintext")
        # The check can fail: the other bus's event is there as it was sent.
        self.assertNotEqual(_files_holding(self.server.data_dir, visible.encode()), [],
                            "the plaintext bus's event is not found in the store's files: the check sees nothing")

    def test_key_removed_keeps_delivering(self):
        bus = harness.unique("rekey")
        self.events.create_event_bus(Name=bus, KmsKeyIdentifier="1234abcd-12ab-34cd-56ef-1234567890ab")
        rcv = self.receiver()
        self.events.put_rule(Name="all", EventBusName=bus, EventPattern='{"source":["app.kms"]}')
        self.events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "r", "Arn": rcv.url}])
        self.put_event(source="app.kms", detail={"n": 1}, bus=bus)
        self.events.update_event_bus(Name=bus)  # no KmsKeyIdentifier: back to no customer key
        self.assertNotIn("KmsKeyIdentifier", self.events.describe_event_bus(Name=bus))
        self.put_event(source="app.kms", detail={"n": 2}, bus=bus)
        self.assertCountEqual([e["detail"]["n"] for e in rcv.wait_for(2)], [1, 2])


class _Moto:
    """A moto_server on a free loopback port, for KMS and SQS."""

    def __init__(self):
        exe = shutil.which("moto_server")
        if exe is None:
            raise unittest.SkipTest("moto_server is not installed")
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", "0"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = None
        deadline = time.monotonic() + 60
        for line in self.proc.stderr:
            m = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
                break
            if time.monotonic() > deadline:
                break
        if self.url is None:
            self.stop()
            raise RuntimeError("moto_server did not start")
        # Keep reading its log, so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def client(self, service):
        return boto3.session.Session().client(service, endpoint_url=self.url, region_name=harness.DEFAULT_REGION,
                                              aws_access_key_id="test", aws_secret_access_key="test")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class KMSMotoTest(harness.ServerTestCase):
    """A bus encrypted under a key of moto's KMS, through boto3: delivered;
    once the key is disabled, new events go to the bus's dead-letter queue
    (moto's SQS) with ERROR_CODE and ERROR_MESSAGE."""

    @classmethod
    def setUpClass(cls):
        cls.moto = _Moto()
        for k, v in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_EC2_METADATA_DISABLED", "true")):
            os.environ.setdefault(k, v)
        cls.server_args = ("--aws-endpoint", cls.moto.url, "--kms-data-key-ttl", "1s")
        try:
            super().setUpClass()
        except Exception:
            cls.moto.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.moto.stop()

    def test_disabled_key_to_bus_dlq(self):
        kms, sqs = self.moto.client("kms"), self.moto.client("sqs")
        key = kms.create_key(Description="switchyard boto3 test")["KeyMetadata"]
        dlq_url = sqs.create_queue(QueueName=harness.unique("busdlq"))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = harness.unique("kmsbus")
        self.events.create_event_bus(Name=bus, KmsKeyIdentifier=key["Arn"], DeadLetterConfig={"Arn": dlq_arn})
        self.assertEqual(self.events.describe_event_bus(Name=bus)["KmsKeyIdentifier"], key["Arn"])
        rcv = self.receiver()
        self.events.put_rule(Name="all", EventBusName=bus, EventPattern='{"source":["app.kms"]}')
        self.events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "r", "Arn": rcv.url}])
        self.put_event(source="app.kms", detail={"n": 1}, bus=bus)
        self.assertEqual([e["detail"]["n"] for e in rcv.wait_for(1)], [1])

        kms.disable_key(KeyId=key["KeyId"])
        time.sleep(1.5)  # the cached data key expires
        event_id = self.put_event(source="app.kms", detail={"n": 2}, bus=bus)
        deadline = time.monotonic() + 15
        msgs = []
        while not msgs and time.monotonic() < deadline:
            msgs = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages", [])
        self.assertEqual(len(msgs), 1, "no dead letter on the bus's queue")
        body = json.loads(msgs[0]["Body"])
        self.assertEqual(body["id"], event_id)
        self.assertEqual(body["detail"], {"n": 2})
        attrs = {k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()}
        self.assertEqual(attrs["ERROR_CODE"], "NO_PERMISSIONS")
        self.assertIn("DisabledException", attrs["ERROR_MESSAGE"])
        self.assertNotIn("RULE_ARN", attrs)
        # UpdateEventBus checks the key: a disabled one is a ValidationException.
        with self.assertRaises(ClientError) as cm:
            self.events.update_event_bus(Name=bus, KmsKeyIdentifier=key["Arn"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")
