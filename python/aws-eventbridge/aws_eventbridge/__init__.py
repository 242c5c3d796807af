"""EventBridgeManager: the small helper API of the EventBridge tutorials, over boto3.

It works unchanged against Amazon EventBridge and against Switchyard: the endpoint comes from
``endpoint_url=``, else ``$AWS_ENDPOINT_URL_EVENTS``, else boto3's own resolution
(``$AWS_ENDPOINT_URL_EVENTBRIDGE``, ``$AWS_ENDPOINT_URL``, the shared config file, AWS).

Calls that EventBridge can half-fail (PutTargets) raise FailedEntriesError instead of returning a
response whose failures are easy to overlook; PutEvents returns its response, whose per-entry
failures are normal traffic (throttling, size) for the caller to retry.
"""

import datetime
import json
import os

import boto3

__all__ = ["EventBridgeManager", "FailedEntriesError"]

ENDPOINT_ENV = "AWS_ENDPOINT_URL_EVENTS"


class FailedEntriesError(Exception):
    """Some entries of a batch call were refused; ``entries`` holds EventBridge's FailedEntries."""

    def __init__(self, operation, entries):
        self.operation = operation
        self.entries = list(entries)
        detail = "; ".join("%s: %s %s" % (e.get("TargetId", e.get("EventId", "?")), e.get("ErrorCode"),
                                          e.get("ErrorMessage")) for e in self.entries)
        super().__init__("%s failed for %d entries: %s" % (operation, len(self.entries), detail))


class EventBridgeManager:
    """Buses, rules, targets, events, archives and replays of one region."""

    def __init__(self, region=None, endpoint_url=None, session=None, client=None, **client_kwargs):
        if client is None:
            session = session or boto3.session.Session()
            endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
            client = session.client("events", region_name=region, endpoint_url=endpoint_url, **client_kwargs)
        self.client = client
        self.region = client.meta.region_name

    def create_event_bus(self, name, description=None, tags=None):
        """Creates the bus and returns its ARN."""
        kw = {"Name": name}
        if description is not None:
            kw["Description"] = description
        if tags:
            kw["Tags"] = _tags(tags)
        return self.client.create_event_bus(**kw)["EventBusArn"]

    def put_rule(self, name, event_pattern=None, schedule_expression=None, event_bus_name="default",
                 description=None, state="ENABLED", role_arn=None, tags=None):
        """Creates or updates a rule; event_pattern may be a dict or a JSON string. Returns the rule's ARN."""
        if event_pattern is None and schedule_expression is None:
            # PutRule: "you must include either ScheduleExpression or EventPattern, or both".
            raise ValueError("put_rule needs event_pattern or schedule_expression")
        kw = {"Name": name, "EventBusName": event_bus_name, "State": state}
        if event_pattern is not None:
            kw["EventPattern"] = event_pattern if isinstance(event_pattern, str) else json.dumps(event_pattern)
        if schedule_expression is not None:
            kw["ScheduleExpression"] = schedule_expression
        if description is not None:
            kw["Description"] = description
        if role_arn is not None:
            kw["RoleArn"] = role_arn
        if tags:
            kw["Tags"] = _tags(tags)
        return self.client.put_rule(**kw)["RuleArn"]

    def put_targets(self, rule_name, targets, event_bus_name="default"):
        """Adds or updates the rule's targets (EventBridge's Target dicts). Raises FailedEntriesError
        if any is refused."""
        out = self.client.put_targets(Rule=rule_name, EventBusName=event_bus_name, Targets=list(targets))
        if out.get("FailedEntryCount"):
            raise FailedEntriesError("PutTargets", out.get("FailedEntries", []))
        return out

    def put_events(self, entries):
        """Sends events (EventBridge's PutEventsRequestEntry dicts; a Detail may be a dict, sent as
        JSON). Returns PutEvents' response, whose FailedEntryCount the caller checks."""
        prepared = []
        for e in entries:
            e = dict(e)
            if "Detail" in e and not isinstance(e["Detail"], str):
                e["Detail"] = json.dumps(e["Detail"])
            prepared.append(e)
        return self.client.put_events(Entries=prepared)

    def create_archive(self, archive_name, source_arn, retention_days=0, event_pattern=None, description=None):
        """Archives the events of the bus source_arn (0 days keeps them indefinitely). Returns the
        archive's ARN."""
        kw = {"ArchiveName": archive_name, "EventSourceArn": source_arn, "RetentionDays": retention_days}
        if event_pattern is not None:
            kw["EventPattern"] = event_pattern if isinstance(event_pattern, str) else json.dumps(event_pattern)
        if description is not None:
            kw["Description"] = description
        return self.client.create_archive(**kw)["ArchiveArn"]

    def start_replay(self, replay_name, source_arn, start_time, end_time, destination_arn=None,
                     filter_arns=None, description=None):
        """Replays the archive source_arn's events between start_time and end_time (datetimes, or
        epoch seconds) to destination_arn, by default the bus the archive is on. Returns
        StartReplay's response (ReplayArn, State, ...)."""
        if destination_arn is None:
            archive = self.client.describe_archive(ArchiveName=source_arn.rsplit("/", 1)[-1])
            destination_arn = archive["EventSourceArn"]
        dest = {"Arn": destination_arn}
        if filter_arns:
            dest["FilterArns"] = list(filter_arns)
        kw = {"ReplayName": replay_name, "EventSourceArn": source_arn, "EventStartTime": _time(start_time),
              "EventEndTime": _time(end_time), "Destination": dest}
        if description is not None:
            kw["Description"] = description
        return self.client.start_replay(**kw)


def _tags(tags):
    if isinstance(tags, dict):
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return list(tags)


def _time(t):
    if isinstance(t, (int, float)):
        return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    return t
