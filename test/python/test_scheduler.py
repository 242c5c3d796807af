"""EventBridge Scheduler through boto3's `scheduler` client and the AWS CLI's
`aws scheduler`: schedule groups, schedules, their errors, and a one-time
schedule firing through an EventBridge bus target to a real HTTP receiver."""

import datetime
import json
import os
import subprocess
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import harness

REGION = "eu-west-3"
ROLE = "arn:aws:iam::123456789012:role/scheduler"
OFF = {"Mode": "OFF"}


class SchedulerTest(harness.ServerTestCase):

    def scheduler(self, account=harness.DEFAULT_ACCOUNT):
        return boto3.session.Session().client(
            "scheduler", endpoint_url=self.server.endpoint, region_name=REGION,
            aws_access_key_id=account, aws_secret_access_key="dummy-secret",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def cli(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cfg = harness.mkdtemp("switchyard-pytest-cli-")
        env.update({"AWS_ACCESS_KEY_ID": harness.DEFAULT_ACCOUNT, "AWS_SECRET_ACCESS_KEY": "dummy-secret",
                    "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.path.join(cfg, "config"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cfg, "credentials"), "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
        try:
            return subprocess.run(["aws", "--endpoint-url", self.server.endpoint, "--output", "json", "scheduler"] + list(args),
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL)
        finally:
            harness.rmtemp(cfg)

    def target(self):
        return {"Arn": "arn:aws:sqs:%s:123456789012:q" % REGION, "RoleArn": ROLE, "Input": "hi"}

    def test_groups_and_tags(self):
        s = self.scheduler(harness.fresh_account())
        name = harness.unique("grp")
        arn = s.create_schedule_group(Name=name, Tags=[{"Key": "team", "Value": "ops"}])["ScheduleGroupArn"]
        self.assertTrue(arn.endswith(":schedule-group/" + name), arn)
        names = [g["Name"] for page in harness.pages(s.list_schedule_groups) for g in page["ScheduleGroups"]]
        self.assertEqual(sorted(names), sorted(["default", name]))
        self.assertEqual(s.get_schedule_group(Name=name)["State"], "ACTIVE")
        s.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
        tags = {t["Key"]: t["Value"] for t in s.list_tags_for_resource(ResourceArn=arn)["Tags"]}
        self.assertEqual(tags, {"team": "ops", "env": "prod"})
        s.untag_resource(ResourceArn=arn, TagKeys=["team"])
        self.assertEqual(s.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "env", "Value": "prod"}])
        with self.assertRaises(ClientError) as cm:
            s.create_schedule_group(Name=name)
        self.assertAwsError(cm, "ConflictException", "Schedule group %s already exists." % name, status=409)
        s.delete_schedule_group(Name=name)
        with self.assertRaises(ClientError) as cm:
            for _ in range(50):
                s.get_schedule_group(Name=name)
                time.sleep(0.1)
        self.assertAwsError(cm, "ResourceNotFoundException", "Schedule group %s does not exist." % name, status=404)

    def test_schedules_and_errors(self):
        s = self.scheduler(harness.fresh_account())
        arn = s.create_schedule(Name="daily", ScheduleExpression="cron(0 9 * * ? *)", ScheduleExpressionTimezone="America/Sao_Paulo",
                                FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30},
                                Target=self.target())["ScheduleArn"]
        self.assertTrue(arn.endswith(":schedule/default/daily"), arn)
        got = s.get_schedule(Name="daily")
        self.assertEqual(got["ScheduleExpressionTimezone"], "America/Sao_Paulo")
        self.assertEqual(got["FlexibleTimeWindow"], {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30})
        self.assertIsInstance(got["CreationDate"], datetime.datetime)
        for i in range(3):
            s.create_schedule(Name="n%d" % i, ScheduleExpression="rate(%d hours)" % (i + 2), FlexibleTimeWindow=OFF, Target=self.target())
        listed = [x["Name"] for page in s.get_paginator("list_schedules").paginate(PaginationConfig={"PageSize": 2})
                  for x in page["Schedules"]]
        self.assertEqual(listed, ["daily", "n0", "n1", "n2"])

        cases = [
            (dict(Name="daily", ScheduleExpression="rate(1 hour)"), "ConflictException", "Schedule daily already exists.", 409),
            (dict(Name="x", ScheduleExpression="every day"), "ValidationException", "Invalid Schedule Expression every day.", 400),
            (dict(Name="x", ScheduleExpression="rate(1 hour)", ScheduleExpressionTimezone="Nowhere/City"),
             "ValidationException", "Invalid time zone: Nowhere/City.", 400),
            (dict(Name="x", ScheduleExpression="rate(1 hour)", GroupName="missing"),
             "ResourceNotFoundException", "Schedule group missing does not exist.", 404),
        ]
        for kw, code, msg, status in cases:
            with self.subTest(kw=kw):
                with self.assertRaises(ClientError) as cm:
                    s.create_schedule(FlexibleTimeWindow=OFF, Target=self.target(), **kw)
                self.assertAwsError(cm, code, msg, status=status)
        with self.assertRaises(ClientError) as cm:
            s.get_schedule(Name="nope")
        self.assertAwsError(cm, "ResourceNotFoundException", "Schedule nope does not exist.", status=404)
        s.delete_schedule(Name="daily")
        with self.assertRaises(ClientError):
            s.get_schedule(Name="daily")

    def test_at_fires_once_and_deletes_itself(self):
        acct = harness.fresh_account()
        events = self.server.client(region=REGION, account=acct)
        rcv = self.receiver()
        rule = harness.unique("from-scheduler")
        events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.boto3"]}))
        events.put_targets(Rule=rule, Targets=[{"Id": "r", "Arn": rcv.url}])
        s = self.scheduler(acct)
        when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
        s.create_schedule(
            Name="once", ScheduleExpression="at(%s)" % when.strftime("%Y-%m-%dT%H:%M:%S"), FlexibleTimeWindow=OFF,
            ActionAfterCompletion="DELETE",
            # The role is of the schedule's account: the bus takes events
            # from another account's role only if its policy says so.
            Target={"Arn": "arn:aws:events:%s:%s:event-bus/default" % (REGION, acct), "RoleArn": "arn:aws:iam::%s:role/scheduler" % acct,
                    "Input": json.dumps({"arn": "<aws.scheduler.schedule-arn>", "attempt": "<aws.scheduler.attempt-number>"}),
                    "EventBridgeParameters": {"DetailType": "Reminder", "Source": "app.boto3"}})
        ev = rcv.wait_for(1)[0]
        self.assertEqual(ev["source"], "app.boto3")
        self.assertEqual(ev["detail-type"], "Reminder")
        self.assertEqual(ev["detail"], {"arn": "arn:aws:scheduler:%s:%s:schedule/default/once" % (REGION, acct), "attempt": "1"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                s.get_schedule(Name="once")
            except ClientError:
                break
            time.sleep(0.2)
        else:
            self.fail("the one-time schedule was not deleted")
        time.sleep(harness.QUIET_PERIOD * 2)
        self.assertEqual(len(rcv.events()), 1)

    def test_cli(self):
        name = harness.unique("cli")
        out = self.cli("create-schedule", "--name", name, "--schedule-expression", "rate(5 minutes)",
                       "--flexible-time-window", "Mode=OFF", "--target", json.dumps(self.target()))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(json.loads(out.stdout)["ScheduleArn"].endswith("/default/" + name))
        out = self.cli("get-schedule", "--name", name)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["ScheduleExpression"], "rate(5 minutes)")
        out = self.cli("list-schedules", "--name-prefix", name)
        self.assertEqual([x["Name"] for x in json.loads(out.stdout)["Schedules"]], [name])
        out = self.cli("create-schedule", "--name", name + "-bad", "--schedule-expression", "rate(5 minutes)",
                       "--schedule-expression-timezone", "Atlantis/Capital",
                       "--flexible-time-window", "Mode=OFF", "--target", json.dumps(self.target()))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("An error occurred (ValidationException) when calling the CreateSchedule operation: Invalid time zone: Atlantis/Capital.",
                      out.stderr)
        out = self.cli("delete-schedule", "--name", name)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.cli("get-schedule", "--name", name)
        self.assertIn("ResourceNotFoundException", out.stderr)
