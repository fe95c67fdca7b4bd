"""Rows for the KPI and scorecard tests, made straight with the ORM at exact moments (in the test
body's vendor-wide scope): what the tests check is the KPIs' SQL and the scoring, not the services
that write these rows in production."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps

from partners.models import Partner, ScorecardLine, ScorecardTemplate
from partners.performance.kpis import Window, kpi_registry, measure
from prm.models import ExchangeRate, reporting_rates
from prm.tenancy import system_scope
from tests import factories

_n = itertools.count(1)

RATES = {"EUR": "1.10", "JPY": "0.0070"}  # GBP has no rate: GBP amounts are left out


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def rates() -> None:
    for currency, rate in RATES.items():
        ExchangeRate.objects.update_or_create(currency=currency, defaults={"rate": Decimal(rate)})


def values(as_of: date, *keys: str) -> dict[str, dict[int, Decimal]]:
    """``measure`` for just ``keys``: {key: {partner_id: value}} (partners without a value left out),
    in the system scope the nightly task opens (application code gets no scope from the suite)."""
    registry = kpi_registry()
    with system_scope():
        return measure(as_of=as_of, kpis={key: registry[key] for key in keys}, rates=reporting_rates()).values


def window(as_of: date) -> Window:
    return Window(as_of)


def deal(partner: Partner, status: str = "won", **fields: Any) -> Any:
    Deal = apps.get_model("deals", "Deal")
    n = next(_n)
    fields.setdefault("currency", "USD")
    fields.setdefault("amount", Decimal(fields.get("won_amount") or "100.00"))
    if isinstance(fields.get("won_amount"), str):
        fields["won_amount"] = Decimal(fields["won_amount"])
    return Deal.objects.create(
        partner=partner,
        registered_by=factories.partner_user(partner),
        reference=f"KPI-{n:05d}",
        customer_name=f"KPI Customer {n}",
        status=status,
        **fields,
    )


def lead_offer(partner: Partner, offered_at: datetime, outcome: str, after: timedelta | None = None) -> Any:
    Lead = apps.get_model("deals", "Lead")
    LeadOffer = apps.get_model("deals", "LeadOffer")
    lead = Lead.objects.create(company_name=f"KPI Lead {next(_n)}", region="na", assigned_partner=partner)
    return LeadOffer.objects.create(
        lead=lead,
        partner=partner,
        offered_at=offered_at,
        respond_by=offered_at + timedelta(hours=48),
        outcome=outcome,
        responded_at=offered_at + after if after is not None else None,
    )


def fund_period(starts_on: date, ends_on: date) -> Any:
    FundPeriod = apps.get_model("mdf", "FundPeriod")
    return FundPeriod.objects.create(name=f"KPI period {next(_n)}", starts_on=starts_on, ends_on=ends_on)


def allocation(partner: Partner, period: Any, currency: str = "USD") -> Any:
    Budget = apps.get_model("mdf", "Budget")
    Allocation = apps.get_model("mdf", "Allocation")
    budget, _new = Budget.objects.get_or_create(
        period=period, currency=currency, defaults={"amount": Decimal("1000000")}
    )
    return Allocation.objects.create(partner=partner, budget=budget, currency=currency)


def ledger(allocation: Any, kind: str, amount: str, created_at: datetime, fund_request: Any = None) -> Any:
    LedgerEntry = apps.get_model("mdf", "LedgerEntry")
    return LedgerEntry.objects.create(
        allocation=allocation,
        partner_id=allocation.partner_id,
        kind=kind,
        amount=Decimal(amount),
        currency=allocation.currency,
        idempotency_key=f"kpi:{next(_n)}",
        fund_request=fund_request,
        created_at=created_at,
    )


def fund_request(allocation: Any) -> Any:
    FundRequest = apps.get_model("mdf", "FundRequest")
    return FundRequest.objects.create(
        partner_id=allocation.partner_id,
        allocation=allocation,
        requested_by=factories.partner_user(allocation.partner),
        reference=f"KPI-F{next(_n):05d}",
        activity_type="event",
        title="KPI event",
        description="Roadshow",
        start_date=date(2026, 6, 1),
        end_date=date(2026, 6, 2),
        total_cost=Decimal("2000.00"),
        requested_amount=Decimal("1000.00"),
        approved_amount=Decimal("1000.00"),
        currency=allocation.currency,
        status="paid",
    )


def attribute(fund_request: Any, deal: Any) -> Any:
    MdfAttribution = apps.get_model("incentives", "MdfAttribution")
    return MdfAttribution.objects.create(
        partner_id=deal.partner_id, deal=deal, fund_request=fund_request, attributed_by=deal.registered_by
    )


def certification(name: str) -> Any:
    Certification = apps.get_model("training", "Certification")
    return Certification.objects.create(name=name, status="published")


def award(
    user: Any, partner: Partner, certification: Any, awarded_at: datetime, expires_at: datetime | None
) -> Any:
    CertificationAward = apps.get_model("training", "CertificationAward")
    return CertificationAward.objects.create(
        user=user, partner=partner, certification=certification, awarded_at=awarded_at, expires_at=expires_at
    )


def asset_event(partner: Partner, user: Any, kind: str, at_: datetime) -> Any:
    Asset = apps.get_model("content", "Asset")
    AssetEvent = apps.get_model("content", "AssetEvent")
    from tests.content import factories as content_f

    asset = Asset.objects.create(
        title=f"KPI asset {next(_n)}", category=content_f.category(), kind="link", url="https://x.example"
    )
    return AssetEvent.objects.create(partner=partner, user=user, asset=asset, kind=kind, at=at_)


def earning(partner: Partner, amount: str, currency: str, created_at: datetime, kind: str = "accrual") -> Any:
    EarningEntry = apps.get_model("incentives", "EarningEntry")
    from tests.incentives import factories as incentives_f

    return EarningEntry.objects.create(
        partner=partner,
        program=incentives_f.spif(name=f"KPI SPIF {next(_n)}", currency=currency),
        kind=kind,
        amount=Decimal(amount),
        currency=currency,
        idempotency_key=f"kpi:{next(_n)}",
        created_at=created_at,
    )


def template(
    name: str = "Standard", *, tier: Any = None, partner_type: str = "", lines: list
) -> ScorecardTemplate:
    """``lines``: (kpi, weight, target) or (kpi, weight, target, bands)."""
    made = ScorecardTemplate.objects.create(name=name, tier=tier, partner_type=partner_type)
    for position, line in enumerate(lines):
        kpi, weight, target, *rest = line
        ScorecardLine.objects.create(
            template=made,
            kpi=kpi,
            weight=Decimal(str(weight)),
            target=Decimal(str(target)),
            position=position,
            **({"bands": rest[0]} if rest else {}),
        )
    return made
