"""Connections and API destinations through boto3: the API's lifecycle and
errors, secrets never returned, and delivery to a real HTTP receiver with the
connection's credentials (API key, basic, OAuth client credentials against a
real token endpoint) and the target's HttpParameters."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import harness

SECRET = "s3cr3t-value-never-returned"


class TokenEndpoint:
    """An OAuth2 client-credentials token endpoint: answers a POST with a
    bearer token when the client id and secret match, and counts requests."""

    def __init__(self, client_id, client_secret, token):
        self.requests = []
        ep = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                auth = self.headers.get("Authorization", "")
                ep.requests.append({"path": self.path, "body": body, "auth": auth})
                want = "Basic " + base64.b64encode(("%s:%s" % (client_id, client_secret)).encode()).decode()
                ok = auth == want or ("client_secret=" + client_secret) in body
                out = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out) if ok else 0))
                self.end_headers()
                if ok:
                    self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return "http://%s:%d/oauth2/token" % (host, port)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ApiDestinationTest(harness.ServerTestCase):

    def api_key_connection(self, name=None, **extra):
        name = name or harness.unique("conn")
        params = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": SECRET}}
        params.update(extra)
        out = self.events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters=params)
        return name, out["ConnectionArn"]

    def wait_state(self, name, want, timeout=10.0):
        import time
        deadline = time.monotonic() + timeout
        while True:
            d = self.events.describe_connection(Name=name)
            if d["ConnectionState"] == want or time.monotonic() > deadline:
                return d
            time.sleep(0.05)

    def route_to(self, dest_arn, **target):
        bus = self.new_bus()
        src = harness.unique("app")
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": [src]}))
        t = {"Id": "dest", "Arn": dest_arn}
        t.update(target)
        out = self.events.put_targets(Rule="r", EventBusName=bus, Targets=[t])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return bus, src

    def test_connection_lifecycle_never_returns_secrets(self):
        name, arn = self.api_key_connection()
        self.assertRegex(arn, r"^arn:aws:events:us-east-1:123456789012:connection/%s/[0-9a-f-]{36}$" % name)
        d = self.events.describe_connection(Name=name)
        self.assertEqual(d["ConnectionState"], "AUTHORIZED")
        self.assertEqual(d["AuthorizationType"], "API_KEY")
        self.assertEqual(d["AuthParameters"]["ApiKeyAuthParameters"], {"ApiKeyName": "x-api-key"})
        self.assertIn("SecretArn", d)
        self.assertNotIn(SECRET, json.dumps(d, default=str))

        listed = self.events.list_connections(NamePrefix=name)["Connections"]
        self.assertEqual([c["Name"] for c in listed], [name])
        self.assertNotIn(SECRET, json.dumps(listed, default=str))

        self.events.update_connection(Name=name, Description="rotated",
                                      AuthParameters={"ApiKeyAuthParameters": {"ApiKeyValue": "another-" + SECRET}})
        d = self.events.describe_connection(Name=name)
        self.assertEqual(d["Description"], "rotated")
        self.assertEqual(d["AuthParameters"]["ApiKeyAuthParameters"], {"ApiKeyName": "x-api-key"})

        out = self.events.deauthorize_connection(Name=name)
        self.assertEqual(out["ConnectionState"], "DEAUTHORIZING")
        self.assertEqual(self.events.describe_connection(Name=name)["ConnectionState"], "DEAUTHORIZED")

        out = self.events.delete_connection(Name=name)
        self.assertEqual(out["ConnectionState"], "DELETING")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException) as cm:
            self.events.describe_connection(Name=name)
        self.assertAwsError(cm, "ResourceNotFoundException")

    def test_connection_errors(self):
        name, _ = self.api_key_connection()
        with self.assertRaises(self.events.exceptions.ResourceAlreadyExistsException) as cm:
            self.api_key_connection(name)
        self.assertAwsError(cm, "ResourceAlreadyExistsException")
        # BASIC without its parameters: refused by the server, not dropped.
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.create_connection(Name=harness.unique("conn"), AuthorizationType="BASIC",
                                          AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
        self.assertAwsError(cm, "ValidationException")
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.deauthorize_connection(Name=harness.unique("missing"))

    def test_api_destination_lifecycle_and_errors(self):
        _, conn_arn = self.api_key_connection()
        name = harness.unique("dest")
        out = self.events.create_api_destination(Name=name, ConnectionArn=conn_arn,
                                                 InvocationEndpoint="http://127.0.0.1:9/hook/*", HttpMethod="POST")
        self.assertEqual(out["ApiDestinationState"], "ACTIVE")
        self.assertRegex(out["ApiDestinationArn"],
                         r"^arn:aws:events:us-east-1:123456789012:api-destination/%s/[0-9a-f-]{36}$" % name)
        d = self.events.describe_api_destination(Name=name)
        self.assertEqual(d["InvocationEndpoint"], "http://127.0.0.1:9/hook/*")
        self.assertEqual(d["HttpMethod"], "POST")
        self.assertEqual(d["ConnectionArn"], conn_arn)
        self.assertEqual(d["InvocationRateLimitPerSecond"], 300)  # AWS's default

        self.events.update_api_destination(Name=name, InvocationRateLimitPerSecond=5, HttpMethod="PUT")
        d = self.events.describe_api_destination(Name=name)
        self.assertEqual((d["InvocationRateLimitPerSecond"], d["HttpMethod"]), (5, "PUT"))
        listed = self.events.list_api_destinations(NamePrefix=name)["ApiDestinations"]
        self.assertEqual([x["Name"] for x in listed], [name])

        with self.assertRaises(self.events.exceptions.ResourceAlreadyExistsException):
            self.events.create_api_destination(Name=name, ConnectionArn=conn_arn,
                                               InvocationEndpoint="http://127.0.0.1:9/", HttpMethod="POST")
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.create_api_destination(Name=harness.unique("dest"), ConnectionArn=conn_arn,
                                               InvocationEndpoint="ftp://example.com/", HttpMethod="POST")
        self.assertAwsError(cm, "ValidationException")

        self.events.delete_api_destination(Name=name)
        with self.assertRaises(self.events.exceptions.ResourceNotFoundException):
            self.events.describe_api_destination(Name=name)

    def test_api_key_delivery_with_http_parameters(self):
        recv = self.receiver()
        # The connection's own header and query parameters win over the
        # target's on a conflict ("the connection's values take precedence").
        _, conn_arn = self.api_key_connection(InvocationHttpParameters={
            "HeaderParameters": [{"Key": "x-team", "Value": "from-connection", "IsValueSecret": False}],
            "QueryStringParameters": [{"Key": "v", "Value": "conn", "IsValueSecret": False}],
        })
        dest = self.events.create_api_destination(
            Name=harness.unique("dest"), ConnectionArn=conn_arn, HttpMethod="POST",
            InvocationEndpoint=recv.url.rsplit("/", 1)[0] + "/orders/*")["ApiDestinationArn"]
        bus, src = self.route_to(dest, HttpParameters={
            "PathParameterValues": ["o-42"],
            "HeaderParameters": {"x-team": "from-target", "x-extra": "yes"},
            "QueryStringParameters": {"v": "target", "page": "1"},
        })
        eid = self.put_event(source=src, bus=bus, detail={"n": 1})
        got = recv.wait_for_id(eid)
        self.assertEqual(got["detail"], {"n": 1})
        req = recv.requests[0]
        headers = {k.lower(): v for k, v in req["headers"].items()}
        self.assertEqual(headers["x-api-key"], SECRET)
        self.assertEqual(headers["x-team"], "from-connection")
        self.assertEqual(headers["x-extra"], "yes")
        path, _, query = req["path"].partition("?")
        self.assertEqual(path, "/orders/o-42")
        self.assertEqual(sorted(query.split("&")), ["page=1", "v=conn"])

    def test_basic_auth_delivery(self):
        recv = self.receiver()
        conn = self.events.create_connection(
            Name=harness.unique("conn"), AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "svc", "Password": SECRET}})["ConnectionArn"]
        dest = self.events.create_api_destination(Name=harness.unique("dest"), ConnectionArn=conn,
                                                  InvocationEndpoint=recv.url, HttpMethod="POST")["ApiDestinationArn"]
        bus, src = self.route_to(dest)
        eid = self.put_event(source=src, bus=bus)
        recv.wait_for_id(eid)
        auth = {k.lower(): v for k, v in recv.requests[0]["headers"].items()}["authorization"]
        self.assertEqual(auth, "Basic " + base64.b64encode(("svc:" + SECRET).encode()).decode())

    def test_oauth_client_credentials_delivery(self):
        token = "tok-" + harness.unique("t")
        ep = TokenEndpoint("client-1", SECRET, token)
        self.addCleanup(ep.close)
        recv = self.receiver()
        name = harness.unique("conn")
        out = self.events.create_connection(Name=name, AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
            "OAuthParameters": {
                "AuthorizationEndpoint": ep.url, "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "client-1", "ClientSecret": SECRET},
            }})
        self.assertEqual(out["ConnectionState"], "AUTHORIZING")
        d = self.wait_state(name, "AUTHORIZED")
        self.assertEqual(d["ConnectionState"], "AUTHORIZED", d)
        self.assertEqual(d["AuthParameters"]["OAuthParameters"]["ClientParameters"], {"ClientID": "client-1"})
        self.assertNotIn(SECRET, json.dumps(d, default=str))

        dest = self.events.create_api_destination(Name=harness.unique("dest"), ConnectionArn=out["ConnectionArn"],
                                                  InvocationEndpoint=recv.url, HttpMethod="POST")["ApiDestinationArn"]
        bus, src = self.route_to(dest)
        first = self.put_event(source=src, bus=bus)
        second = self.put_event(source=src, bus=bus)
        recv.wait_for_id(first)
        recv.wait_for_id(second)
        for r in recv.requests:
            self.assertEqual({k.lower(): v for k, v in r["headers"].items()}["authorization"], "Bearer " + token)
        # The token is cached: not one token request per delivery.
        self.assertLessEqual(len(ep.requests), 2, ep.requests)

    def test_oauth_bad_secret_deauthorizes(self):
        ep = TokenEndpoint("client-1", SECRET, "unused")
        self.addCleanup(ep.close)
        name = harness.unique("conn")
        self.events.create_connection(Name=name, AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
            "OAuthParameters": {
                "AuthorizationEndpoint": ep.url, "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "client-1", "ClientSecret": "wrong"},
            }})
        d = self.wait_state(name, "DEAUTHORIZED")
        self.assertEqual(d["ConnectionState"], "DEAUTHORIZED", d)
        self.assertTrue(d.get("StateReason"), d)

    def test_put_targets_refuses_bad_http_parameters(self):
        bus = self.new_bus()
        self.events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))
        with self.assertRaises(self.events.exceptions.ClientError) as cm:
            self.events.put_targets(Rule="r", EventBusName=bus, Targets=[{
                "Id": "t", "Arn": "http://127.0.0.1:9/hook",
                "HttpParameters": {"HeaderParameters": {"bad key": "v"}}}])
        self.assertAwsError(cm, "ValidationException",
                            "1 validation error detected: Value '{bad key=v}' at "
                            "'targets.1.member.httpParameters.headerParameters' failed to satisfy constraint: "
                            "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "
                            "^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$]")
        self.assertEqual(self.events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"], [])
