"""Event buses encrypted with a customer managed key, through boto3: with a
local master key (--kms-local-key-file), the events of a bus with a
KmsKeyIdentifier reach its targets, and its archive's files do not hold
them in plaintext, while those of a bus without a key do."""

import base64
import os
import time

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
