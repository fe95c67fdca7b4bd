"""Market development funds: the previous (closed) and the current fiscal half-year, a budget per
period and currency, an allocation per partner and period, fund requests through their whole life
(draft, submitted, returned, approved, rejected, claimed, claim approved or rejected, paid,
expired), the claims with their proofs, and the fund ledger those steps write, co-op accruals from
won deals included.

Every request is simulated along the services' own rules, in time, against "now": a request is
submitted a few days after it was drafted, reviewed a few days later, claimed after the activity
ended and before its deadline, paid after the claim was approved; whatever would happen after now
has not happened yet, which gives each its status. The ledger entries are the ones the services
post (same kinds, idempotency keys and sources), so the balances are sums as in production:
allocations are sized above what their requests ask, so no approval ever finds too little
available, and closing the previous period forfeits what was left then (and every release after
it), so its available balance is zero.

Partners are skewed like the deals (the same activity weights). Requests are numbered in the order
they were drafted, so ids grow with ``created_at``; references are ``MDF-<1000 + id>``, and the
reference sequence is moved past them.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from bench.loaders import files
from bench.loaders import money as m
from bench.loaders.bulk import check_columns, load_rows
from bench.loaders.partners import REGIONS, LoadedPartners, channel_account_manager_id
from bench.loaders.people import People
from bench.loaders.timeline import DAY, Timeline
from bench.log import log

PERIOD_COLUMNS = ("id", "name", "starts_on", "ends_on", "closed_at")
BUDGET_COLUMNS = ("id", "period_id", "currency", "amount")
ALLOCATION_COLUMNS = ("id", "partner_id", "budget_id", "currency", "created_at")
LEDGER_COLUMNS = (
    "id",
    "allocation_id",
    "partner_id",
    "kind",
    "amount",
    "currency",
    "idempotency_key",
    "fund_request_id",
    "source",
    "actor_id",
    "memo",
    "created_at",
)
REQUEST_COLUMNS = (
    "id",
    "partner_id",
    "allocation_id",
    "requested_by_id",
    "reference",
    "activity_type",
    "title",
    "description",
    "start_date",
    "end_date",
    "total_cost",
    "requested_amount",
    "currency",
    "expected_leads",
    "status",
    "submission_key",
    "short_notice_confirmed",
    "created_at",
    "submitted_at",
    "approved_amount",
    "decided_by_id",
    "decided_at",
    "decision_comment",
    "needs_program_admin",
    "claim_deadline",
)
CLAIM_COLUMNS = (
    "id",
    "fund_request_id",
    "partner_id",
    "submitted_by_id",
    "actual_cost",
    "claimed_amount",
    "leads_generated",
    "attendees",
    "notes",
    "submitted_at",
    "approved_amount",
    "reviewed_by_id",
    "reviewed_at",
    "rejection_reason",
    "paid_at",
    "paid_by_id",
    "payment_reference",
)
PROOF_COLUMNS = (
    "id",
    "claim_id",
    "partner_id",
    "file",
    "original_name",
    "content_type",
    "size",
    "uploaded_by_id",
    "uploaded_at",
)
TABLES = (
    "mdf_fundperiod",
    "mdf_budget",
    "mdf_allocation",
    "mdf_fundrequest",
    "mdf_fundclaim",
    "mdf_claimproof",
    "mdf_ledgerentry",
)

ACTIVITIES = {"event": 25, "webinar": 20, "digital": 30, "content": 10, "training": 8, "other": 7}
ACTIVITY_TITLES = {
    "event": "Customer event",
    "webinar": "Webinar",
    "digital": "Digital campaign",
    "content": "Case study",
    "training": "Customer workshop",
    "other": "Trade show booth",
}
TOPICS = [
    "Zero trust for mid-size companies",
    "Secure access for hybrid teams",
    "Branch network refresh",
    "Cloud backup and recovery",
    "Threat analytics in practice",
    "Storage consolidation",
    "Collaboration suite migration",
    "Firewall lifecycle upgrade",
    "SD-WAN for retail chains",
    "Compliance for healthcare",
    "Ransomware readiness",
    "Data centre modernisation",
]
PROGRAM_ADMIN = 1
REJECT_REASON = "Outside this period's marketing priorities."
RETURN_REASON = "Add the expected audience and the agenda, then submit again."
CLAIM_REJECT_REASON = "The invoices do not match the activity."


def check_tables() -> None:
    from mdf.models import Allocation, Budget, ClaimProof, FundClaim, FundPeriod, FundRequest, LedgerEntry

    for model, columns in (
        (FundPeriod, PERIOD_COLUMNS),
        (Budget, BUDGET_COLUMNS),
        (Allocation, ALLOCATION_COLUMNS),
        (LedgerEntry, LEDGER_COLUMNS),
        (FundRequest, REQUEST_COLUMNS),
        (FundClaim, CLAIM_COLUMNS),
        (ClaimProof, PROOF_COLUMNS),
    ):
        check_columns(model, columns)


def half_year(day: date) -> tuple[date, date, str]:
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30), f"FY{day.year} H1"
    return date(day.year, 7, 1), date(day.year, 12, 31), f"FY{day.year} H2"


def midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def stamp(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


def business_days(start: date, end: date) -> int:
    """Weekdays from ``start`` (excluded) to ``end`` (included); holidays left aside."""
    days = 0
    day = start
    while day < end and days < 30:
        day += timedelta(days=1)
        days += day.weekday() < 5
    return days


@dataclass
class Period:
    id: int
    name: str
    starts_on: date
    ends_on: date
    closes_at: float | None  # when the closing job ran (the previous period only)


@dataclass
class LoadedFunds:
    periods: list[Period]
    requests: int
    ledger: int
    status_counts: dict[str, int]


class Request:
    __slots__ = (
        "allocation_key",
        "amount",
        "approved",
        "claim",
        "comment",
        "created",
        "currency",
        "decided",
        "decided_by",
        "end",
        "events",
        "id",
        "leads",
        "needs_admin",
        "partner",
        "period",
        "requested_by",
        "short_notice",
        "start",
        "status",
        "submitted",
        "title",
        "total_cost",
        "type",
    )


class FundLoader:
    def __init__(
        self,
        *,
        rng: random.Random,
        timeline: Timeline,
        partners: LoadedPartners,
        people: People,
        weights: list[float],
    ) -> None:
        from django.conf import settings

        self.rng = rng
        self.timeline = timeline
        self.now = timeline.now_ts
        self.partners = partners
        self.people = people
        self.weights = weights
        self.cam_limit = int(settings.PRM["MDF_DEFAULT_CAM_APPROVAL_LIMIT"]) * 100
        self.deadline_days = int(settings.PRM["MDF_CLAIM_DEADLINE_DAYS"])
        self.share = int(settings.PRM["MDF_VENDOR_SHARE_PERCENT"])
        today = timeline.now.date()
        start, end, name = half_year(today)
        previous_start, previous_end, previous_name = half_year(start - timedelta(days=1))
        # The closing job runs every six hours: the previous period closed early on the first day.
        closes_at = min(midnight(start) + 2 * 3600, self.now - 60)
        self.previous = Period(1, previous_name, previous_start, previous_end, closes_at)
        self.current = Period(2, name, start, end, None)
        self.currencies = sorted({c for _countries, currencies in REGIONS.values() for c in currencies})
        # Each partner keeps its funds in one currency of its region.
        self.fund_currency = [""] + [
            rng.choice(REGIONS[partners.region[pid]][1]) for pid in range(1, partners.count + 1)
        ]

    # --- requests ------------------------------------------------------------------------------
    def generate(self, *, requests: int) -> list[Request]:
        rng = self.rng
        eligible = {
            self.previous.id: [
                pid
                for pid in range(1, self.partners.count + 1)
                if self.partners.status[pid] in ("active", "suspended", "terminated")
            ],
            self.current.id: [
                pid for pid in range(1, self.partners.count + 1) if self.partners.status[pid] == "active"
            ],
        }
        self.eligible = eligible
        # The whole previous half-year, and the part of the current one behind us plus what is
        # being planned ahead.
        elapsed = (self.now - midnight(self.current.starts_on)) / (
            midnight(self.current.ends_on) + DAY - midnight(self.current.starts_on)
        )
        weight_current = min(1.0, elapsed + 0.3)
        n_previous = round(requests / (1 + weight_current))
        made: list[Request] = []
        for period, count in ((self.previous, n_previous), (self.current, requests - n_previous)):
            pids = eligible[period.id]
            if not pids:
                continue
            cum = list(accumulate(self.weights[pid] for pid in pids))
            activity_names = list(ACTIVITIES)
            activity_cum = list(accumulate(ACTIVITIES.values()))
            span = (period.ends_on - period.starts_on).days
            for _ in range(count):
                request = Request()
                request.partner = pid = pids[bisect(cum, rng.random() * cum[-1])]
                request.period = period
                request.currency = currency = self.fund_currency[pid]
                request.allocation_key = (period.id, pid, currency)
                request.type = activity_names[bisect(activity_cum, rng.random() * activity_cum[-1])]
                request.title = f"{ACTIVITY_TITLES[request.type]}: {rng.choice(TOPICS)}"
                request.start = period.starts_on + timedelta(days=rng.randint(0, span))
                length = rng.randint(20, 60) if request.type == "digital" else rng.randint(0, 3)
                request.end = request.start + timedelta(days=length)
                amount = m.usd_like(min(60_000.0, max(500.0, rng.lognormvariate(8.3, 0.8))), currency)
                request.amount = amount
                request.total_cost = m.quantize(
                    int(amount * 100 / self.share * rng.uniform(1.0, 1.6)), currency
                )
                request.leads = rng.randint(5, 200)
                self._live(request)
                made.append(request)
        made.sort(key=lambda r: r.created)
        for number, request in enumerate(made, start=1):
            request.id = number
        return made

    def _people(self, pid: int) -> list[int]:
        marketing = self.people.active_members(pid, {"marketing"})
        return marketing or self.people.active_members(pid, {"admin"}) or self.people.members(pid)[:1]

    def _live(self, request: Request) -> None:
        """Draft, submit, review, claim and pay ``request`` as time allows; its status is where it
        stands now. Ledger events go to ``request.events`` as (time, kind, amount, key, source,
        actor, memo); the release of a closed period's commitment also forfeits what it frees."""
        rng, now = self.rng, self.now
        period = request.period
        start = midnight(request.start)
        closes = period.closes_at
        # Most requests come ten business days ahead or more; a few at short notice.
        lead = rng.uniform(2, 12) if rng.random() < 0.1 else rng.uniform(14, 70)
        created = start - lead * DAY + rng.uniform(8, 18) * 3600
        if closes is not None:
            created = min(created, start - 5 * DAY)
        if created > now:
            created = now - rng.uniform(0, 10) * DAY
        request.created = created
        request.requested_by = rng.choice(self._people(request.partner))
        request.status = "draft"
        request.submitted = request.decided = request.decided_by = request.approved = None
        request.claim = None
        request.comment = ""
        request.needs_admin = False
        request.short_notice = False
        request.events = []
        if rng.random() < 0.05:
            return  # still being written, or abandoned
        submitted = created + rng.uniform(0.01, 3) * DAY
        returned = False
        while True:
            if submitted > now or (closes is not None and submitted > closes):
                return
            request.status = "submitted"
            request.submitted = submitted
            request.short_notice = (
                business_days(datetime.fromtimestamp(submitted, UTC).date(), request.start) < 10
            )
            decided = submitted + rng.uniform(0.2, 5) * DAY
            if closes is not None and decided > closes:
                decided = submitted + (closes - submitted) * rng.uniform(0.1, 0.9)
            above_limit = request.amount > self.cam_limit
            if decided > now:
                request.needs_admin = above_limit and rng.random() < 0.5
                return
            outcome = rng.random()
            request.decided = decided
            request.decided_by = channel_account_manager_id(request.partner)
            if outcome < 0.07:
                request.status = "rejected"
                request.comment = REJECT_REASON
                return
            if outcome < 0.13 and not returned:
                request.status = "returned"
                request.comment = RETURN_REASON
                returned = True
                if rng.random() < 0.3:
                    return  # never sent again
                submitted = decided + rng.uniform(1, 6) * DAY
                continue
            break
        currency = request.currency
        approved = request.amount
        if rng.random() < 0.15:
            approved = m.quantize(int(approved * rng.uniform(0.5, 0.95)), currency)
        request.status = "approved"
        request.approved = approved
        request.comment = ""
        if approved > self.cam_limit:
            request.decided_by = PROGRAM_ADMIN  # escalated past the manager's limit
        deadline = request.end + timedelta(days=self.deadline_days)
        events = request.events
        # Memos are templates: the reference is known once the requests are numbered.
        events.append((decided, "committed", approved, "commit", "request", request.decided_by, "{ref}"))
        ended = midnight(request.end) + DAY
        expires = midnight(deadline) + DAY + rng.uniform(0, 6) * 3600
        if rng.random() < 0.12 or ended > now:
            if expires <= now:
                request.status = "expired"
                self._release(request, expires, approved, 0, None, "{ref} not claimed in time")
            return
        claimed_at = ended + rng.uniform(0.5, self.deadline_days - 1) * DAY
        if claimed_at > now:
            if expires <= now:
                request.status = "expired"
                self._release(request, expires, approved, 0, None, "{ref} not claimed in time")
            return
        request.status = "claim_submitted"
        actual = m.quantize(int(request.total_cost * rng.uniform(0.85, 1.1)), currency)
        ceiling = min(approved, m.quantize(actual * self.share // 100, currency))
        claimed = (
            ceiling if rng.random() < 0.7 else m.quantize(int(ceiling * rng.uniform(0.8, 1.0)), currency)
        )
        claimed = max(claimed, m.unit(currency))
        claim = {
            "submitted_at": claimed_at,
            "submitted_by": rng.choice(self._people(request.partner)),
            "actual": actual,
            "claimed": claimed,
            "approved": None,
            "reviewed_by": None,
            "reviewed_at": None,
            "rejection": "",
            "paid_at": None,
            "paid_by": None,
            "proofs": rng.choice((1, 1, 2, 2, 3)),
            "leads": rng.randint(0, request.leads * 2),
            "attendees": rng.randint(10, 400),
        }
        request.claim = claim
        reviewed = claimed_at + rng.uniform(1, 12) * DAY
        if reviewed > now:
            return
        finance_approver, finance_payer = self.people.finance
        claim["reviewed_by"], claim["reviewed_at"] = finance_approver, reviewed
        if rng.random() < 0.05:
            request.status = "claim_rejected"
            claim["rejection"] = CLAIM_REJECT_REASON
            self._release(request, reviewed, approved, 0, finance_approver, "{ref} claim rejected")
            return
        granted = (
            claimed if rng.random() < 0.9 else m.quantize(int(claimed * rng.uniform(0.8, 1.0)), currency)
        )
        granted = max(granted, m.unit(currency))
        claim["approved"] = granted
        request.status = "claim_approved"
        self._release(request, reviewed, approved, granted, finance_approver, "{ref} claimed")
        events.append((reviewed, "claimed", granted, "claim", "claim", finance_approver, "{ref}"))
        paid = reviewed + rng.uniform(2, 20) * DAY
        if paid > now:
            return
        request.status = "paid"
        claim["paid_at"], claim["paid_by"] = paid, finance_payer
        events.append((paid, "paid", granted, "paid", "claim", finance_payer, "PAY-{id:07d}"))

    def _release(
        self, request: Request, at: float, committed: int, keep: int, actor: int | None, why: str
    ) -> None:
        """As ``mdf.services._release``: the whole commitment back; in a closed period what it frees
        (all but ``keep``, which the caller claims) forfeits at once."""
        request.events.append((at, "released", committed, "release", "request", actor, why))
        closes = request.period.closes_at
        if closes is not None and at > closes and committed - keep > 0:
            request.events.append(
                (
                    at,
                    "forfeited",
                    committed - keep,
                    "forfeit-release",
                    "period",
                    None,
                    f"{why}; period closed",
                )
            )

    # --- allocations, ledger, rows ---------------------------------------------------------------
    def load(self, requests: list[Request], *, won: list[tuple], tier_accrual: dict[int, int]) -> LoadedFunds:
        rng = self.rng
        periods = [self.previous, self.current]
        by_id = {period.id: period for period in periods}
        budget_ids = {}
        for period in periods:
            for currency in self.currencies:
                budget_ids[(period.id, currency)] = len(budget_ids) + 1

        # Allocations: every eligible partner's in its fund currency, and those co-op accrual opens
        # (allocation_accrue creates the partner's allocation in the deal's currency when needed).
        asked: dict[tuple, int] = defaultdict(int)
        for request in requests:
            if request.status != "draft":
                asked[request.allocation_key] += request.amount
        keys = [
            (period.id, pid, self.fund_currency[pid])
            for period in periods
            for pid in self.eligible[period.id]
        ]
        accruals = []
        for deal_id, pid, currency, amount, closed_on, _products in won:
            percent = tier_accrual.get(self.partners.tier[pid], 0)
            if percent <= 0:
                continue
            period = next((p for p in periods if p.starts_on <= closed_on <= p.ends_on), None)
            if period is None:
                continue
            cents = m.percent_of(amount * 100, percent, currency)
            if cents <= 0:
                continue
            at = min(midnight(closed_on) + rng.uniform(8, 20) * 3600, self.now - 60)
            accruals.append(((period.id, pid, currency), at, cents, deal_id))
        main_keys = set(keys)
        known = set(keys)
        for key, *_rest in sorted(accruals, key=lambda item: item[1]):
            if key not in known:
                known.add(key)
                keys.append(key)
        keys.sort()
        allocation_ids = {key: number for number, key in enumerate(keys, start=1)}
        first_accrual: dict[tuple, float] = {}
        for key, at, _cents, _deal in accruals:
            first_accrual[key] = min(at, first_accrual.get(key, at))

        entries: list[
            tuple
        ] = []  # (time, allocation key, kind, amount, key, request id, source, actor, memo)
        allocation_rows = []
        allocated_per_budget: dict[tuple, int] = defaultdict(int)
        for key in keys:
            period_id, pid, currency = key
            period = by_id[period_id]
            if key not in main_keys:
                created = first_accrual[key]  # opened by its first co-op accrual
            else:
                created = midnight(period.starts_on) - rng.uniform(5, 30) * DAY
                created = min(created, self.now - DAY)
                # Above what its requests ask in all, so no submission or approval finds too little.
                step = m.usd_like(1000, currency, step=1000)
                wanted = -(-asked[key] * 5 // 4 // step) * step
                amount = max(m.usd_like(rng.uniform(5_000, 25_000), currency, step=1000), wanted)
                allocated_per_budget[(period_id, currency)] += amount
                entries.append(
                    (
                        created + 60,
                        key,
                        "allocated",
                        amount,
                        f"allocate:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                        None,
                        "",
                        PROGRAM_ADMIN,
                        "Allocation",
                    )
                )
            allocation_rows.append(
                (allocation_ids[key], pid, budget_ids[(period_id, currency)], currency, stamp(created))
            )
        for key, at, cents, deal_id in accruals:
            entries.append(
                (
                    at,
                    key,
                    "accrued",
                    cents,
                    f"accrue:deal:{deal_id}",
                    None,
                    f"deal:{deal_id}",
                    None,
                    "Co-op accrual",
                )
            )

        claim_rows = []
        proof_rows = []
        request_rows = []
        status_counts: dict[str, int] = defaultdict(int)
        for request in requests:
            status_counts[request.status] += 1
            reference = f"MDF-{1000 + request.id:06d}"
            for at, kind, amount, key_kind, source_kind, actor, memo in request.events:
                claim_id = request.id  # one claim per request: the claim's id is the request's
                idempotency = {
                    "commit": f"commit:request:{request.id}",
                    "release": f"release:request:{request.id}",
                    "claim": f"claim:request:{request.id}",
                    "paid": f"paid:request:{request.id}",
                    "forfeit-release": f"forfeit:release:{request.id}",
                }[key_kind]
                source = {
                    "request": f"fund_request:{request.id}",
                    "claim": f"fund_claim:{claim_id}",
                    "period": f"period:{request.period.id}",
                }[source_kind]
                entries.append(
                    (
                        at,
                        request.allocation_key,
                        kind,
                        amount,
                        idempotency,
                        request.id,
                        source,
                        actor,
                        memo.format(ref=reference, id=request.id),
                    )
                )
            currency = request.currency
            deadline = (
                request.end + timedelta(days=self.deadline_days) if request.approved is not None else None
            )
            request_rows.append(
                (
                    request.id,
                    request.partner,
                    allocation_ids[request.allocation_key],
                    request.requested_by,
                    reference,
                    request.type,
                    request.title,
                    f"{request.title}. Co-marketing with the vendor's field team; "
                    f"{request.leads} qualified leads expected.",
                    request.start,
                    request.end,
                    m.text(request.total_cost),
                    m.text(request.amount),
                    currency,
                    request.leads,
                    request.status,
                    None,
                    request.short_notice,
                    stamp(request.created),
                    stamp(request.submitted),
                    None if request.approved is None else m.text(request.approved),
                    request.decided_by,
                    stamp(request.decided),
                    request.comment,
                    request.needs_admin,
                    deadline,
                )
            )
            claim = request.claim
            if claim is None:
                continue
            claim_rows.append(
                (
                    request.id,
                    request.id,
                    request.partner,
                    claim["submitted_by"],
                    m.text(claim["actual"]),
                    m.text(claim["claimed"]),
                    claim["leads"],
                    claim["attendees"],
                    "Invoices and photos attached.",
                    stamp(claim["submitted_at"]),
                    None if claim["approved"] is None else m.text(claim["approved"]),
                    claim["reviewed_by"],
                    stamp(claim["reviewed_at"]),
                    claim["rejection"],
                    stamp(claim["paid_at"]),
                    claim["paid_by"],
                    f"PAY-{request.id:07d}" if claim["paid_at"] is not None else "",
                )
            )
            for index in range(claim["proofs"]):
                key = files.PROOF_KEYS[index % len(files.PROOF_KEYS)]
                proof_rows.append(
                    (
                        len(proof_rows) + 1,
                        request.id,
                        request.partner,
                        key,
                        f"{['invoice', 'receipt', 'photo'][index]}-{request.id}.{key.rsplit('.', 1)[1]}",
                        files.content_type_of(key),
                        files.size_of(key),
                        claim["submitted_by"],
                        stamp(claim["submitted_at"]),
                    )
                )

        # Closing the previous period forfeited each allocation's available balance then.
        closes = self.previous.closes_at
        available: dict[tuple, int] = defaultdict(int)
        sign = {"allocated": 1, "accrued": 1, "committed": -1, "released": 1, "claimed": -1}
        for at, key, kind, amount, *_rest in entries:
            if key[0] == self.previous.id and at <= closes and kind in sign:
                available[key] += sign[kind] * amount
        for key in keys:
            if key[0] == self.previous.id and available[key] > 0:
                entries.append(
                    (
                        closes,
                        key,
                        "forfeited",
                        available[key],
                        f"forfeit:allocation:{allocation_ids[key]}",
                        None,
                        f"period:{self.previous.id}",
                        None,
                        f"{self.previous.name} ended",
                    )
                )

        entries.sort(key=lambda entry: entry[0])
        ledger_rows = (
            (
                number,
                allocation_ids[key],
                key[1],
                kind,
                m.text(amount),
                key[2],
                idempotency,
                request_id,
                source,
                actor,
                memo,
                stamp(at),
            )
            for number, (at, key, kind, amount, idempotency, request_id, source, actor, memo) in enumerate(
                entries, start=1
            )
        )
        budget_rows = []
        for (period_id, currency), budget_id in budget_ids.items():
            allocated = allocated_per_budget[(period_id, currency)]
            amount = max(
                m.usd_like(100_000, currency, step=1000),
                m.usd_like(allocated / 100 * 1.1 / m.PER_USD[currency], currency, step=1000),
            )
            budget_rows.append((budget_id, period_id, currency, m.text(amount)))
        period_rows = [
            (period.id, period.name, period.starts_on, period.ends_on, stamp(period.closes_at))
            for period in periods
        ]
        load_rows("mdf_fundperiod", PERIOD_COLUMNS, period_rows)
        load_rows("mdf_budget", BUDGET_COLUMNS, budget_rows)
        load_rows("mdf_allocation", ALLOCATION_COLUMNS, allocation_rows)
        load_rows("mdf_fundrequest", REQUEST_COLUMNS, request_rows)
        load_rows("mdf_fundclaim", CLAIM_COLUMNS, claim_rows)
        load_rows("mdf_claimproof", PROOF_COLUMNS, proof_rows)
        n_ledger = load_rows("mdf_ledgerentry", LEDGER_COLUMNS, ledger_rows)
        files.ensure_placeholders()
        log(
            f"mdf: {len(allocation_rows):,} allocations, {len(request_rows):,} requests, "
            f"{len(claim_rows):,} claims, {len(proof_rows):,} proofs, {n_ledger:,} ledger entries "
            f"({len(accruals):,} co-op accruals); "
            + ", ".join(f"{status} {count:,}" for status, count in sorted(status_counts.items()))
        )
        return LoadedFunds(
            periods=periods, requests=len(request_rows), ledger=n_ledger, status_counts=status_counts
        )


def finish_funds(cursor: object) -> None:
    """The request reference sequence past the loaded requests (``MDF-<1000 + id>``)."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT setval('mdf_request_reference_seq',"
        " (SELECT coalesce(max(id), 0) + 1001 FROM mdf_fundrequest), false)"
    )
