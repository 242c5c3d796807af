"""Inbound webhooks, signed here with Python's own hmac module the way each
provider documents signing (an implementation independent of Switchyard's
package webhook), POSTed to a real server, routed by a rule made with boto3
to a real HTTP receiver."""

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request

from . import harness

ACCOUNT = harness.DEFAULT_ACCOUNT

HOOKS = """webhooks:
  - {name: py-github, provider: github, account: "%(a)s", region: us-east-1, secret: "It's a Secret to Everybody"}
  - {name: py-stripe, provider: stripe, account: "%(a)s", region: us-east-1, secret: whsec_py}
  - {name: py-slack, provider: slack, account: "%(a)s", region: us-east-1, secret: slack-py}
  - {name: py-shopify, provider: shopify, account: "%(a)s", region: us-east-1, secret: shpss_py, source: com.example.shop}
""" % {"a": ACCOUNT}


def post(server, name, body, headers):
    req = urllib.request.Request(server.endpoint + "/webhooks/" + name, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def github(body, delivery, secret="It's a Secret to Everybody"):
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sig}


def stripe(body, t=None, secret="whsec_py"):
    ts = str(int(t if t is not None else time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": "t=%s,v1=%s" % (ts, sig)}


def slack(body, t=None, secret="slack-py"):
    ts = str(int(t if t is not None else time.time()))
    sig = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def shopify(body, topic, webhook_id, secret="shpss_py"):
    sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": sig}


class WebhooksTest(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        d = harness.mkdtemp("switchyard-pytest-hooks-")
        path = os.path.join(d, "webhooks.yaml")
        with open(path, "w") as f:
            f.write(HOOKS)
        os.chmod(path, 0o600)
        cls.server_args = ("--webhooks-file", path)
        super().setUpClass()

    def route(self, source):
        r = self.receiver()
        rule = harness.unique("hooks")
        self.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
        self.events.put_targets(Rule=rule, Targets=[{"Id": "r", "Arn": r.url}])
        return r

    def test_github_delivery_and_redelivery(self):
        r = self.route("webhook.github")
        body = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()
        delivery = harness.unique("gh")
        code, out = post(self.server, "py-github", body, github(body, delivery))
        self.assertEqual(code, 200, out)
        event_id = json.loads(out)["EventId"]
        ev = r.wait_for(1)[0]
        self.assertEqual((ev["id"], ev["detail-type"], ev["account"]), (event_id, "issues", ACCOUNT))
        self.assertEqual(ev["detail"], {"action": "opened", "issue": {"number": 1}})
        code, out = post(self.server, "py-github", body, github(body, delivery))
        self.assertEqual(code, 200)
        self.assertTrue(json.loads(out)["Duplicate"])
        code, out = post(self.server, "py-github", body + b" ", github(body, harness.unique("gh")))
        self.assertEqual(code, 401, out)
        code, out = post(self.server, "py-github", body, github(body, harness.unique("gh"), secret="wrong"))
        self.assertEqual(code, 401, out)
        time.sleep(harness.QUIET_PERIOD)
        self.assertEqual(len(r.events()), 1)

    def test_stripe_and_its_tolerance(self):
        r = self.route("webhook.stripe")
        body = json.dumps({"id": harness.unique("evt"), "type": "charge.refunded", "data": {"object": {}}}).encode()
        code, out = post(self.server, "py-stripe", body, stripe(body, t=time.time() - 400))
        self.assertEqual(code, 401, out)
        self.assertIn("tolerance", out)
        code, out = post(self.server, "py-stripe", body, stripe(body))
        self.assertEqual(code, 200, out)
        self.assertEqual(r.wait_for(1)[0]["detail-type"], "charge.refunded")
        # Stripe retries with a fresh timestamp: the event id makes it a duplicate.
        code, out = post(self.server, "py-stripe", body, stripe(body))
        self.assertTrue(json.loads(out).get("Duplicate"), out)

    def test_slack_challenge_and_event(self):
        body = json.dumps({"type": "url_verification", "challenge": "py-challenge", "token": "x"}).encode()
        code, out = post(self.server, "py-slack", body, slack(body))
        self.assertEqual((code, out), (200, "py-challenge"))
        r = self.route("webhook.slack")
        body = json.dumps({"type": "event_callback", "event_id": harness.unique("Ev"),
                           "event": {"type": "reaction_added", "reaction": "tada"}}).encode()
        code, out = post(self.server, "py-slack", body, slack(body, t=time.time() - 600))
        self.assertEqual(code, 401, out)
        code, out = post(self.server, "py-slack", body, slack(body))
        self.assertEqual(code, 200, out)
        self.assertEqual(r.wait_for(1)[0]["detail-type"], "reaction_added")

    def test_shopify_mapped_source(self):
        r = self.route("com.example.shop")
        body = json.dumps({"id": 1, "email": "a@example.com"}).encode()
        code, out = post(self.server, "py-shopify", body, shopify(body, "customers/create", harness.unique("w")))
        self.assertEqual(code, 200, out)
        ev = r.wait_for(1)[0]
        self.assertEqual((ev["source"], ev["detail-type"]), ("com.example.shop", "customers/create"))
        hdrs = shopify(body, "customers/create", harness.unique("w"))
        hdrs["X-Shopify-Hmac-Sha256"] = hmac.new(b"shpss_py", body, hashlib.sha256).hexdigest()  # hex, not base64
        code, out = post(self.server, "py-shopify", body, hdrs)
        self.assertEqual(code, 401, out)
