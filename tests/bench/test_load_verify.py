"""The load run's checks catch what they exist for: fed synthetic records with one duplicate
each (a notification, an e-mail, a webhook delivery, a beat run, a task), every check fails; fed
the clean records, every check passes. So a load run cannot pass a check by accident."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from bench.load import verify
from bench.load.web import form_posting_to, form_with_field, links, totp

NOW = 1_800_000_000.0


# --- records of a clean run ----------------------------------------------------------------------
def notification(pk: int, recipient: int, kind: str, title: str, url: str = "") -> dict[str, Any]:
    return {
        "id": pk,
        "recipient_id": recipient,
        "email": f"user{recipient}@example.com",
        "wants_email": True,
        "kind": kind,
        "url": url,
        "title": title,
        "body": "",
        "emailed_at": datetime(2026, 12, 1, tzinfo=UTC),
    }


NOTIFICATIONS = [
    notification(1, 10, "deal.submitted", "Deal D-1 submitted", "/vendor/deals/1/"),
    notification(2, 20, "deal.approved", "Deal D-1 approved", "/deals/1/"),
    # The same kind and link to another recipient, and another deal to the same one: not duplicates.
    notification(3, 21, "deal.approved", "Deal D-1 approved", "/deals/1/"),
    notification(4, 20, "deal.approved", "Deal D-2 approved", "/deals/2/"),
]
MAILS = [
    {"to": [row["email"]], "subject": f"[PRM] {row['title']}", "body_sha256": f"b{row['id']}"}
    for row in NOTIFICATIONS
] + [{"to": ["new@example.com"], "subject": "[PRM] You are invited", "body_sha256": "invite"}]

SECRET = "s3cret"


def delivery(event_id: str, event: str, obj: str, endpoint: int = 1) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "endpoint_id": endpoint,
        "event": event,
        "status": "delivered",
        "attempts": 1,
        "object": obj,
        "secret": SECRET,
    }


def receipt(event_id: str, body: str = '{"id": 1}', timestamp: str = "1800000000") -> dict[str, Any]:
    return {
        "path": "/hooks/p1",
        "body": body,
        "headers": {
            "X-PRM-Delivery": event_id,
            "X-PRM-Timestamp": timestamp,
            "X-PRM-Signature": verify.signature(SECRET, timestamp, body),
        },
    }


DELIVERIES = [
    delivery("e-1", "deal.submitted", "deal 1"),
    delivery("e-2", "deal.approved", "deal 1"),
    delivery("e-3", "deal.approved", "deal 1", endpoint=2),
]
RECEIPTS = [receipt("e-1"), receipt("e-2"), receipt("e-3")]

INTERVALS = {"webhooks-send-due": 60.0, "leads-reassign": 300.0, "monthly": None}


def beat_events() -> list[dict[str, Any]]:
    """Ten minutes of beat: the 60 s job due at start and every minute, the 300 s job at 0, 300, 600."""
    events = []
    schedule = [("webhooks-send-due", 60 * n + 1.5) for n in range(11)] + [
        ("leads-reassign", 300 * n + 2.0) for n in range(3)
    ]
    for number, (job, offset) in enumerate(schedule):
        task_id = f"{job}-{number}"
        events.append(
            {"kind": "sent", "task": f"tasks.{job}", "id": task_id, "periodic": job, "at": NOW + offset}
        )
        for kind in ("start", "end"):
            events.append(
                {
                    "kind": kind,
                    "task": f"tasks.{job}",
                    "id": task_id,
                    "periodic": job,
                    "retries": 0,
                    "redelivered": False,
                    "worker": "w1@host" if number % 2 else "w2@host",
                    "at": NOW + offset + (0.5 if kind == "start" else 0.8),
                    **({"state": "SUCCESS"} if kind == "end" else {}),
                }
            )
    return events


def check_beat(events: list[dict[str, Any]]) -> verify.Check:
    check, _rows = verify.check_beat(events, INTERVALS, beat_started=NOW, beat_stopped=NOW + 610)
    return check


# --- the clean run passes ------------------------------------------------------------------------
def test_clean_records_pass_every_check() -> None:
    assert verify.check_notifications(NOTIFICATIONS).ok
    assert verify.check_emails(NOTIFICATIONS, MAILS).ok
    assert verify.check_webhooks(DELIVERIES, RECEIPTS).ok
    assert verify.check_tasks(beat_events()).ok
    assert check_beat(beat_events()).ok
    requests = verify.check_requests({"GET /deals/": [20.0] * 99 + [150.0]}, {}, p95_ms=200)
    assert requests.ok, requests.violations


# --- a duplicated notification -------------------------------------------------------------------
def test_a_duplicated_notification_is_caught() -> None:
    twice = [*NOTIFICATIONS, {**NOTIFICATIONS[1], "id": 99}]
    check = verify.check_notifications(twice)
    assert not check.ok
    assert "2 identical notifications to user 20" in check.violations[0]
    assert "[2, 99]" in check.violations[0]


def test_an_email_sent_twice_or_never_is_caught() -> None:
    twice = verify.check_emails(NOTIFICATIONS, [*MAILS, MAILS[0]])
    assert not twice.ok
    assert "2 e-mails for 1 notification" in twice.violations[0]

    never = verify.check_emails(NOTIFICATIONS, MAILS[1:])
    assert not never.ok
    assert "0 e-mails for 1 notification" in never.violations[0]

    unmarked = copy.deepcopy(NOTIFICATIONS)
    unmarked[2]["emailed_at"] = None
    assert any("never e-mailed" in v for v in verify.check_emails(unmarked, MAILS).violations)

    other_twice = verify.check_emails(NOTIFICATIONS, [*MAILS, MAILS[-1]])
    assert not other_twice.ok
    assert "the same e-mail sent 2 times" in other_twice.violations[0]


# --- a duplicated webhook delivery ---------------------------------------------------------------
def test_a_webhook_received_twice_is_caught() -> None:
    check = verify.check_webhooks(DELIVERIES, [*RECEIPTS, receipt("e-2")])
    assert not check.ok
    assert check.violations == ["deal.approved e-2 was received 2 times"]


def test_a_webhook_never_received_or_undelivered_is_caught() -> None:
    assert "was received 0 times" in verify.check_webhooks(DELIVERIES, RECEIPTS[:2]).violations[0]
    pending = copy.deepcopy(DELIVERIES)
    pending[0]["status"] = "pending"
    assert "is pending" in verify.check_webhooks(pending, RECEIPTS).violations[0]


def test_an_event_emitted_twice_is_caught() -> None:
    """Two delivery rows (two event ids) for one event on one endpoint: each arrives once, but the
    partner hears of the approval twice."""
    again = [*DELIVERIES, delivery("e-4", "deal.approved", "deal 1")]
    check = verify.check_webhooks(again, [*RECEIPTS, receipt("e-4")])
    assert check.violations == ["deal.approved for deal 1 emitted 2 times to endpoint 1"]


def test_a_forged_or_unknown_webhook_is_caught() -> None:
    forged = receipt("e-1")
    forged["headers"]["X-PRM-Signature"] = "sha256=00"
    assert "wrong signature" in verify.check_webhooks(DELIVERIES, [forged, *RECEIPTS[1:]]).violations[0]
    unknown = verify.check_webhooks(DELIVERIES, [*RECEIPTS, receipt("e-404")])
    assert "no delivery has" in unknown.violations[0]


# --- a duplicated beat run -----------------------------------------------------------------------
def test_a_beat_job_run_twice_is_caught() -> None:
    """One beat send executed by both workers (the same task id started twice)."""
    events = beat_events()
    start = next(e for e in events if e["kind"] == "start" and e["periodic"] == "leads-reassign")
    events.append({**start, "worker": "w2@host", "at": start["at"] + 0.1})
    check = check_beat(events)
    assert not check.ok
    assert f"leads-reassign: task {start['id']} ran 2 times" in check.violations[0]
    tasks = verify.check_tasks(events)
    assert not tasks.ok
    assert f"{start['id']} ran 2 times" in tasks.violations[0]


def test_a_beat_job_sent_twice_in_one_slot_is_caught() -> None:
    """Two beats (or a scheduler that forgot its last run) send the job twice in one interval;
    each copy runs once, so only the spacing shows it."""
    events = beat_events()
    extra = {"kind": "sent", "task": "tasks.leads-reassign", "id": "extra", "periodic": "leads-reassign",
             "at": NOW + 302.0}  # fmt: skip
    events += [
        extra,
        {**extra, "kind": "start", "retries": 0, "worker": "w1@host", "at": NOW + 303},
        {**extra, "kind": "end", "retries": 0, "worker": "w1@host", "at": NOW + 304, "state": "SUCCESS"},
    ]
    check = check_beat(events)
    assert not check.ok
    assert any("leads-reassign: sent twice in one 300 s slot" in v for v in check.violations)


def test_a_beat_job_that_stopped_running_is_caught() -> None:
    events = [e for e in beat_events() if not (e["periodic"] == "webhooks-send-due" and e["at"] > NOW + 300)]
    check = check_beat(events)
    assert "webhooks-send-due: sent 5 times, 11 slots in the run" in check.violations


def test_a_periodic_run_beat_never_sent_is_caught() -> None:
    events = beat_events()
    events.append({"kind": "start", "task": "tasks.monthly", "id": "x", "periodic": "monthly", "retries": 0,
                   "worker": "w1@host", "at": NOW + 5})  # fmt: skip
    assert any("never sent" in v for v in check_beat(events).violations)


def test_a_task_started_but_never_ended_is_caught() -> None:
    events = [e for e in beat_events() if not (e["kind"] == "end" and e["id"] == "leads-reassign-11")]
    assert "never ended" in verify.check_tasks(events).violations[0]


def test_a_retry_is_not_a_duplicate() -> None:
    events = beat_events()
    start = next(e for e in events if e["kind"] == "start")
    events += [{**start, "retries": 1}, {**start, "kind": "end", "retries": 1, "state": "SUCCESS"}]
    assert verify.check_tasks(events).ok


# --- requests --------------------------------------------------------------------------------------
def test_failed_or_slow_requests_fail_the_run() -> None:
    failed = verify.check_requests({"GET /deals/": [20.0] * 10}, {"GET /deals/: HTTP 500": 1}, p95_ms=200)
    assert "1 failed requests" in failed.violations
    slow = verify.check_requests({"GET /deals/": [20.0] * 90 + [400.0] * 10}, {}, p95_ms=200)
    assert slow.violations == ["p95 400 ms is above 200 ms"]


# --- the simulated browser's helpers ---------------------------------------------------------------
PAGE = """
<a href="/deals/12/">D-12</a><a href="/deals/12/">again</a><a href="/deals/new/">new</a>
<form method="post" action="/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="t0"></form>
<form method="post" action="/deals/new/" id="deal-form">
  <input type="hidden" name="csrfmiddlewaretoken" value="t1">
  <input name="customer_name" value="">
  <select name="stage">
    <option value="qualification">Q</option><option value="proposal" selected>P</option>
  </select>
  <select name="lines-0-product"><option value="">Choose</option><option value="7">FW</option></select>
  <textarea name="notes">hello</textarea>
  <input type="checkbox" name="q-1" value="3" checked><input type="checkbox" name="q-1" value="4">
  <button type="submit" name="action" value="submit">Submit</button>
  <button type="submit" name="action" value="save">Save</button>
</form>
"""


def test_forms_are_submitted_as_a_browser_would() -> None:
    form = form_posting_to(PAGE, r"/deals/new/$")
    assert form is not None and form.attrs["id"] == "deal-form"
    assert form.value("stage") == "proposal"
    assert form.value("lines-0-product") == ""
    assert form.options["lines-0-product"] == ["", "7"]
    assert form.options["q-1"] == ["3", "4"]
    data = form.data({"customer_name": "Acme", "q-1": ["3", "4"]}, button="action")
    assert ("customer_name", "Acme") in data and ("notes", "hello") in data
    assert [value for name, value in data if name == "q-1"] == ["3", "4"]
    assert ("csrfmiddlewaretoken", "t1") in data
    assert form_with_field(PAGE, "csrfmiddlewaretoken").action == "/logout/"
    assert links(PAGE, r"^/deals/\d+/$") == ["/deals/12/"]


def test_totp_codes_match_allauth() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    for moment in (0.0, 59.0, 1_700_000_000.0, NOW):
        assert totp(secret, moment) == format_hotp_value(hotp_value(secret, int(moment // 30)))
