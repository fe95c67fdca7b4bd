"""Full-text search over the library (PostgreSQL, web-search syntax, ranked) with the category,
kind and tag filters, and never beyond what the partner is entitled to."""

from __future__ import annotations

from typing import Any

import pytest

from content import selectors, services
from content.models import AssetKind
from tests.content import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def library() -> dict[str, Any]:
    competitive = f.category("Competitive")
    videos = f.category("Videos")
    return {
        "battlecard": f.asset(
            "Zero-trust battlecard",
            category=competitive,
            description="How to win against legacy VPN vendors.",
            tags=["zero trust", "competition"],
        ),
        "deck": f.asset(
            "Platform overview",
            description="Firewall, secure access and analytics; mentions zero trust once.",
            tags=["overview"],
        ),
        "video": f.asset(
            "Five-minute product demo",
            category=videos,
            kind=AssetKind.LINK,
            description="Recorded demo of the firewall console.",
            tags=["demo", "video"],
        ),
        "gold": f.asset(
            "Gold pricing battlecards",
            category=competitive,
            description="Discount levels for zero trust deals.",
            tiers=["Gold"],
        ),
    }


def titles(actor: Any, **filters: str) -> list[str]:
    return [asset.title for asset in selectors.asset_list(actor=actor, filters=filters)]


def test_search_stems_and_ranks_title_matches_first(library: dict[str, Any], partner: Any) -> None:
    actor = f.member(partner)
    # "battlecards" finds "battlecard" (English stemming); the Gold-only one stays hidden.
    assert titles(actor, q="battlecards") == ["Zero-trust battlecard"]
    # A title match outranks a mention in the description.
    assert titles(actor, q="zero trust") == ["Zero-trust battlecard", "Platform overview"]


def test_websearch_syntax(library: dict[str, Any], partner: Any) -> None:
    actor = f.member(partner)
    assert set(titles(actor, q="firewall")) == {"Platform overview", "Five-minute product demo"}
    assert titles(actor, q="firewall -demo") == ["Platform overview"]
    assert titles(actor, q='"legacy VPN"') == ["Zero-trust battlecard"]
    assert set(titles(actor, q="vpn or console")) == {"Zero-trust battlecard", "Five-minute product demo"}
    assert titles(actor, q="nothing-matches-this") == []


def test_search_covers_tags_and_category(library: dict[str, Any], partner: Any) -> None:
    actor = f.member(partner)
    assert titles(actor, q="competition") == ["Zero-trust battlecard"]
    assert titles(actor, q="videos") == ["Five-minute product demo"]


def test_filters_combine_with_search(library: dict[str, Any], partner: Any) -> None:
    actor = f.member(partner)
    assert titles(actor, category="competitive") == ["Zero-trust battlecard"]
    assert titles(actor, kind="link") == ["Five-minute product demo"]
    assert titles(actor, tag="Zero Trust") == ["Zero-trust battlecard"]
    assert titles(actor, q="firewall", kind="file") == ["Platform overview"]
    assert titles(actor, kind="bogus") == titles(actor)  # an unknown kind is ignored


def test_gold_partner_finds_the_gold_asset(library: dict[str, Any]) -> None:
    actor = f.member(f.partner("Gold"))
    assert "Gold pricing battlecards" in titles(actor, q="battlecard")


def test_edits_refresh_the_search_vector(library: dict[str, Any], partner: Any) -> None:
    deck = library["deck"]
    deck.title = "Platform overview and licensing"
    services.asset_save(actor=f.manager(), asset=deck)
    assert titles(f.member(partner), q="licensing") == ["Platform overview and licensing"]


def test_tags_and_categories_offered_are_those_of_visible_assets(
    library: dict[str, Any], partner: Any
) -> None:
    actor = f.member(partner)
    assert set(selectors.library_tags(actor=actor)) == {
        "zero trust",
        "competition",
        "overview",
        "demo",
        "video",
    }
    counts = {category.slug: category.asset_total for category in selectors.library_categories(actor=actor)}
    assert counts == {"competitive": 1, "sales-enablement": 1, "videos": 1}
