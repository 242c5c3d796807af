"""The Schema Registry (service "schemas") through boto3 and the AWS CLI:
registries and schemas, discovery from the events put on a bus, export,
code bindings, and the hostile side."""

import base64
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest
import zipfile

import botocore.exceptions

from . import harness


def openapi(props):
    return json.dumps({
        "openapi": "3.0.0", "info": {"version": "1.0.0", "title": "Order"}, "paths": {},
        "components": {"schemas": {
            "AWSEvent": {"type": "object", "required": ["detail"], "properties": {"detail": {"$ref": "#/components/schemas/Order"}}},
            "Order": {"type": "object", "properties": props}}}})


class SchemasTest(harness.ServerTestCase):

    def setUp(self):
        self.acct = harness.fresh_account()
        self.schemas = self.server.client(account=self.acct, service="schemas")
        self.ev = self.server.client(account=self.acct)

    def wait_version(self, name, version, timeout=15.0):
        deadline = time.time() + timeout
        while True:
            try:
                out = self.schemas.describe_schema(RegistryName="discovered-schemas", SchemaName=name)
                if out["SchemaVersion"] == version:
                    return out
            except self.schemas.exceptions.NotFoundException:
                out = None
            if time.time() > deadline:
                self.fail("schema %s never reached version %s: %s" % (name, version, out))
            time.sleep(0.1)

    def test_registry_schema_lifecycle_and_errors(self):
        out = self.schemas.create_registry(RegistryName="orders", Description="order events", Tags={"team": "shop"})
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(out["RegistryArn"], "arn:aws:schemas:us-east-1:%s:registry/orders" % self.acct)
        self.assertEqual(out["Tags"], {"team": "shop"})
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.schemas.create_registry(RegistryName="orders")
        self.assertAwsError(cm, "ConflictException", status=409)
        with self.assertRaises(self.schemas.exceptions.NotFoundException) as cm:
            self.schemas.describe_registry(RegistryName="missing")
        self.assertAwsError(cm, "NotFoundException", status=404)
        self.assertEqual(cm.exception.response["Code"], "NotFoundException")

        c = self.schemas.create_schema(RegistryName="orders", SchemaName="shop@OrderCreated", Type="OpenApi3",
                                       Content=openapi({"id": {"type": "integer"}}))
        self.assertEqual((c["SchemaVersion"], c["Type"]), ("1", "OpenApi3"))
        u = self.schemas.update_schema(RegistryName="orders", SchemaName="shop@OrderCreated",
                                       Content=openapi({"id": {"type": "integer"}, "total": {"type": "number"}}))
        self.assertEqual(u["SchemaVersion"], "2")
        versions = [v["SchemaVersion"] for p in harness.pages(self.schemas.list_schema_versions, RegistryName="orders",
                                                               SchemaName="shop@OrderCreated", Limit=1)
                    for v in p["SchemaVersions"]]
        self.assertEqual(versions, ["1", "2"])
        found = self.schemas.search_schemas(RegistryName="orders", Keywords="OrderCreated")["Schemas"]
        self.assertEqual([s["SchemaName"] for s in found], ["shop@OrderCreated"])

        # Hostile: malformed and oversized content, bad tokens and limits.
        for content in ['{"openapi":', '{"type":"object"}', '{"openapi":"3.0.0","x":"%s"}' % ("a" * 100001)]:
            with self.assertRaises(self.schemas.exceptions.BadRequestException):
                self.schemas.create_schema(RegistryName="orders", SchemaName="x@Y", Type="OpenApi3", Content=content)
        for token in ["not-a-token", base64.urlsafe_b64encode(b"other\x00x").decode().rstrip("=")]:
            with self.assertRaises(self.schemas.exceptions.BadRequestException):
                self.schemas.list_schemas(RegistryName="orders", NextToken=token)
        with self.assertRaises(self.schemas.exceptions.BadRequestException):
            self.schemas.list_registries(Limit=0)

        # Resource policy with RevisionId.
        pol = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                                  "Action": "schemas:DescribeSchema", "Resource": "*"}]})
        p1 = self.schemas.put_resource_policy(RegistryName="orders", Policy=pol)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.schemas.put_resource_policy(RegistryName="orders", Policy=pol, RevisionId="wrong")
        self.assertAwsError(cm, "PreconditionFailedException", status=412)
        p2 = self.schemas.put_resource_policy(RegistryName="orders", Policy=pol, RevisionId=p1["RevisionId"])
        got = self.schemas.get_resource_policy(RegistryName="orders")
        self.assertEqual(got["RevisionId"], p2["RevisionId"])
        self.assertEqual(json.loads(got["Policy"]), json.loads(pol))

    def test_discovery_export_and_python_binding(self):
        bus = self.new_bus(client=self.ev)
        d = self.schemas.create_discoverer(SourceArn="arn:aws:events:us-east-1:%s:event-bus/%s" % (self.acct, bus))
        self.assertEqual(d["State"], "STARTED")
        time.sleep(0.3)
        self.put_event(source="app.orders", detail_type="Order Created", detail={"id": 1, "customer": {"name": "ann"}},
                       bus=bus, client=self.ev)
        v1 = self.wait_version("app.orders@OrderCreated", "1")
        doc = json.loads(v1["Content"])
        self.assertEqual(doc["components"]["schemas"]["AWSEvent"]["x-amazon-events-source"], "app.orders")
        # A new shape is a new version; the same shape is not.
        time.sleep(1.1)
        self.put_event(source="app.orders", detail_type="Order Created",
                       detail={"id": 2, "customer": {"name": "bob"}, "coupon": "X"}, bus=bus, client=self.ev)
        v2 = self.wait_version("app.orders@OrderCreated", "2")
        self.assertIn("coupon", v2["Content"])
        time.sleep(1.1)
        self.put_event(source="app.orders", detail_type="Order Created",
                       detail={"id": 3, "customer": {"name": "cy"}, "coupon": "Y"}, bus=bus, client=self.ev)
        time.sleep(1.0)
        self.assertEqual(self.schemas.describe_schema(RegistryName="discovered-schemas",
                                                      SchemaName="app.orders@OrderCreated")["SchemaVersion"], "2")

        exp = self.schemas.export_schema(RegistryName="discovered-schemas", SchemaName="app.orders@OrderCreated",
                                         Type="JSONSchemaDraft4")
        self.assertEqual(json.loads(exp["Content"])["$schema"], "http://json-schema.org/draft-04/schema#")

        pb = self.schemas.put_code_binding(RegistryName="discovered-schemas", SchemaName="app.orders@OrderCreated",
                                           Language="Python36")
        self.assertEqual((pb["ResponseMetadata"]["HTTPStatusCode"], pb["Status"]), (202, "CREATE_IN_PROGRESS"))
        deadline = time.time() + 10
        while self.schemas.describe_code_binding(RegistryName="discovered-schemas", SchemaName="app.orders@OrderCreated",
                                                 Language="Python36")["Status"] != "CREATE_COMPLETE":
            self.assertLess(time.time(), deadline, "binding never completed")
            time.sleep(0.1)
        body = self.schemas.get_code_binding_source(RegistryName="discovered-schemas",
                                                    SchemaName="app.orders@OrderCreated", Language="Python36")["Body"].read()
        zf = zipfile.ZipFile(io.BytesIO(body))
        self.assertTrue(any(n.endswith(".py") for n in zf.namelist()), zf.namelist())
        self.use_python_binding(zf, bus)

    def use_python_binding(self, zf, bus):
        """Imports the generated Python package and deserialises an event with
        it, as AWS's Python36 bindings are used: the package's Marshaller
        turns the event's dict into an AWSEvent whose detail is typed."""
        d = tempfile.mkdtemp(prefix="switchyard-binding-")
        self.addCleanup(shutil.rmtree, d, True)
        zf.extractall(d)
        sys.path.insert(0, d)
        self.addCleanup(sys.path.remove, d)
        marshallers = [os.path.relpath(os.path.join(root, f), d) for root, _, files in os.walk(d)
                       for f in files if f == "marshaller.py"]
        self.assertEqual(len(marshallers), 1, marshallers)
        pkg = os.path.dirname(marshallers[0]).replace(os.sep, ".")
        import importlib
        marshaller = importlib.import_module(pkg + ".marshaller")
        models = importlib.import_module(pkg)
        event = {"version": "0", "id": "1", "detail-type": "Order Created", "source": "app.orders",
                 "account": self.acct, "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
                 "detail": {"id": 9, "customer": {"name": "dee"}, "coupon": "Z"}}
        ev = marshaller.Marshaller.unmarshall(event, models.AWSEvent)
        self.assertEqual(ev.source, "app.orders")
        self.assertEqual(ev.detail.customer.name, "dee")
        self.assertEqual(marshaller.Marshaller.marshall(ev)["detail"]["coupon"], "Z")

    def test_many_concurrent_discoveries(self):
        bus = self.new_bus(client=self.ev)
        self.schemas.create_discoverer(SourceArn="arn:aws:events:us-east-1:%s:event-bus/%s" % (self.acct, bus))
        time.sleep(0.3)
        errors = []

        def put(i):
            try:
                self.ev.put_events(Entries=[{"EventBusName": bus, "Source": "app.load", "DetailType": "Kind %d" % i,
                                             "Detail": json.dumps({"n": i})}])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=put, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for i in range(16):
            self.wait_version("app.load@Kind%d" % i, "1")
        names = [s["SchemaName"] for p in harness.pages(self.schemas.list_schemas, RegistryName="discovered-schemas",
                                                         SchemaNamePrefix="app.load@", Limit=5) for s in p["Schemas"]]
        self.assertEqual(sorted(names), sorted("app.load@Kind%d" % i for i in range(16)))


@unittest.skipUnless(shutil.which("aws"), "the aws CLI is not installed")
class SchemasCliTest(harness.ServerTestCase):

    def aws(self, *args, **kw):
        p = self.server.cli(*args, service="schemas", **kw)
        self.assertEqual(p.returncode, 0, "aws schemas %s failed (%d):\n%s" % (" ".join(args), p.returncode, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else None

    def test_cli_discovery_and_export(self):
        acct = harness.fresh_account()
        bus = harness.unique("cli")
        ev = self.server.cli("create-event-bus", "--name", bus, account=acct)
        self.assertEqual(ev.returncode, 0, ev.stderr)
        d = self.aws("create-discoverer", "--source-arn", "arn:aws:events:us-east-1:%s:event-bus/%s" % (acct, bus),
                     account=acct)
        self.assertEqual(d["DiscovererId"], "events-event-bus-" + bus)
        time.sleep(0.3)
        p = self.server.cli("put-events", "--entries", json.dumps([{"EventBusName": bus, "Source": "cli.app",
                                                                     "DetailType": "Thing Happened",
                                                                     "Detail": json.dumps({"what": "x"})}]), account=acct)
        self.assertEqual(p.returncode, 0, p.stderr)
        deadline = time.time() + 15
        while True:
            out = self.aws("list-schemas", "--registry-name", "discovered-schemas", account=acct)
            if out["Schemas"]:
                break
            self.assertLess(time.time(), deadline, "nothing discovered")
            time.sleep(0.2)
        self.assertEqual([s["SchemaName"] for s in out["Schemas"]], ["cli.app@ThingHappened"])
        exp = self.aws("export-schema", "--registry-name", "discovered-schemas", "--schema-name", "cli.app@ThingHappened",
                       "--type", "JSONSchemaDraft4", account=acct)
        self.assertIn("what", exp["Content"])
        self.aws("stop-discoverer", "--discoverer-id", d["DiscovererId"], account=acct)
        self.assertEqual(self.aws("describe-discoverer", "--discoverer-id", d["DiscovererId"], account=acct)["State"],
                         "STOPPED")
        p = self.server.cli("describe-schema", "--registry-name", "discovered-schemas", "--schema-name", "nope@Nope",
                            account=acct, service="schemas")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NotFoundException", p.stderr)


if __name__ == "__main__":
    unittest.main()
