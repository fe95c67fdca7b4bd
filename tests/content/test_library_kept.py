"""The library every partner of an audience sees alike is kept (content.selectors.library,
prm.catalogue_cache): never another tier's, partner type's or region's; a change shows on the next
request, whether a service, the admin or a bulk write made it; an asset's window opens and closes
on the second, kept or not. A kept page reads the library's fingerprint and nothing else of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from content import services
from content.models import Asset, AssetStatus, Category
from partners.models import PartnerRole, PartnerType, Region
from tests import factories
from tests.content import factories as f
from tests.content.test_query_counts import bulk_assets
from tests.helpers import assert_constant_queries, in_element, login

pytestmark = pytest.mark.django_db


def titles(actor: Any, **params: Any) -> set[str]:
    response = login(actor).get(reverse("content:library"), params)
    assert response.status_code == 200
    return {asset.title for asset in response.context["page"].paginator.object_list}


def test_each_audience_gets_its_own_library() -> None:
    gold = f.member(f.partner("Gold", PartnerType.MSP, Region.EMEA))
    registered = f.member(f.partner("Registered", PartnerType.MSP, Region.EMEA))
    reseller = f.member(f.partner("Gold", PartnerType.RESELLER, Region.EMEA))
    americas = f.member(f.partner("Gold", PartnerType.MSP, Region.NORTH_AMERICA))
    f.asset("For everyone")
    f.asset("Gold only", tiers=["Gold"])
    f.asset("MSPs only", partner_types=[PartnerType.MSP])
    f.asset("EMEA only", regions=[Region.EMEA])
    for _ in range(2):  # read, then kept
        assert titles(gold) == {"For everyone", "Gold only", "MSPs only", "EMEA only"}
        assert titles(registered) == {"For everyone", "MSPs only", "EMEA only"}
        assert titles(reseller) == {"For everyone", "Gold only", "EMEA only"}
        assert titles(americas) == {"For everyone", "Gold only", "MSPs only"}


def test_a_partners_new_tier_shows_its_library_at_once(partner: Any) -> None:
    me = f.member(partner, PartnerRole.SALES)
    f.asset("Gold only", tiers=["Gold"])
    assert titles(me) == set()
    partner.tier = factories.tier("Gold")
    partner.save()
    assert titles(me) == {"Gold only"}


def test_a_change_shows_on_the_next_request(partner: Any) -> None:
    me = f.member(partner, PartnerRole.SALES)
    first = f.asset("First", tags=["one"])
    assert titles(me) == {"First"}
    # Through the services (signals).
    second = f.asset("Second")
    assert titles(me) == {"First", "Second"}
    services.asset_archive(actor=f.manager(), asset=second)
    assert titles(me) == {"First"}
    category = Category.objects.get(pk=first.category_id)
    category.name = "Renamed category"
    category.save()
    page = login(me).get(reverse("content:library")).content.decode()
    assert "Renamed category" in page
    # Past the services: a bulk insert, then its tier rules.
    made = bulk_assets(3, category=f.category("Bulk"))[1:]  # the first is for Silver partners only
    assert titles(me) == {"First", *(asset.title for asset in made)}
    Asset.tiers.through.objects.create(asset_id=first.pk, tier_id=factories.tier("Gold").pk)
    assert "First" not in titles(me)
    # An edit that says when it was made (as every service and the admin do).
    Asset.objects.filter(pk=made[0].pk).update(
        status=AssetStatus.ARCHIVED, updated_at=made[0].updated_at + timedelta(1)
    )
    assert titles(me) == {made[1].title}


def test_the_window_opens_and_closes_on_the_second_kept_or_not(partner: Any) -> None:
    me = f.member(partner, PartnerRole.SALES)
    opens, closes = datetime(2027, 12, 31, 23, 0, tzinfo=UTC), datetime(2028, 3, 1, 0, 0, tzinfo=UTC)
    with time_machine.travel(opens - timedelta(days=1), tick=False):
        f.asset("Always")
        f.asset("Windowed", publish_at=opens, expires_at=closes)
    for moment, shown in [
        (opens - timedelta(seconds=1), {"Always"}),
        (opens, {"Always", "Windowed"}),
        (closes - timedelta(seconds=1), {"Always", "Windowed"}),
        (closes, {"Always"}),
    ]:
        with time_machine.travel(moment, tick=False):
            assert titles(me) == shown, moment
            assert titles(me) == shown, moment  # and kept


def test_library_query_count_is_constant_with_the_library_kept(partner: Any) -> None:
    """Kept, a request reads the library's fingerprint and nothing else of it, however many assets
    (the grown library is read once, by the request after the change, then kept); a search reads
    the assets found on top."""
    me = f.member(partner, PartnerRole.MARKETING)
    f.asset("The first one", tags=["first"])
    client, url = login(me.user), reverse("content:library")

    def grow_and_read_once() -> None:
        bulk_assets(49, category=f.category("Bulk"))
        assert client.get(url).context["page"].paginator.count == 33

    def shows() -> list[Any]:
        return [
            in_element(f"asset-{pk}", title)
            for pk, title in Asset.objects.filter(
                status=AssetStatus.PUBLISHED, tiers__isnull=True
            ).values_list("pk", "title")
        ]

    assert_constant_queries(
        client,
        url,
        grow=grow_and_read_once,
        rows=lambda response: len(response.context["page"].object_list),
        shows=shows,
        small=1,
        large=24,
        bound=14,
    )


def test_the_rendered_library_is_kept_for_the_library_it_shows(partner: Any) -> None:
    """Without a search, the body is rendered once per library, filters, page and language
    (content.views._BODIES), and again as soon as the library kept for the audience changes."""
    from content import views

    me = f.member(partner, PartnerRole.SALES)
    first = f.asset("First title")
    client = login(me)

    def body(headers: dict[str, str] | None = None, **params: Any) -> str:
        response = client.get(reverse("content:library"), params, **(headers or {}))
        assert response.status_code == 200
        return str(response.context["body"])

    views._BODIES.clear()
    page = body()
    assert "First title" in page and len(views._BODIES) == 1
    assert body() == page and len(views._BODIES) == 1  # kept
    german = body(headers={"HTTP_ACCEPT_LANGUAGE": "de"})
    assert german != page and len(views._BODIES) == 2  # each language its own
    filtered = body(category="no-such-category")
    assert filtered != page and "First title" not in filtered
    asset = Asset.objects.get(pk=first.pk)
    asset.title = "Second title"
    asset.save()
    renamed = body()
    assert "Second title" in renamed and "First title" not in renamed
