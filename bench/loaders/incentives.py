"""Incentives: the programs (SPIFs and rebates, the two kinds the app has), the earnings ledger
their accruals from won deals fill, a few reversals and adjustments, and the monthly settlement
into statements (drafts, approved, paid) with their settlement lines.

The earnings are what ``incentives.services.accrue_for_deal`` would have written for every won
deal: one entry per qualifying program (window, currency, tier, product line), the SPIF's fixed
amount or the rebate rate of the partner's quarter revenue bracket (counted in (closed_on, id)
order, as ``quarter_revenue`` counts it) times the won amount, with the same idempotency keys and
memos. To reach the wanted number of entries exactly, the program set stacks several programs per
deal (a yearly rebate per currency, a half-yearly SPIF per product line, a quarterly push SPIF, a
rebate on the strategic product lines and one per tier group) and starts on the day from which the
won deals' accruals add up to ~98 % of the target (the vendor launched the programs that day); a
hundredth of the accruals was reversed and finance's adjustments make up the rest.

Settlement runs on the first of every month for the month before, as the scheduled job does: one
statement per partner and currency with a positive unsettled total, every unsettled entry up to
the month's end in it; older statements are paid (by a second finance user), the latest approved
or still drafts.
"""

from __future__ import annotations

import json
import random
from bisect import bisect, bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from bench.loaders import money as m
from bench.loaders.bulk import check_columns, load_rows
from bench.loaders.partners import LoadedPartners
from bench.loaders.people import People
from bench.loaders.timeline import DAY, Timeline
from bench.log import log

PROGRAM_COLUMNS = (
    "id",
    "name",
    "kind",
    "status",
    "currency",
    "spif_amount",
    "rebate_percent",
    "brackets",
    "starts_on",
    "ends_on",
    "product_lines",
    "created_by_id",
    "created_at",
)
PROGRAM_TIER_COLUMNS = ("id", "incentiveprogram_id", "tier_id")
ENTRY_COLUMNS = (
    "id",
    "partner_id",
    "program_id",
    "deal_id",
    "kind",
    "amount",
    "currency",
    "idempotency_key",
    "memo",
    "actor_id",
    "created_at",
)
STATEMENT_COLUMNS = (
    "id",
    "partner_id",
    "currency",
    "period_end",
    "number",
    "status",
    "total",
    "created_at",
    "approved_by_id",
    "approved_at",
    "paid_by_id",
    "paid_at",
    "payment_reference",
)
LINE_COLUMNS = ("id", "statement_id", "entry_id", "partner_id", "amount")
TABLES = (
    "incentives_incentiveprogram",
    "incentives_incentiveprogram_tiers",
    "incentives_earningentry",
    "incentives_statement",
    "incentives_settlementline",
)
PROGRAM_ADMIN = 1
ACCRUED_SHARE = 0.98
REVERSED_SHARE = 0.01
STRATEGIC_LINES = ["Security", "Cloud"]


@dataclass
class Program:
    id: int
    name: str
    kind: str  # spif | rebate
    currency: str
    starts_on: date
    ends_on: date
    spif: int = 0  # cents
    percent: int = 0  # hundredths
    brackets: tuple[tuple[int, int, str], ...] = ()  # (threshold cents, hundredths, percent text)
    lines: tuple[str, ...] = ()
    tiers: tuple[int, ...] = ()


@dataclass
class LoadedIncentives:
    programs: int
    entries: int
    accruals: int
    statements: int
    settled: int
    starts_on: date


def check_tables() -> None:
    from incentives.models import EarningEntry, IncentiveProgram, SettlementLine, Statement

    for model, columns in (
        (IncentiveProgram, PROGRAM_COLUMNS),
        (IncentiveProgram.tiers.through, PROGRAM_TIER_COLUMNS),
        (EarningEntry, ENTRY_COLUMNS),
        (Statement, STATEMENT_COLUMNS),
        (SettlementLine, LINE_COLUMNS),
    ):
        check_columns(model, columns)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def windows(first: date, last: date, months: int) -> list[tuple[date, date, str]]:
    """Calendar windows of ``months`` months from the one holding ``first`` to the one holding
    ``last``: (start, end, label)."""
    result = []
    start = date(first.year, (first.month - 1) // months * months + 1, 1)
    while start <= last:
        month = start.month + months
        following = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        end = following - timedelta(days=1)
        number = (start.month - 1) // months + 1
        label = {12: f"{start.year}", 6: f"H{number} {start.year}", 3: f"Q{number} {start.year}"}[months]
        result.append((start, end, label))
        start = following
    return result


def stamp(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


def midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


class IncentiveLoader:
    def __init__(
        self,
        *,
        rng: random.Random,
        timeline: Timeline,
        partners: LoadedPartners,
        people: People,
        weights: list[float],
    ) -> None:
        self.rng = rng
        self.timeline = timeline
        self.now = timeline.now_ts
        self.today = timeline.now.date()
        self.partners = partners
        self.people = people
        self.weights = weights

    def load(self, *, won: list[tuple], earnings: int) -> LoadedIncentives:
        from deals.models import Product
        from partners.models import Tier

        rng = self.rng
        line_of = dict(Product.objects.values_list("pk", "product_line"))
        tier_ids = dict(Tier.objects.values_list("name", "pk"))
        upper = (tier_ids["Silver"], tier_ids["Gold"], tier_ids["Platinum"])
        lower = (tier_ids["Registered"], tier_ids["Silver"])
        deals = [
            (closed_on, deal_id, pid, currency, amount * 100, frozenset(line_of[p] for p in products))
            for deal_id, pid, currency, amount, closed_on, products in won
        ]
        deals.sort()

        # Entries per deal under the stacked program set, then the launch day that fits the target.
        def stacked(deal: tuple) -> int:
            _closed, _id, pid, _currency, _cents, lines = deal
            tier = self.partners.tier[pid]
            # The yearly rebate and the quarterly push, a SPIF per product line, and the programs
            # for the strategic lines and for the two tier groups (see _programs).
            return 2 + len(lines) + bool(lines & set(STRATEGIC_LINES)) + (tier in upper) + (tier in lower)

        wanted = int(earnings * ACCRUED_SHARE)
        taken = 0
        cut = len(deals)
        while cut > 0:
            # Whole days only: a program starts at a day's beginning.
            day = deals[cut - 1][0]
            first = bisect_left(deals, (day,))
            day_entries = sum(stacked(deal) for deal in deals[first:cut])
            if taken + day_entries > wanted:
                break
            taken += day_entries
            cut = first
        launch = deals[cut][0] if cut < len(deals) else self.today
        qualifying = deals[cut:]

        programs = self._programs(launch, sorted({deal[3] for deal in deals}) or ["USD"], upper, lower)
        by_currency: dict[str, list[Program]] = defaultdict(list)
        for program in programs:
            by_currency[program.currency].append(program)

        # Quarter revenue for the rebate brackets: every won deal of the partner in the currency.
        # history[(partner, currency)]: (closed_on, id) in order; prefix: running won amounts.
        history: dict[tuple[int, str], list[tuple[date, int]]] = defaultdict(list)
        totals: dict[tuple[int, str], list[int]] = defaultdict(list)
        for closed_on, deal_id, pid, currency, cents, _lines in deals:
            history[(pid, currency)].append((closed_on, deal_id))
            totals[(pid, currency)].append(cents)
        prefix = {key: [0, *accumulate(amounts)] for key, amounts in totals.items()}

        # (time, partner, currency, program id, deal id, kind, cents, key, memo, actor)
        entries: list[tuple] = []
        for closed_on, deal_id, pid, currency, cents, lines in qualifying:
            tier = self.partners.tier[pid]
            at = min(midnight(closed_on) + rng.uniform(8, 30) * 3600, self.now - 60)
            reference = f"DR-{1000 + deal_id:06d}"
            won_text = m.text(cents)
            for program in by_currency[currency]:
                if not program.starts_on <= closed_on <= program.ends_on:
                    continue
                if program.tiers and tier not in program.tiers:
                    continue
                if program.lines and not lines & set(program.lines):
                    continue
                if program.kind == "spif":
                    amount, memo = program.spif, "SPIF per won deal"
                else:
                    key = (pid, currency)
                    index = bisect(history[key], (closed_on, deal_id))  # deals up to and with this one
                    since = max(quarter_start(closed_on), program.starts_on)
                    first = bisect_left(history[key], (since,))
                    revenue = prefix[key][index] - prefix[key][first]
                    hundredths, shown = program.percent, m.text(program.percent)
                    for threshold, bracket_hundredths, text in program.brackets:
                        if revenue >= threshold:
                            hundredths, shown = bracket_hundredths, text
                    amount = m.percent_of(cents, hundredths, currency)
                    memo = f"Rebate {shown}% of {won_text}"
                if amount <= 0:
                    continue
                entries.append(
                    (
                        at,
                        pid,
                        currency,
                        program.id,
                        deal_id,
                        "accrual",
                        amount,
                        f"program:{program.id}:deal:{deal_id}",
                        f"{reference}: {memo}"[:255],
                        None,
                    )
                )
        accruals = len(entries)

        finance_approver, finance_payer = self.people.finance
        reversals = min(round(accruals * REVERSED_SHARE), max(0, earnings - accruals))
        for index in sorted(rng.sample(range(accruals), reversals)) if reversals else []:
            at, pid, currency, program_id, deal_id, _kind, amount, key, _memo, _actor = entries[index]
            when = min(at + rng.uniform(5, 60) * DAY, self.now - 60)
            entries.append(
                (
                    when,
                    pid,
                    currency,
                    program_id,
                    deal_id,
                    "reversal",
                    -amount,
                    f"{key}:reversal",
                    "Customer cancelled the order.",
                    finance_approver,
                )
            )
        adjustments = max(0, earnings - len(entries))
        if adjustments and qualifying:
            currencies_of: dict[int, set[str]] = defaultdict(set)
            for deal in qualifying:
                currencies_of[deal[2]].add(deal[3])
            pids = sorted(currencies_of)
            cum = list(accumulate(self.weights[pid] for pid in pids))
            rebates = [p for p in programs if p.kind == "rebate" and not p.tiers and not p.lines]
            start = midnight(launch)
            for number in range(1, adjustments + 1):
                pid = pids[bisect(cum, rng.random() * cum[-1])]
                when = rng.uniform(start, self.now - 60)
                day = datetime.fromtimestamp(when, UTC).date()
                currency = rng.choice(sorted(currencies_of[pid]))
                program = next(
                    (p for p in rebates if p.currency == currency and p.starts_on <= day <= p.ends_on), None
                )
                if program is None:
                    continue
                amount = m.usd_like(rng.uniform(20, 400), currency, step=1)
                if rng.random() < 0.3:
                    amount = -amount
                entries.append(
                    (
                        when,
                        pid,
                        currency,
                        program.id,
                        None,
                        "adjustment",
                        amount,
                        f"adjustment:bench-{number}",
                        "Rebate true-up for the quarter.",
                        finance_approver,
                    )
                )
        entries.sort(key=lambda entry: entry[0])

        statements, lines = self._settle(entries, launch, finance_approver, finance_payer)

        program_rows, tier_rows = self._program_rows(programs)
        entry_rows = (
            (number, pid, program_id, deal_id, kind, m.text(amount), currency, key, memo, actor, stamp(at))
            for number, (at, pid, currency, program_id, deal_id, kind, amount, key, memo, actor) in enumerate(
                entries, start=1
            )
        )
        load_rows("incentives_incentiveprogram", PROGRAM_COLUMNS, program_rows)
        load_rows("incentives_incentiveprogram_tiers", PROGRAM_TIER_COLUMNS, tier_rows)
        n_entries = load_rows("incentives_earningentry", ENTRY_COLUMNS, entry_rows)
        load_rows("incentives_statement", STATEMENT_COLUMNS, statements)
        n_lines = load_rows("incentives_settlementline", LINE_COLUMNS, lines)
        log(
            f"incentives: {len(programs):,} programs from {launch}, {n_entries:,} earnings "
            f"({accruals:,} accruals, {reversals:,} reversals), {len(statements):,} statements "
            f"with {n_lines:,} lines"
        )
        return LoadedIncentives(
            programs=len(programs),
            entries=n_entries,
            accruals=accruals,
            statements=len(statements),
            settled=n_lines,
            starts_on=launch,
        )

    def _programs(self, launch: date, currencies: list[str], upper: tuple, lower: tuple) -> list[Program]:
        from deals.models import Product

        product_lines = sorted(set(Product.objects.values_list("product_line", flat=True)))
        last = self.today
        programs: list[Program] = []

        def add(**fields: object) -> None:
            start = max(fields.pop("start"), launch)  # type: ignore[type-var]
            programs.append(Program(id=len(programs) + 1, starts_on=start, **fields))  # type: ignore[arg-type]

        for currency in currencies:
            factor = m.PER_USD[currency]

            def threshold(dollars: float, currency: str = currency, factor: float = factor) -> int:
                return m.usd_like(dollars, currency, step=1000 if factor < 10 else 1)

            for start, end, label in windows(launch, last, 12):
                add(
                    name=f"Partner rebate {label} ({currency})",
                    kind="rebate",
                    currency=currency,
                    start=start,
                    ends_on=end,
                    percent=200,
                    brackets=((threshold(50_000), 300, "3"), (threshold(150_000), 400, "4")),
                )
                add(
                    name=f"{' & '.join(STRATEGIC_LINES)} attach {label} ({currency})",
                    kind="rebate",
                    currency=currency,
                    start=start,
                    ends_on=end,
                    percent=150,
                    lines=tuple(STRATEGIC_LINES),
                )
                add(
                    name=f"Silver and up accelerator {label} ({currency})",
                    kind="rebate",
                    currency=currency,
                    start=start,
                    ends_on=end,
                    percent=100,
                    tiers=upper,
                )
            for start, end, label in windows(launch, last, 6):
                for line in product_lines:
                    add(
                        name=f"{line} SPIF {label} ({currency})",
                        kind="spif",
                        currency=currency,
                        start=start,
                        ends_on=end,
                        spif=m.usd_like(150, currency, step=5),
                        lines=(line,),
                    )
            for start, end, label in windows(launch, last, 3):
                add(
                    name=f"Quarterly push {label} ({currency})",
                    kind="spif",
                    currency=currency,
                    start=start,
                    ends_on=end,
                    spif=m.usd_like(100, currency, step=5),
                )
                add(
                    name=f"Growth SPIF {label} ({currency})",
                    kind="spif",
                    currency=currency,
                    start=start,
                    ends_on=end,
                    spif=m.usd_like(75, currency, step=5),
                    tiers=lower,
                )
        return programs

    def _program_rows(self, programs: list[Program]) -> tuple[list[tuple], list[tuple]]:
        program_rows, tier_rows = [], []
        for program in programs:
            status = "ended" if program.ends_on < self.today else "active"
            created = midnight(program.starts_on) - 14 * DAY
            brackets = [[m.text(threshold), text] for threshold, _hundredths, text in program.brackets]
            program_rows.append(
                (
                    program.id,
                    program.name,
                    program.kind,
                    status,
                    program.currency,
                    m.text(program.spif) if program.kind == "spif" else None,
                    m.text(program.percent) if program.kind == "rebate" else None,
                    json.dumps(brackets),
                    program.starts_on,
                    program.ends_on,
                    "{" + ",".join(program.lines) + "}",
                    PROGRAM_ADMIN,
                    stamp(min(created, self.now - DAY)),
                )
            )
            for tier_id in program.tiers:
                tier_rows.append((len(tier_rows) + 1, program.id, tier_id))
        return program_rows, tier_rows

    def _settle(
        self, entries: list[tuple], launch: date, approver: int, payer: int
    ) -> tuple[list[tuple], list[tuple]]:
        """Monthly settlement runs from the launch month to last month, as ``settlement_run``:
        (statement rows, settlement line rows). ``entries`` is sorted by time (ids follow)."""
        rng = self.rng
        month_ends = []
        month = date(launch.year, launch.month, 1)
        this_month = self.today.replace(day=1)
        while month < this_month:
            following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            month_ends.append(following - timedelta(days=1))
            month = following
        groups: dict[tuple[int, str], list[int]] = defaultdict(list)
        for index, entry in enumerate(entries):
            groups[(entry[1], entry[2])].append(index)
        statements: list[tuple] = []
        lines: list[tuple] = []
        last_end = month_ends[-1] if month_ends else None
        for (pid, currency), indexes in sorted(groups.items()):
            position = 0
            for period_end in month_ends:
                cutoff = midnight(period_end + timedelta(days=1))
                upto = position
                while upto < len(indexes) and entries[indexes[upto]][0] < cutoff:
                    upto += 1
                if upto == position:
                    continue
                total = sum(entries[i][6] for i in indexes[position:upto])
                if total <= 0:
                    continue  # carried to the next run
                run = min(cutoff + 2 * 3600 + rng.uniform(0, 600), self.now - 60)
                approved = run + rng.uniform(1, 6) * DAY
                paid = approved + rng.uniform(2, 12) * DAY
                if period_end == last_end and rng.random() < 0.5:
                    approved = paid = self.now + DAY  # the latest run is partly still under review
                status = "paid" if paid <= self.now else "approved" if approved <= self.now else "draft"
                statement_id = len(statements) + 1
                statements.append(
                    (
                        statement_id,
                        pid,
                        currency,
                        period_end,
                        f"ST-{period_end:%Y%m%d}-{pid}-{currency}",
                        status,
                        m.text(total),
                        stamp(run),
                        approver if status != "draft" else None,
                        stamp(approved) if status != "draft" else None,
                        payer if status == "paid" else None,
                        stamp(paid) if status == "paid" else None,
                        f"PAY-ST-{statement_id:07d}" if status == "paid" else "",
                    )
                )
                for index in indexes[position:upto]:
                    lines.append((len(lines) + 1, statement_id, index + 1, pid, m.text(entries[index][6])))
                position = upto
        return statements, lines
