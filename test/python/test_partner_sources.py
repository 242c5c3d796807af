"""Partner event sources through boto3 and the AWS CLI: a SaaS partner
offers a source to a customer account, the customer makes the matching
partner event bus, and what the partner sends with PutPartnerEvents reaches
the customer's rules and targets, as "Receiving events from a SaaS partner
with Amazon EventBridge" (EventBridge User Guide) describes. Dev mode
(--auth none): any caller may act as a partner; test/e2e/partner_test.go
covers partner keys under --auth sigv4."""

import json

from botocore.exceptions import ClientError

from . import harness


class PartnerSourcesTest(harness.ServerTestCase):

    def setUp(self):
        self.partner_account = harness.fresh_account()
        self.customer_account = harness.fresh_account()
        self.partner = self.server.client(account=self.partner_account, region="eu-west-2")
        self.customer = self.server.client(account=self.customer_account, region="eu-west-2")
        self.name = "aws.partner/saas.example/%s/orders" % harness.unique("tenant")

    def offer(self):
        out = self.partner.create_partner_event_source(Name=self.name, Account=self.customer_account)
        self.assertEqual(out["EventSourceArn"], "arn:aws:events:eu-west-2::event-source/" + self.name)
        return out

    def test_lifecycle_and_delivery(self):
        self.offer()
        src = self.customer.describe_event_source(Name=self.name)
        self.assertEqual(src["State"], "PENDING")
        self.assertEqual(src["CreatedBy"], "saas.example")
        self.assertIn("ExpirationTime", src)
        listed = self.customer.list_event_sources(NamePrefix="aws.partner/saas.example/")["EventSources"]
        self.assertEqual([s["Name"] for s in listed], [self.name])

        self.customer.create_event_bus(Name=self.name, EventSourceName=self.name)
        self.assertEqual(self.customer.describe_event_source(Name=self.name)["State"], "ACTIVE")
        bus = self.customer.describe_event_bus(Name=self.name)
        self.assertEqual(bus["Arn"], "arn:aws:events:eu-west-2:%s:event-bus/%s" % (self.customer_account, self.name))

        r = self.receiver()
        self.customer.put_rule(Name="partner-orders", EventBusName=self.name,
                               EventPattern=json.dumps({"source": [self.name], "detail": {"total": [{"numeric": [">", 10]}]}}))
        self.customer.put_targets(Rule="partner-orders", EventBusName=self.name, Targets=[{"Id": "r", "Arn": r.url}])
        out = self.partner.put_partner_events(Entries=[
            {"Source": self.name, "DetailType": "Order Placed", "Detail": json.dumps({"total": 42})},
            {"Source": self.name, "DetailType": "Order Placed", "Detail": json.dumps({"total": 5})},
        ])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        got = r.wait_for(1)
        self.assertEqual(len(got), 1)
        ev = got[0]
        self.assertEqual(ev["id"], out["Entries"][0]["EventId"])
        self.assertEqual(ev["source"], self.name)
        self.assertEqual(ev["account"], self.customer_account)
        self.assertEqual(ev["detail-type"], "Order Placed")
        self.assertEqual(ev["detail"], {"total": 42})

        accounts = self.partner.list_partner_event_source_accounts(EventSourceName=self.name)["PartnerEventSourceAccounts"]
        self.assertEqual([(a["Account"], a["State"]) for a in accounts], [(self.customer_account, "ACTIVE")])

        self.customer.deactivate_event_source(Name=self.name)
        self.assertEqual(self.customer.describe_event_source(Name=self.name)["State"], "PENDING")
        self.customer.activate_event_source(Name=self.name)
        self.assertEqual(self.customer.describe_event_source(Name=self.name)["State"], "ACTIVE")

        self.partner.delete_partner_event_source(Name=self.name, Account=self.customer_account)
        self.assertEqual(self.customer.describe_event_source(Name=self.name)["State"], "DELETED")
        with self.assertRaises(ClientError) as cm:
            self.customer.deactivate_event_source(Name=self.name)
        self.assertAwsError(cm, "InvalidStateException")

    def test_validation_and_errors(self):
        with self.assertRaises(ClientError) as cm:
            self.partner.create_partner_event_source(Name="partner/x/y", Account=self.customer_account)
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value 'partner/x/y' at 'name' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern: aws\\.partner(/[\\.\\-_A-Za-z0-9]+){2,}")
        self.offer()
        with self.assertRaises(ClientError) as cm:
            self.offer()
        self.assertAwsError(cm, "ResourceAlreadyExistsException", "Event source %s already exists." % self.name)
        with self.assertRaises(ClientError) as cm:
            self.customer.describe_event_source(Name=self.name + "x")
        self.assertAwsError(cm, "ResourceNotFoundException", "Event source %sx does not exist." % self.name)
        with self.assertRaises(ClientError) as cm:
            self.customer.activate_event_source(Name=self.name + "x")
        self.assertAwsError(cm, "ResourceNotFoundException")
        with self.assertRaises(ClientError) as cm:
            self.customer.create_event_bus(Name="not-the-source", EventSourceName=self.name)
        self.assertAwsError(cm, "ValidationException")
        # Another account, and another region, do not see the source.
        with self.assertRaises(ClientError) as cm:
            self.server.client(account=harness.fresh_account(), region="eu-west-2").describe_event_source(Name=self.name)
        self.assertAwsError(cm, "ResourceNotFoundException")
        with self.assertRaises(ClientError) as cm:
            self.server.client(account=self.customer_account, region="us-east-1").describe_event_source(Name=self.name)
        self.assertAwsError(cm, "ResourceNotFoundException")
        # More than 20 entries.
        with self.assertRaises(ClientError) as cm:
            self.partner.put_partner_events(Entries=[{"Source": self.name, "DetailType": "x", "Detail": "{}"}] * 21)
        self.assertAwsError(cm, "ValidationException")
        out = self.partner.put_partner_events(Entries=[{"Source": self.name, "DetailType": "x", "Detail": "[1"}])
        self.assertEqual(out["FailedEntryCount"], 1)
        self.assertEqual(out["Entries"][0]["ErrorCode"], "MalformedDetail")

    def test_listing_pages(self):
        names = []
        base = "aws.partner/pages.example/%s" % harness.unique("p")
        for i in range(3):
            n = "%s/s%d" % (base, i)
            names.append(n)
            self.partner.create_partner_event_source(Name=n, Account=self.customer_account)
        got = []
        for page in harness.pages(self.partner.list_partner_event_sources, NamePrefix=base + "/", Limit=2):
            got += [s["Name"] for s in page["PartnerEventSources"]]
        self.assertEqual(got, names)
        got = []
        for page in harness.pages(self.customer.list_event_sources, NamePrefix=base, Limit=1):
            got += [s["Name"] for s in page["EventSources"]]
        self.assertEqual(got, names)

    def test_cli(self):
        p = self.server.cli("create-partner-event-source", "--name", self.name, "--account", self.customer_account,
                            account=self.partner_account, region="eu-west-2")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["EventSourceArn"], "arn:aws:events:eu-west-2::event-source/" + self.name)
        p = self.server.cli("describe-event-source", "--name", self.name, account=self.customer_account, region="eu-west-2")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["State"], "PENDING")
        p = self.server.cli("activate-event-source", "--name", self.name + "-no", account=self.customer_account, region="eu-west-2")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ResourceNotFoundException", p.stderr)
