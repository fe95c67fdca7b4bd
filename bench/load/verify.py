"""What a load run must show afterwards, checked from what it left behind: the database, the
e-mail log, the webhook receiver's log, the Celery task log and locust's timings.

* **requests**: none failed; p95 of all requests at most ``--p95-ms`` (200 ms).
* **notifications**: no two rows with the same recipient, kind, link, title and text. The
  notification rows carry no event id; an event in this scenario happens once per object (a deal is
  submitted once and decided once, a fund request likewise, a lead times out once per partner, a
  certification is earned once), so two identical rows are one event notified twice.
* **e-mails**: every notification whose recipient wants e-mail was sent exactly once (the e-mails
  with its recipient and subject number exactly the notifications with them), and no other e-mail
  was sent twice (same recipient, subject and body).
* **webhooks**: every delivery row was delivered, and the receiver got each event id exactly once,
  correctly signed, and no id it should not have; no event was emitted twice (same endpoint, event
  and object).
* **tasks**: no task ran twice (the same task id started twice at the same retry count: a message
  handed to two workers, or redelivered); every task that started also ended.
* **beat**: every job beat sent ran exactly once; no job was sent twice within one interval (two
  runs in one schedule slot); each interval job ran once per slot of the run (the count of slots
  between its first run and the end of beat, give or take one).

The checks are plain functions of records (dicts), so ``tests/bench/test_load_verify.py`` feeds
them duplicates and sees each one caught. ``collect()`` reads a finished run's records (Django
must be set up: ``main()`` does it with ``bench.load.settings``).

    python -m bench.load.verify --run-dir var/load/<run>
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import percentile

# Beat's scheduler wakes up at least every 5 s (django-celery-beat's max interval): a job is sent
# between its due time and a few seconds later, never earlier.
BEAT_SLACK_SECONDS = 10
# Beat needs a while to start (imports, the schedule from the database) on a busy machine.
BEAT_STARTUP_SECONDS = 60


@dataclass
class Check:
    name: str
    checked: int = 0  # how many things were looked at
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


# --- requests ------------------------------------------------------------------------------------
def check_requests(
    timings: dict[str, list[float]], failures: dict[str, int], *, p95_ms: float, exclude: Iterable[str] = ()
) -> Check:
    check = Check("requests")
    everything = [ms for values in timings.values() for ms in values]
    check.checked = len(everything)
    failed = sum(failures.values())
    if failed:
        check.violations.append(f"{failed} failed requests")
        check.violations.extend(f"  {count} x {what}" for what, count in sorted(failures.items())[:20])
    if not everything:
        check.violations.append("no requests were made")
        return check
    p95 = percentile(everything, 95)
    check.notes.append(
        f"p50 {percentile(everything, 50):.0f} ms, p95 {p95:.0f} ms, "
        f"p99 {percentile(everything, 99):.0f} ms, max {max(everything):.0f} ms "
        f"over {len(everything)} requests"
    )
    if p95 > p95_ms:
        check.violations.append(f"p95 {p95:.0f} ms is above {p95_ms:.0f} ms")
    excluded = [name for name in timings if any(part in name for part in exclude)]
    if excluded:
        rest = [ms for name, values in timings.items() if name not in excluded for ms in values]
        if rest:
            check.notes.append(
                f"without {', '.join(sorted(excluded))}: p95 {percentile(rest, 95):.0f} ms over {len(rest)}"
            )
    return check


# --- notifications and e-mails -------------------------------------------------------------------
def notification_key(row: dict[str, Any]) -> tuple:
    return (row["recipient_id"], row["kind"], row["url"], row["title"], row["body"])


def check_notifications(rows: list[dict[str, Any]]) -> Check:
    check = Check("notifications", checked=len(rows))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        groups[notification_key(row)].append(row["id"])
    for key, ids in groups.items():
        if len(ids) > 1:
            check.violations.append(
                f"{len(ids)} identical notifications to user {key[0]} ({key[1]}: {key[3]!r}): ids {ids}"
            )
    return check


def check_emails(rows: list[dict[str, Any]], mails: list[dict[str, Any]]) -> Check:
    """``rows``: notifications with ``email`` (the recipient's address) and ``wants_email``;
    ``mails``: the e-mail log (``to``, ``subject``, ``body_sha256``)."""
    check = Check("e-mails", checked=len(mails))
    expected: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row["wants_email"]:
            expected[(row["email"].lower(), f"[PRM] {row['title']}")] += 1
            if row["emailed_at"] is None:
                check.violations.append(f"notification {row['id']} to {row['email']} was never e-mailed")
    sent: Counter[tuple[str, str]] = Counter()
    others: Counter[tuple[str, str, str]] = Counter()
    for mail in mails:
        key = (",".join(mail["to"]).lower(), mail["subject"])
        if key in expected:
            sent[key] += 1
        else:
            others[(key[0], key[1], mail["body_sha256"])] += 1
    for key, count in expected.items():
        if sent[key] != count:
            check.violations.append(
                f"{key[0]} {key[1]!r}: {sent[key]} e-mails for {count} notification{'s' * (count != 1)}"
            )
    for (to, subject, _digest), count in others.items():
        if count > 1:
            check.violations.append(f"{to} {subject!r}: the same e-mail sent {count} times")
    check.notes.append(f"{sum(sent.values())} notification e-mails, {sum(others.values())} other e-mails")
    return check


# --- webhooks ------------------------------------------------------------------------------------
def signature(secret: str, timestamp: str, body: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def check_webhooks(deliveries: list[dict[str, Any]], receipts: list[dict[str, Any]]) -> Check:
    """``deliveries``: rows with ``event_id``, ``endpoint_id``, ``event``, ``status``, ``object``
    (the payload's type and id), ``secret``; ``receipts``: the receiver's log."""
    check = Check("webhooks", checked=len(deliveries))
    by_id = {str(row["event_id"]): row for row in deliveries}
    received: Counter[str] = Counter()
    for receipt in receipts:
        event_id = receipt["headers"].get("X-PRM-Delivery") or ""
        received[event_id] += 1
        row = by_id.get(event_id)
        if row is None:
            check.violations.append(f"the receiver got an event id no delivery has: {event_id!r}")
            continue
        expected = signature(row["secret"], receipt["headers"].get("X-PRM-Timestamp") or "", receipt["body"])
        if not hmac.compare_digest(expected, receipt["headers"].get("X-PRM-Signature") or ""):
            check.violations.append(f"event {event_id} arrived with a wrong signature")
    for event_id, row in by_id.items():
        if row["status"] != "delivered":
            check.violations.append(f"delivery of {row['event']} {event_id} is {row['status']}")
        if received[event_id] != 1:
            check.violations.append(f"{row['event']} {event_id} was received {received[event_id]} times")
    events: dict[tuple, list[str]] = defaultdict(list)
    for row in deliveries:
        events[(row["endpoint_id"], row["event"], row["object"])].append(str(row["event_id"]))
    for (endpoint, event, obj), ids in events.items():
        if len(ids) > 1:
            check.violations.append(f"{event} for {obj} emitted {len(ids)} times to endpoint {endpoint}")
    check.notes.append(f"{len(receipts)} requests received for {len(by_id)} events")
    return check


# --- Celery tasks and beat -----------------------------------------------------------------------
def check_tasks(events: list[dict[str, Any]]) -> Check:
    starts = [event for event in events if event["kind"] == "start"]
    ends = {(event["id"], event["retries"]) for event in events if event["kind"] == "end"}
    check = Check("tasks", checked=len(starts))
    runs: Counter[tuple[str, int]] = Counter((event["id"], event["retries"]) for event in starts)
    names = {event["id"]: event["task"] for event in starts}
    for (task_id, retries), count in runs.items():
        if count > 1:
            check.violations.append(f"{names[task_id]} {task_id} ran {count} times (retry {retries})")
    unfinished = [key for key in runs if key not in ends]
    for task_id, _retries in unfinished:
        check.violations.append(f"{names[task_id]} {task_id} started but never ended")
    redelivered = sum(1 for event in starts if event.get("redelivered"))
    check.notes.append(
        f"{len(starts)} task runs ({len(set(names))} tasks), {redelivered} redelivered by the broker; "
        + ", ".join(f"{name} {count}" for name, count in Counter(names.values()).most_common(8))
    )
    return check


def check_beat(
    events: list[dict[str, Any]],
    intervals: dict[str, float | None],
    *,
    beat_started: float,
    beat_stopped: float,
) -> tuple[Check, list[tuple[str, str, int, int, int]]]:
    """``intervals``: each schedule entry's interval in seconds (None for a crontab). Returns the
    check and a row per job: (job, interval, expected slots, sent, ran)."""
    check = Check("beat")
    sent: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for event in events:
        if event["kind"] == "sent" and event.get("periodic"):
            sent[event["periodic"]].append((event["at"], event["id"]))
    ran: Counter[str] = Counter()
    ran_by_job: Counter[str] = Counter()
    for event in events:
        if event["kind"] == "start" and event.get("periodic"):
            ran[event["id"]] += 1
            ran_by_job[event["periodic"]] += 1
    sent_ids = {task_id for sends in sent.values() for _at, task_id in sends}
    for task_id, _count in ran.items():
        if task_id not in sent_ids:
            check.violations.append(f"a periodic task ran that this beat never sent: {task_id}")
    rows = []
    for job in sorted(set(intervals) | set(sent)):
        interval = intervals.get(job)
        sends = sorted(sent.get(job, []))
        check.checked += len(sends)
        for _at, task_id in sends:
            if ran[task_id] != 1:
                check.violations.append(f"{job}: task {task_id} ran {ran[task_id]} times (expected once)")
        expected = 0
        if interval:
            # Less than an interval apart, by more than beat's own jitter: two runs in one slot.
            jitter = min(BEAT_SLACK_SECONDS, interval / 2)
            for (earlier, _a), (later, _b) in itertools.pairwise(sends):
                if later - earlier < interval - jitter:
                    check.violations.append(
                        f"{job}: sent twice in one {interval:.0f} s slot ({later - earlier:.1f} s apart)"
                    )
            if sends:
                # Due when beat starts (seed.py makes every interval job due), then once per
                # interval after its first run, until beat stopped.
                first = sends[0][0]
                if first - beat_started > BEAT_STARTUP_SECONDS:
                    check.violations.append(
                        f"{job}: first sent {first - beat_started:.0f} s after beat started"
                    )
                expected = int((beat_stopped - first) // interval) + 1
            else:
                expected = int((beat_stopped - beat_started - BEAT_STARTUP_SECONDS) // interval) + 1
            if abs(len(sends) - expected) > 1:
                check.violations.append(f"{job}: sent {len(sends)} times, {expected} slots in the run")
        elif sends:
            check.notes.append(f"{job} (crontab) ran {len(sends)} times")
        label = f"{interval:.0f} s" if interval else "crontab"
        rows.append((job, label, expected, len(sends), ran_by_job[job]))
    return check, rows


# --- reading a finished run ----------------------------------------------------------------------
def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def schedule_intervals() -> dict[str, float | None]:
    from django.conf import settings

    return {
        name: float(entry["schedule"]) if isinstance(entry["schedule"], (int, float)) else None
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }


def database_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(notifications, webhook deliveries) as the checks take them, read in the vendor scope."""
    from prm.models import Notification, WebhookDelivery
    from prm.tenancy import system_scope

    with system_scope():
        notifications = [
            {
                "id": n.pk,
                "recipient_id": n.recipient_id,
                "email": n.recipient.email,
                "wants_email": n.recipient.email_notifications and n.recipient.is_active,
                "kind": n.kind,
                "url": n.url,
                "title": n.title,
                "body": n.body,
                "emailed_at": n.emailed_at,
            }
            for n in Notification.objects.select_related("recipient").order_by("pk")
        ]
        deliveries = [
            {
                "event_id": d.event_id,
                "endpoint_id": d.endpoint_id,
                "event": d.event,
                "status": d.status,
                "attempts": d.attempts,
                "object": f"{d.payload.get('data', {}).get('type')} {d.payload.get('data', {}).get('id')}",
                "secret": d.endpoint.secret,
            }
            for d in WebhookDelivery.objects.select_related("endpoint").order_by("pk")
        ]
    return notifications, deliveries


def collect_and_check(run_dir: Path, *, p95_ms: float) -> tuple[list[Check], list[tuple]]:
    meta = json.loads((run_dir / "run.json").read_text())
    results = json.loads((run_dir / "locust-results.json").read_text())
    notifications, deliveries = database_records()
    task_events = read_jsonl(run_dir / "tasks.jsonl")
    beat_check, beat_rows = check_beat(
        task_events,
        schedule_intervals(),
        beat_started=meta["beat_started"],
        beat_stopped=meta["beat_stopped"],
    )
    checks = [
        check_requests(results["timings"], results["failures"], p95_ms=p95_ms, exclude=("/accounts/",)),
        check_notifications(notifications),
        check_emails(notifications, read_jsonl(run_dir / "mail.jsonl")),
        check_webhooks(deliveries, read_jsonl(run_dir / "receiver.jsonl")),
        check_tasks(task_events),
        beat_check,
    ]
    return checks, beat_rows


def report(checks: list[Check], beat_rows: list[tuple]) -> str:
    lines = ["", "| check | looked at | violations | |", "| --- | --- | --- | --- |"]
    for check in checks:
        verdict = "ok" if check.ok else "**FAILED**"
        lines.append(f"| {check.name} | {check.checked} | {len(check.violations)} | {verdict} |")
    lines += [
        "",
        "| beat job | interval | slots in the run | sent by beat | ran |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {job} | {interval} | {slots} | {sent} | {ran} |" for job, interval, slots, sent, ran in beat_rows
    ]
    for check in checks:
        for note in check.notes:
            lines.append(f"{check.name}: {note}")
        for violation in check.violations[:50]:
            lines.append(f"{check.name} VIOLATION: {violation}")
        if len(check.violations) > 50:
            lines.append(f"{check.name}: ... and {len(check.violations) - 50} more")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--p95-ms", type=float, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.load.settings")
    # The schedule as the run had it (a rerun of the checks by hand must not need the flag again).
    meta = json.loads((args.run_dir / "run.json").read_text())
    os.environ["PRM_BENCH_BEAT_SCALE"] = str(meta["args"]["beat_scale"])
    import django

    django.setup()
    checks, beat_rows = collect_and_check(args.run_dir, p95_ms=args.p95_ms)
    text = report(checks, beat_rows)
    print(text, flush=True)
    (args.run_dir / "verify.txt").write_text(text + "\n")
    (args.run_dir / "verify.json").write_text(
        json.dumps(
            {
                "ok": all(check.ok for check in checks),
                "checks": [check.__dict__ for check in checks],
                "beat": beat_rows,
            },
            indent=1,
            default=str,
        )
    )
    sys.exit(0 if all(check.ok for check in checks) else 1)


if __name__ == "__main__":
    main()
