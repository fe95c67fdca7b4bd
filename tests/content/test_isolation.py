"""Isolation in the content library, through the real request path.

A Silver partner never learns of a Gold-only asset: not in the list, the search, the filters
offered, the detail page, the download or the co-branded PDF, all of which answer exactly like an
id that does not exist, and nothing is recorded. Usage events are tenant-owned: partner B's
database scope holds none of partner A's (row-level security, checked in raw SQL), and B's policy
scope none either. Partner users cannot reach the vendor report or its exports; anonymous users
are sent to sign in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from content import services
from content.models import AssetEvent, EventKind
from content.policies import asset_event_policy
from partners.models import PartnerRole
from prm.tenancy import Scope, tenant_scope
from tests.content import factories as f
from tests.helpers import login
from tests.isolation import Case, foreign_id_test

pytestmark = pytest.mark.django_db

MISSING_PK = 987_654_321


def normalised(text: str) -> str:
    """A page without its per-request CSRF tokens, to compare two 404 pages."""
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", text)


@pytest.fixture
def world() -> dict[str, Any]:
    silver = f.partner("Silver", legal_name="Silverline Ltd")
    gold = f.partner("Gold", legal_name="Goldcrest Inc")
    gold_only = f.asset(
        "Secret Gold pricing battlecard",
        tiers=["Gold"],
        tags=["gold-secret-tag"],
        category=f.category("Gold lounge"),
        cobrandable=True,
        cobrand_template="<p>{{ partner.legal_name }}</p>",
    )
    shared = f.asset("Platform overview", tags=["overview"])
    return {
        "silver": silver,
        "gold": gold,
        "silver_user": f.member(silver, PartnerRole.MARKETING),
        "gold_user": f.member(gold, PartnerRole.MARKETING),
        "gold_only": gold_only,
        "shared": shared,
    }


def test_silver_partner_cannot_see_list_or_search_a_gold_only_asset(world: dict[str, Any]) -> None:
    client = login(world["silver_user"].user)
    for params in (
        {},
        {"q": "battlecard"},
        {"q": "secret gold"},
        {"tag": "gold-secret-tag"},
        {"category": "gold-lounge"},
    ):
        response = client.get(reverse("content:library"), params)
        page = response.content.decode()
        assert "Secret Gold pricing" not in page and "Gold lounge" not in page
        if params:  # what the user typed is echoed in the form; the results hold nothing
            assert not response.context["page"].object_list
        else:  # and the filters offered name nothing of it
            assert "gold-secret-tag" not in page and "gold-lounge" not in page
    assert [a.title for a in client.get(reverse("content:library")).context["page"].object_list] == [
        "Platform overview"
    ]
    # The Gold partner does see it (the rules, not a bug, hide it).
    gold_page = login(world["gold_user"].user).get(reverse("content:library"), {"q": "battlecard"})
    assert "Secret Gold pricing" in gold_page.content.decode()


# The asset pages of a Gold-only asset, asked by the Silver partner's user: the same 404 as a missing
# id, nothing recorded (no usage event); the Gold partner's user gets them (the control).
FOREIGN_IDS = [
    Case(
        url_name,
        ("GET", "POST"),
        ("silver",),
        lambda w, _who: [w["gold_only"]],
        controls=("gold",),
        absent=absent,
    )
    for url_name, absent in [
        ("content:asset", ()),
        ("content:download", ()),
        ("content:cobranded", ("%PDF",)),
    ]
]

test_not_entitled_is_the_same_404_as_missing_and_records_nothing = foreign_id_test(
    FOREIGN_IDS,
    world="world",
    people={"silver": lambda w: w["silver_user"].user, "gold": lambda w: w["gold_user"].user},
    secrets=lambda w, _who: [w["gold_only"].title, "Secret Gold", "gold-secret-tag", "Gold lounge"],
    state=lambda w: list(AssetEvent.objects.values()),
)


def test_partner_b_cannot_see_partner_a_events(world: dict[str, Any]) -> None:
    gold_user, silver_user = world["gold_user"], world["silver_user"]
    services.record_event(actor=gold_user, asset=world["gold_only"], kind=EventKind.DOWNLOAD)
    services.record_event(actor=gold_user, asset=world["shared"], kind=EventKind.VIEW)
    services.record_event(actor=silver_user, asset=world["shared"], kind=EventKind.VIEW)
    with tenant_scope(Scope.partner(world["silver"].pk)):
        with connection.cursor() as cursor:
            cursor.execute("SELECT partner_id FROM content_assetevent")
            rows = cursor.fetchall()
            cursor.execute(
                "SELECT count(*) FROM content_assetevent WHERE partner_id = %s", [world["gold"].pk]
            )
            leaked = cursor.fetchone()[0]
        scoped = list(asset_event_policy.scope(silver_user).values_list("partner_id", flat=True))
        # Even an unscoped ORM query sees only B's rows: the database filters.
        everything = list(AssetEvent.objects.values_list("partner_id", flat=True))
    assert rows == [(world["silver"].pk,)]
    assert leaked == 0
    assert scoped == everything == [world["silver"].pk]


def test_partner_cannot_write_an_event_for_another_partner(world: dict[str, Any]) -> None:
    from django.db import DatabaseError, transaction

    with tenant_scope(Scope.partner(world["silver"].pk)), pytest.raises(DatabaseError), transaction.atomic():
        AssetEvent.objects.create(
            partner=world["gold"], user=world["silver_user"].user, asset=world["shared"], kind="view"
        )


@pytest.mark.parametrize("url_name", ["content:vendor_report", "content:vendor_report_export"])
def test_partners_cannot_reach_the_vendor_report(
    world: dict[str, Any], partner_admin: Any, url_name: str
) -> None:
    assert login(partner_admin).get(reverse(url_name)).status_code == 404
    assert login(partner_admin).get(reverse(url_name), {"asset": world["shared"].pk}).status_code == 404


@pytest.mark.parametrize(
    ("url_name", "needs_pk"),
    [
        ("content:library", False),
        ("content:asset", True),
        ("content:download", True),
        ("content:cobranded", True),
        ("content:vendor_report", False),
    ],
)
def test_anonymous_users_are_sent_to_sign_in(world: dict[str, Any], url_name: str, needs_pk: bool) -> None:
    url = reverse(url_name, args=[world["shared"].pk] if needs_pk else [])
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_vendor_staff_are_not_partners_in_the_library(world: dict[str, Any], program_admin: Any) -> None:
    # The partner pages are for partner users; vendor staff preview through the admin.
    assert login(program_admin).get(reverse("content:library")).status_code == 404
