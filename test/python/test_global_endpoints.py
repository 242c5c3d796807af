"""Global endpoints with boto3: CreateEndpoint and the rest, and put_events
with EndpointId.

boto3 signs put_events with an EndpointId with SigV4a ("AWS4-ECDSA-P256-
SHA256", for every region), which botocore implements only with the AWS
Common Runtime, awscrt ("You'll need to have the AWS Common Runtime (CRT)
library installed", EventBridge User Guide, global endpoints). Without it
botocore refuses before sending anything; with it, the request goes to the
client's endpoint_url, Switchyard.

The server reads health checks from a Route 53 that is not there (a
closed port): the endpoints stay CREATING, which routes to the primary
region, as a health check without data is healthy. Failover itself is
tested with moto's Route 53 in test/e2e (global_endpoints_test.go).
"""

import importlib.util
import unittest

import botocore.exceptions

from . import harness

HAS_CRT = importlib.util.find_spec("awscrt") is not None
NO_CRT = ("awscrt is not installed: boto3 needs it to sign put_events with an EndpointId (SigV4a); "
          "install it (pip install 'boto3[crt]') to run this test")


class GlobalEndpointsTest(harness.ServerTestCase):

    server_args = ("--aws-endpoint", "route53=http://127.0.0.1:9")

    def setUp(self):
        self.acct = harness.fresh_account()
        self.east = self.server.client(region="us-east-1", account=self.acct)
        self.west = self.server.client(region="us-west-2", account=self.acct)
        self.bus = harness.unique("gebus")
        self.rcv_east, self.rcv_west = self.receiver(), self.receiver()
        arns = []
        for c, rcv in ((self.east, self.rcv_east), (self.west, self.rcv_west)):
            arns.append(c.create_event_bus(Name=self.bus)["EventBusArn"])
            c.put_rule(Name="all", EventBusName=self.bus, EventPattern='{"source":["app.ge"]}')
            c.put_targets(Rule="all", EventBusName=self.bus, Targets=[{"Id": "hook", "Arn": rcv.url}])
        self.buses = [{"EventBusArn": a} for a in arns]
        self.name = harness.unique("ge")
        out = self.east.create_endpoint(
            Name=self.name, EventBuses=self.buses,
            RoutingConfig={"FailoverConfig": {
                "Primary": {"HealthCheck": "arn:aws:route53:::healthcheck/0f1e2d3c-0000-4000-8000-00000000abcd"},
                "Secondary": {"Route": "us-west-2"}}},
            ReplicationConfig={"State": "DISABLED"})
        self.assertEqual(out["State"], "CREATING")
        self.endpoint = self.east.describe_endpoint(Name=self.name)

    def test_describe_list_delete(self):
        d = self.endpoint
        self.assertEqual(d["Arn"], "arn:aws:events:us-east-1:%s:endpoint/%s" % (self.acct, self.name))
        self.assertRegex(d["EndpointId"], r"^[a-z0-9]{10}\.[a-z0-9]{3}$")
        self.assertEqual(d["EndpointUrl"], "https://%s.endpoint.events.amazonaws.com" % d["EndpointId"])
        self.assertEqual(d["EventBuses"], self.buses)
        self.assertEqual(d["ReplicationConfig"], {"State": "DISABLED"})
        self.assertEqual(d["RoutingConfig"]["FailoverConfig"]["Secondary"], {"Route": "us-west-2"})
        # From the secondary region, by HomeRegion.
        self.assertEqual(self.west.describe_endpoint(Name=self.name, HomeRegion="us-east-1")["EndpointId"], d["EndpointId"])
        names = [e["Name"] for e in self.west.list_endpoints(HomeRegion="us-east-1")["Endpoints"]]
        self.assertEqual(names, [self.name])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.west.describe_endpoint(Name=self.name)
        self.assertAwsError(cm, "ResourceNotFoundException", "Endpoint %s does not exist." % self.name)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.east.create_endpoint(Name="x", EventBuses=self.buses, RoutingConfig=d["RoutingConfig"])
        self.assertAwsError(cm, "ValidationException",
                            "Parameter RoleArn is not valid. Reason: RoleArn is required when ReplicationConfig.State is ENABLED.")
        self.east.delete_endpoint(Name=self.name)

    @unittest.skipIf(HAS_CRT, "awscrt is installed: see test_put_events_with_endpoint_id")
    def test_put_events_with_endpoint_id_needs_crt(self):
        # What a boto3 user without awscrt sees: botocore refuses to sign.
        with self.assertRaises(botocore.exceptions.MissingDependencyException):
            self.east.put_events(EndpointId=self.endpoint["EndpointId"], Entries=[
                {"Source": "app.ge", "DetailType": "GE", "Detail": "{}", "EventBusName": self.bus}])

    @unittest.skipUnless(HAS_CRT, NO_CRT)
    def test_put_events_with_endpoint_id(self):
        out = self.west.put_events(EndpointId=self.endpoint["EndpointId"], Entries=[
            {"Source": "app.ge", "DetailType": "GE", "Detail": '{"n":1}', "EventBusName": self.bus}])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        ev = self.rcv_east.wait_for_id(out["Entries"][0]["EventId"])
        self.assertEqual(ev["region"], "us-east-1")
        self.assertEqual(ev["account"], self.acct)
        self.assertEqual(self.rcv_west.events(), [])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.east.put_events(EndpointId="abcdefghij.xyz", Entries=[
                {"Source": "app.ge", "DetailType": "GE", "Detail": "{}", "EventBusName": self.bus}])
        self.assertAwsError(cm, "ResourceNotFoundException", "Endpoint abcdefghij.xyz does not exist.")


if __name__ == "__main__":
    unittest.main()
