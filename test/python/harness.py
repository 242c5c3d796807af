"""Test harness for the end-to-end suite: the real Switchyard binary, real
HTTP receivers, boto3 clients and the AWS CLI.

Everything here is stdlib + boto3/botocore. A Server is one `switchyard
serve` process on 127.0.0.1:0 with its own temporary --data-dir; a Receiver
is an http.server on 127.0.0.1:0 that records the POSTs it gets (the
interim HTTP target of Switchyard). Every process and directory made here is
registered and removed at exit even if a test forgets to.
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# How long to wait for an event to arrive at a receiver, and how long to keep
# watching when asserting that nothing arrives.
DELIVERY_TIMEOUT = 15.0
QUIET_PERIOD = 0.75
# Once one delivery has timed out, delivery is probably broken altogether:
# later waits give up sooner so that a broken server fails the suite quickly
# instead of slowly.
DEGRADED_TIMEOUT = 3.0
_delivery_timed_out = False

_live_servers = []
_live_receivers = []
_temp_dirs = []
_key_files = {}  # data dir -> the secrets key file its servers use
_binary = None
_binary_lock = threading.Lock()


def _cleanup_all():
    for s in list(_live_servers):
        try:
            s.stop()
        except Exception:
            pass
    for r in list(_live_receivers):
        try:
            r.close()
        except Exception:
            pass
    for d in list(_temp_dirs):
        shutil.rmtree(d, ignore_errors=True)
    _temp_dirs.clear()


atexit.register(_cleanup_all)


def mkdtemp(prefix="switchyard-pytest-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.append(d)
    return d


def rmtemp(d):
    shutil.rmtree(d, ignore_errors=True)
    if d in _temp_dirs:
        _temp_dirs.remove(d)


def binary():
    """The switchyard binary: $SWITCHYARD_BIN, else bin/switchyard under the
    repo root, built with `go build` if it is missing."""
    global _binary
    with _binary_lock:
        if _binary:
            return _binary
        path = os.environ.get("SWITCHYARD_BIN") or os.path.join(REPO_ROOT, "bin", "switchyard")
        if not os.path.isabs(path):
            path = os.path.join(REPO_ROOT, path)
        if not os.path.exists(path):
            out = subprocess.run(["go", "build", "-o", path, "./cmd/switchyard"], cwd=REPO_ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError("go build failed:\n" + out.stdout)
        _binary = path
        return path


def unique(prefix="t"):
    """A resource name no other test uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


# The serving line in the text log format (addr=...) or the JSON one ("addr":"...").
_ADDR_RE = re.compile(r'switchyard serving.*?(?:addr=|"addr":)"?([0-9.:\[\]a-f]+)')

# The receivers and the server are on 127.0.0.1: never through a proxy.
for _k in ("NO_PROXY", "no_proxy"):
    os.environ[_k] = ",".join(x for x in (os.environ.get(_k), "127.0.0.1", "localhost") if x)


def _server_env():
    # serve reads every flag from SWITCHYARD_<FLAG> too; the suite's servers
    # must not pick up a developer's settings.
    return {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}


class Server:
    """One `switchyard serve` process."""

    def __init__(self, data_dir=None, extra_args=()):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or mkdtemp()
        self.extra_args = list(extra_args)
        self.proc = None
        self.addr = None
        self.stderr_lines = []
        self._reader = None

    @property
    def endpoint(self):
        return "http://" + self.addr

    def start(self, timeout=30.0):
        args = [binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir] + self.extra_args
        if not any(a == "--auth" or a.startswith("--auth=") for a in self.extra_args):
            # Dev mode, as the suite predates signature verification: any
            # credentials, a 12-digit access key id as the account.
            args += ["--auth", "none"]
        if not any(a.startswith("--secrets-key") for a in self.extra_args):
            # A secrets key for the data dir, kept outside it, as connections
            # need one; every server on the same data dir gets the same key.
            key_file = _key_files.get(self.data_dir)
            if key_file is None:
                key_file = os.path.join(mkdtemp("switchyard-pytest-key-"), "secrets.key")
                subprocess.run([binary(), "secrets", "new-key", "--out", key_file], check=True)
                _key_files[self.data_dir] = key_file
            args += ["--secrets-key-file", key_file]
        if not any(a.startswith("--quota-") for a in self.extra_args):
            # The suite's tests make requests as fast as they can; the
            # quota tests set their own quotas.
            args += ["--quota-putevents", "0", "--quota-control", "0"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, bufsize=1, env=_server_env())
        _live_servers.append(self)
        found = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.stderr_lines.append(line.rstrip("\n"))
                if self.addr is None:
                    m = _ADDR_RE.search(line)
                    if m:
                        self.addr = m.group(1)
                        found.set()
            found.set()  # EOF: the process has gone

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not found.wait(timeout) or self.addr is None:
            self.stop()
            raise RuntimeError("switchyard did not report its address:\n" + self.log())
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("switchyard did not become ready:\n" + self.log())
            time.sleep(0.05)
        return self

    def log(self):
        return "\n".join(self.stderr_lines[-50:])

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL if it does not exit in time. Returns the exit
        code."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        if p.stderr:
            p.stderr.close()
        if self in _live_servers:
            _live_servers.remove(self)
        self.proc = None
        return p.returncode

    def close(self):
        self.stop()
        if self.own_dir:
            rmtemp(self.data_dir)

    # ---- clients

    def client(self, region=DEFAULT_REGION, account=None, access_key=None, service="events"):
        """A boto3 client of service (EventBridge unless told). account, a
        12-digit number, becomes the access key id (which is how Switchyard
        tells accounts apart)."""
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key or account or "AKIDEXAMPLE",
            aws_secret_access_key="dummy-secret",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        )

    def cli(self, *args, region=DEFAULT_REGION, account=None, timeout=60, service="events"):
        """Runs `aws --endpoint-url ... <service> <args>` (events unless
        told); returns the CompletedProcess (stdout, stderr as text)."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        cfg_dir = mkdtemp("switchyard-pytest-cli-")
        env.update({
            "AWS_ACCESS_KEY_ID": account or "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "dummy-secret",
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": os.path.join(cfg_dir, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cfg_dir, "credentials"),
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        })
        try:
            return subprocess.run(["aws", "--endpoint-url", self.endpoint, "--output", "json", service] + list(args),
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        finally:
            rmtemp(cfg_dir)


class Receiver:
    """An HTTP endpoint that records the POSTs it receives."""

    def __init__(self, status=200, statuses=()):
        """status answers every request; statuses, if given, answer the first
        len(statuses) requests in turn."""
        self.requests = []  # dicts: path, headers, body (bytes), json (or None), time, status
        self.status = status
        self.statuses = list(statuses)
        self.cond = threading.Condition()
        recv = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                with recv.cond:
                    status = recv.statuses.pop(0) if recv.statuses else recv.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with recv.cond:
                    recv.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "json": doc,
                                          "time": time.monotonic(), "status": status})
                    recv.cond.notify_all()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        _live_receivers.append(self)

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return "http://%s:%d/hook" % (host, port)

    def events(self):
        with self.cond:
            return [r["json"] for r in self.requests]

    @staticmethod
    def _deadline(timeout):
        if _delivery_timed_out:
            timeout = min(timeout, DEGRADED_TIMEOUT)
        return time.monotonic() + timeout, timeout

    @staticmethod
    def _timed_out():
        global _delivery_timed_out
        _delivery_timed_out = True

    def wait_for(self, n, timeout=DELIVERY_TIMEOUT):
        """Waits until at least n requests have arrived; returns their JSON
        bodies (raises AssertionError on timeout)."""
        deadline, timeout = self._deadline(timeout)
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._timed_out()
                    raise AssertionError("receiver got %d request(s), wanted %d within %.0fs"
                                         % (len(self.requests), n, timeout))
                self.cond.wait(left)
            return [r["json"] for r in self.requests]

    def wait_for_id(self, event_id, timeout=DELIVERY_TIMEOUT):
        """Waits for the event with this id; returns it."""
        deadline, timeout = self._deadline(timeout)
        with self.cond:
            while True:
                for r in self.requests:
                    if isinstance(r["json"], dict) and r["json"].get("id") == event_id:
                        return r["json"]
                left = deadline - time.monotonic()
                if left <= 0:
                    self._timed_out()
                    raise AssertionError("event %s not delivered within %.0fs (got %d request(s))"
                                         % (event_id, timeout, len(self.requests)))
                self.cond.wait(left)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        if self in _live_receivers:
            _live_receivers.remove(self)


class ServerTestCase(unittest.TestCase):
    """A test case sharing one server per class. Tests use unique resource
    names so they do not see each other's buses and rules."""

    server_args = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = Server(extra_args=cls.server_args).start()
        cls.events = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        super().tearDownClass()

    def receiver(self, status=200, statuses=()):
        r = Receiver(status, statuses)
        self.addCleanup(r.close)
        return r

    def new_bus(self, client=None, prefix="bus"):
        c = client or self.events
        name = unique(prefix)
        c.create_event_bus(Name=name)
        return name

    def assertAwsError(self, cm, code, message=None, status=400):
        """Checks a botocore ClientError caught by assertRaises."""
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code, err)
        if message is not None:
            self.assertEqual(err["Message"], message)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)

    def put_event(self, source="app.orders", detail_type="OrderCreated", detail=None, bus=None, client=None, **kw):
        e = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail if detail is not None else {})}
        if bus:
            e["EventBusName"] = bus
        e.update(kw)
        out = (client or self.events).put_events(Entries=[e])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return out["Entries"][0]["EventId"]


def pages(call, **kw):
    """Yields the answers of a List operation page by page, passing each
    answer's NextToken back until one has none."""
    token = None
    while True:
        out = call(**kw, **({"NextToken": token} if token else {}))
        yield out
        token = out.get("NextToken")
        if not token:
            return


def fresh_account():
    """A 12-digit account id no other test uses: a scope with nothing in it
    but its default bus."""
    return "9%011d" % (uuid.uuid4().int % 10 ** 11)
