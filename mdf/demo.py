"""Demo data for market development funds: budgets and allocations for the previous, current and
next half-year (so activities a few weeks back or ahead always fall into a funded period, whatever
the date the demo is seeded on; one allocation grows by co-op accrual from won deals, seeded by
incentives), requests in every status, and a claim with a proof file waiting for finance.
Idempotent (skips when the current period exists)."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from partners.middleware import resolve_actor
from partners.models import Partner

from . import services
from .models import Budget, FundPeriod, FundRequest

User = get_user_model()


def _half_year(today: date) -> tuple[str, date, date]:
    if today.month <= 6:
        return f"FY{today.year} H1", date(today.year, 1, 1), date(today.year, 6, 30)
    return f"FY{today.year} H2", date(today.year, 7, 1), date(today.year, 12, 31)


# Rendered once per process: the same title gives the same bytes, and the test suite seeds the demo
# a dozen times (about a second of WeasyPrint each time).
@functools.cache
def demo_invoice_pdf(title: str) -> bytes:
    """A real (tiny) PDF invoice, rendered by WeasyPrint."""
    from weasyprint import HTML

    return HTML(string=f"<h1>Invoice</h1><p>{title}</p><p>Total: 12,400.00 USD</p>").write_pdf()


def seed(stdout: Any = None) -> None:
    today = timezone.localdate()
    name, starts, ends = _half_year(today)
    if FundPeriod.objects.filter(name=name).exists():
        return
    admin = resolve_actor(User.objects.get(email="ada.admin@prm.example"))
    cam = resolve_actor(User.objects.get(email="carl.cam@prm.example"))
    finance = resolve_actor(User.objects.get(email="fiona.finance@prm.example"))
    mia = resolve_actor(User.objects.get(email="mia.marketing@acme.example"))
    bob = resolve_actor(User.objects.get(email="bob.admin@globex.example"))
    acme = Partner.objects.get(legal_name__startswith="Acme")
    globex = Partner.objects.get(legal_name__startswith="Globex")
    for half in (
        _half_year(starts - timedelta(days=1)),
        (name, starts, ends),
        _half_year(ends + timedelta(days=1)),
    ):
        period, created = FundPeriod.objects.get_or_create(
            name=half[0], defaults={"starts_on": half[1], "ends_on": half[2]}
        )
        if not created:
            continue  # an earlier seeding's period keeps its own funds
        budget = Budget.objects.create(period=period, currency="USD", amount=Decimal("500000"))
        for partner, amount in ((acme, "60000"), (globex, "25000")):
            services.allocation_add(
                actor=admin,
                partner=partner,
                budget=budget,
                amount=Decimal(amount),
                memo=f"{half[0]} allocation",
            )
    period = FundPeriod.objects.get(name=name)

    def draft_fund_request(
        actor: Any, title: str, kind: str, start: date, days: int, cost: str, ask: str
    ) -> FundRequest:
        return services.request_save_draft(
            actor=actor,
            data={
                "activity_type": kind,
                "title": title,
                "description": f"{title}: demo activity.",
                "start_date": start,
                "end_date": start + timedelta(days=days),
                "total_cost": Decimal(cost),
                "requested_amount": Decimal(ask),
                "currency": "USD",
                "expected_leads": 40,
            },
        )

    future = today + timedelta(days=21)
    past = today - timedelta(days=40)

    draft_fund_request(mia, "Security roadshow, Chicago", "event", future, 1, "18000", "9000")
    submitted = draft_fund_request(
        mia, "Zero-trust webinar series", "webinar", future + timedelta(days=7), 30, "8000", "4000"
    )
    services.request_submit(actor=mia, fund_request=submitted, confirm_short_notice=True)
    returned = draft_fund_request(mia, "LinkedIn campaign", "digital", future, 45, "10000", "5000")
    services.request_submit(actor=mia, fund_request=returned, confirm_short_notice=True)
    services.request_return(
        actor=cam, fund_request=returned, reason="Add the target audience and the landing page."
    )
    approved = draft_fund_request(mia, "Customer briefing day", "event", future, 0, "6000", "3000")
    services.request_submit(actor=mia, fund_request=approved, confirm_short_notice=True)
    services.request_approve(actor=cam, fund_request=approved, comment="Good fit for Q4 pipeline.")
    rejected = draft_fund_request(bob, "Trade show booth", "event", future, 2, "40000", "20000")
    services.request_submit(actor=bob, fund_request=rejected, confirm_short_notice=True)
    services.request_reject(
        actor=cam, fund_request=rejected, reason="Trade shows are funded centrally this half."
    )

    # Past activities: a claim awaiting finance (with a real PDF), one approved, one paid.
    for title, stage in [
        ("Partner summit sponsorship", "claimed"),
        ("Regional lunch & learn", "claim_approved"),
        ("Security assessment campaign", "paid"),
    ]:
        fund_request = draft_fund_request(mia, title, "event", past, 2, "24800", "12400")
        services.request_submit(actor=mia, fund_request=fund_request, confirm_short_notice=True)
        # Above the channel account manager's limit (10,000 by default): the program admin approves.
        services.request_approve(actor=admin, fund_request=fund_request)
        claim = services.claim_submit(
            actor=mia,
            fund_request=fund_request,
            data={
                "actual_cost": Decimal("24800"),
                "claimed_amount": Decimal("12400"),
                "leads_generated": 55,
                "attendees": 180,
                "notes": "Booth and sponsorship delivered as planned.",
            },
            files=[
                SimpleUploadedFile("invoice.pdf", demo_invoice_pdf(title), content_type="application/pdf")
            ],
        )
        if stage in {"claim_approved", "paid"}:
            services.claim_approve(actor=finance, claim=claim)
        if stage == "paid":
            # Four eyes: the approver (finance) may not confirm the payment too; the admin does.
            services.claim_mark_paid(actor=admin, claim=claim, payment_reference="PAY-2026-0042")
        past += timedelta(days=5)

    # Not claimed in time: expires and releases its commitment.
    stale = draft_fund_request(bob, "Summer webinar", "webinar", starts, 1, "4000", "2000")
    services.request_submit(actor=bob, fund_request=stale, confirm_short_notice=True)
    stale = services.request_approve(actor=cam, fund_request=stale)
    if stale.claim_deadline and stale.claim_deadline < today:
        services.request_expire(fund_request=stale, today=today)
    if stdout is not None:
        stdout.write(f"MDF demo: {FundRequest.objects.count()} fund requests in {period}.\n")
