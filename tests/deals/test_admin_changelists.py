"""Admin changelists over tables that grow with the program stay cheap: the same number of queries
for 1 row as for 50 (list_select_related), no second COUNT over the whole table
(show_full_result_count = False) and no date_hierarchy, whose links read every distinct year or
month of the table (prm.admin.DateRangeFilter instead, which still takes date_hierarchy's links)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal, DealStatus, Lead, Product
from prm.admin import BigTableAdmin
from prm.models import AuditEvent
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.deals.test_query_counts import bulk_deals, bulk_leads
from tests.helpers import login

pytestmark = pytest.mark.django_db

BIG_TABLES = [
    "deals.Deal",
    "deals.Lead",
    "mdf.FundRequest",
    "mdf.FundClaim",
    "mdf.LedgerEntry",
    "mdf.Allocation",
    "incentives.EarningEntry",
    "incentives.Statement",
    "training.Enrollment",
    "training.CertificationAward",
    "prm.AuditEvent",
    "prm.Notification",
    "partners.Partner",
    "partners.Membership",
    "partners.Invitation",
]


@pytest.fixture
def product(db: Any) -> Product:
    return f.product("Probe Firewall", price="100.00")


def measure(client: Client, url: str) -> tuple[list[str], Any]:
    client.get(url)  # warm caches (content types, session) outside the measurement
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in context.captured_queries], response


def assert_cheap(client: Client, url: str, grow: Callable[[], None], *, rows: tuple[int, int]) -> None:
    small, small_response = measure(client, url)
    grow()
    large, large_response = measure(client, url)
    assert (small_response.context["cl"].result_count, large_response.context["cl"].result_count) == rows
    assert len(small) == len(large), (
        f"{url}: {len(small)} queries for {rows[0]} rows, {len(large)} for {rows[1]}"
    )
    # One COUNT of the table (the filtered rows, for the paginator), not a second over all of it.
    table = large_response.context["cl"].model._meta.db_table
    assert sum("COUNT(" in sql.upper() and f'FROM "{table}"' in sql for sql in large) == 1, large
    # No date_hierarchy: nothing reads the distinct years or months of the table.
    assert not [sql for sql in large if "DATE_TRUNC" in sql.upper() or "MIN(" in sql.upper()], large


def test_every_big_table_uses_the_cheap_changelist() -> None:
    for label in BIG_TABLES:
        model_admin = admin.site._registry[apps.get_model(label)]
        assert isinstance(model_admin, BigTableAdmin), label
        assert model_admin.show_full_result_count is False, label
        assert not model_admin.date_hierarchy, label


def test_the_deal_changelist(team_a: f.Team, vendor_admin: Actor, product: Product) -> None:
    f.submitted(team_a.sales_actor, lines=[f.line(product, 2, "100.00")])
    assert_cheap(
        login(vendor_admin.user),
        # Filtered, where Django would also count the whole table for "N total".
        reverse("admin:deals_deal_changelist") + "?status__exact=submitted",
        lambda: bulk_deals(team_a, 49, product=product, statuses=[DealStatus.SUBMITTED]),
        rows=(1, 50),
    )


def test_the_lead_changelist(team_a: f.Team, vendor_admin: Actor) -> None:
    f.lead(vendor_admin, "Vandelay Industries")
    assert_cheap(
        login(vendor_admin.user),
        reverse("admin:deals_lead_changelist"),
        lambda: bulk_leads(team_a, 49, creator=vendor_admin),
        rows=(1, 50),
    )


def test_the_audit_changelist(team_a: f.Team, vendor_admin: Actor) -> None:
    deal = f.submitted(team_a.sales_actor)
    before = AuditEvent.objects.count()

    def grow() -> None:
        AuditEvent.objects.bulk_create(
            AuditEvent(
                actor=team_a.sales,
                actor_label=team_a.sales.email,
                partner_id=team_a.partner.pk,
                target_type_id=AuditEvent.objects.first().target_type_id,
                target_id=str(deal.pk),
                target_repr=deal.reference,
                action=f"probe.{n}",
            )
            for n in range(49)
        )

    assert_cheap(
        login(vendor_admin.user), reverse("admin:prm_auditevent_changelist"), grow, rows=(before, before + 49)
    )


def test_date_hierarchy_links_still_filter(team_a: f.Team, vendor_admin: Actor, product: Product) -> None:
    deal = f.submitted(team_a.sales_actor, lines=[f.line(product, 1, "100.00")])
    Deal.objects.filter(pk=deal.pk).update(created_at=timezone.now().replace(year=2020))
    client = login(vendor_admin.user)
    url = reverse("admin:deals_deal_changelist")
    now = timezone.now()
    assert client.get(url, {"created_at__year": now.year}).context["cl"].result_count == 0
    assert client.get(url, {"created_at__year": 2020}).context["cl"].result_count == 1
    # The date filter's own links are ranges from today.
    page = client.get(url).content.decode()
    assert "created_at__gte=" in page
    assert Deal.objects.exclude(status=DealStatus.DRAFT).count() == 1
    assert not Lead.objects.exists()
