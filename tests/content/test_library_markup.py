"""The content library's body and its htmx results, rendered by Jinja2 from the kept library
(templates/jinja2/content/, content.selectors.library), are the markup the Django templates made
from the database (kept in tests/prm/markup_before/content_library.html and content_results.html,
with the context the view built before, rebuilt here from the same selectors): for assets of every
kind (PDF, video, image, another file, a file with no version yet, a link), co-brandable ones, many
tags, every filter, a second page, and the empty states; in English and in German, compared as
HTML (attributes, text, nesting; not the whitespace between tags)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.paginator import Paginator
from django.template import Context, Engine, engines
from django.test.html import parse_html
from django.urls import reverse
from django.utils import translation

from content import selectors, services
from content.models import Asset, AssetKind, AssetStatus
from content.views import LIBRARY_PAGE_SIZE, _filters
from partners.models import PartnerRole
from prm.tenancy import Actor
from prm.views import querystring_without_page
from tests.content import factories as f
from tests.helpers import login

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent.parent / "prm" / "markup_before"


def old_engine() -> Engine:
    return Engine(
        dirs=[str(BEFORE), str(Path(settings.BASE_DIR) / "templates")],
        app_dirs=True,
        libraries=engines["django"].engine.libraries,
    )


def context_before(actor: Actor, request: Any) -> dict[str, Any]:
    """What content.views.library gave the Django templates before (the page's reads as they were;
    the list's count is the same either way)."""
    filters = _filters(request)
    page = Paginator(selectors.asset_list(actor=actor, filters=filters), LIBRARY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return {
        "page": page,
        "filters": filters,
        "filtered": any(filters.values()),
        "querystring": querystring_without_page(request),
        "kinds": AssetKind.choices,
        "categories": selectors.library_categories(actor=actor),
        "tags": selectors.library_tags(actor=actor),
    }


def assert_same(actor: Actor, language: str, params: dict[str, Any]) -> None:
    client = login(actor)
    full = client.get(reverse("content:library"), params)
    results = client.get(
        reverse("content:library"), params, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="library-results"
    )
    assert full.status_code == results.status_code == 200
    with translation.override(language):
        old = Context(context_before(actor, full.wsgi_request))
        old_body = old_engine().get_template("content_library.html").render(old)
        old_results = old_engine().get_template("content_results.html").render(old)
    assert parse_html(old_body) == parse_html(str(full.context["body"])), params
    assert parse_html(old_results) == parse_html(results.content.decode()), params


@pytest.fixture
def library() -> None:
    videos, decks = f.category("Videos & more"), f.category("Sales decks")
    f.asset("A <b>deck</b>", category=decks, tags=["alpha", "beta", "gamma", "delta"], file=f.pdf())
    f.asset("Demo recording", category=videos, file=f.mp4(), tags=["beta"])
    f.asset("The logo", file=f.png(), tags=["brand"], cobrandable=False)
    f.asset("A link", kind=AssetKind.LINK, category=videos, tags=["alpha"])
    f.asset(
        "Co-branded one-pager",
        description=" ".join(f"word{n}" for n in range(40)),
        cobrandable=True,
        cobrand_template="<p>{{ partner.legal_name }}</p>",
    )
    # A file with no version (written past the services, which refuse to publish one): the icon
    # and the size badge differ.
    bare = services.asset_create(
        actor=f.manager(), title="No version yet", kind=AssetKind.FILE, category=decks
    )
    Asset.objects.filter(pk=bare.pk).update(status=AssetStatus.PUBLISHED)
    f.asset("Gold only", tiers=["Gold"])
    for number in range(26):
        f.asset(f"Filler {number:02d}", kind=AssetKind.LINK, tags=["filler"])


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"page": 2},
        {"category": "sales-decks"},
        {"category": "videos-&-more", "kind": "link"},
        {"kind": "file"},
        {"tag": "beta"},
        {"tag": "alpha", "q": "deck"},
        {"q": "recording"},
        {"q": "nothing matches this"},
        {"category": "no-such-category"},
    ],
)
def test_the_library_is_the_markup_the_templates_made(
    partner: Any, library: None, language: str, params: dict[str, Any]
) -> None:
    me = f.member(partner, PartnerRole.MARKETING, language=language)
    assert_same(me, language, params)
    assert_same(me, language, params)  # kept now: the same again


@pytest.mark.parametrize("language", ["en", "de"])
def test_an_empty_library_is_the_markup_the_templates_made(partner: Any, language: str) -> None:
    me = f.member(partner, PartnerRole.SALES, language=language)
    f.asset("Gold only", tiers=["Gold"])
    assert_same(me, language, {})
