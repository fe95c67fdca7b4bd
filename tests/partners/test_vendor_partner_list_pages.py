"""The vendor's partner list reads a page's rows with the list's count in one statement
(partners.vendor_views.PartnerListPaginator), and writes its filter form once per language,
submitted values and tier / manager options (partners.vendor_views.filters_html): the pages it
answers are Django's paginator's, and the options are never stale, whichever process kept them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners import selectors, vendor_views
from partners.forms import PartnerFilterForm
from partners.models import Tier
from prm.models import User
from prm.roles import VendorRole
from tests import factories
from tests.helpers import login
from tests.partners.test_vendor_page_costs import make_partners

pytestmark = pytest.mark.django_db

LIST = reverse("vendor:partner_list")


def _partner_reads(client: Any, url: str) -> tuple[list[str], Any]:
    """The statements of one request that read partners, and the response."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    statements = [query["sql"] for query in context.captured_queries]
    return [sql for sql in statements if '"partners_partner"' in sql], response


@pytest.mark.parametrize("number", ["", "1", "2", "3", "99", "0", "-1", "abc", "2.0", "1.5"])
def test_a_page_is_the_one_djangos_paginator_gives(program_admin: User, number: str) -> None:
    make_partners(30, people=0)
    client = login(program_admin)
    client.get(LIST)  # the statements compiled, the filter form kept
    partner_reads, response = _partner_reads(client, f"{LIST}?page={number}")
    page = response.context["page"]
    expected = Paginator(list(selectors.partner_list(actor=factories.actor_for(program_admin))), 25)
    wanted = expected.get_page(number)
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (wanted.number, 30, 2)
    assert [row.pk for row in page.object_list] == [partner.pk for partner in wanted.object_list]
    # A page with rows carries the count; a page past the last one is read (no rows), then the
    # count on its own, then the last page; below the first, the count and the last page.
    counted = [n for n, sql in enumerate(partner_reads) if sql.startswith("SELECT COUNT(*) FROM")]
    if number in {"3", "99"}:
        assert (len(partner_reads), counted) == (3, [1]), partner_reads
    elif number in {"0", "-1"}:
        assert (len(partner_reads), counted) == (2, [0]), partner_reads
    else:
        assert (len(partner_reads), counted) == (1, []), partner_reads
    assert f"{page.paginator.count} partners match" in response.content.decode()


@pytest.mark.parametrize("number", ["", "1", "4"])
def test_an_empty_list_is_one_empty_page(program_admin: User, number: str) -> None:
    make_partners(3, people=0)
    partner_reads, response = _partner_reads(login(program_admin), f"{LIST}?q=nothing+like+it&page={number}")
    page = response.context["page"]
    assert (page.number, page.paginator.count, list(page.object_list)) == (1, 0, [])
    # Page 4 of nothing: its rows (none), then the count (0), and no page to read.
    assert len(partner_reads) == (1 if number != "4" else 2)
    assert "No partners match these filters" in response.content.decode()


def test_a_channel_account_manager_counts_the_portfolio_only(channel_manager: User) -> None:
    partners = make_partners(27, people=0)
    admin_actor = factories.vendor_actor()
    from partners import services

    for partner in partners[:26]:
        services.partner_assign_channel_manager(actor=admin_actor, partner=partner, manager=channel_manager)
    client = login(channel_manager)
    first = client.get(LIST).context["page"]
    second = client.get(f"{LIST}?page=2").context["page"]
    assert (first.paginator.count, len(first.object_list)) == (26, 25)
    assert (second.paginator.count, len(second.object_list)) == (26, 1)
    assert {row.pk for row in [*first.object_list, *second.object_list]} == {p.pk for p in partners[:26]}


def _options(response: Any, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}".*?</select>', response.content.decode(), re.S)
    assert select, name
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))


def test_the_options_are_the_fields_querysets_in_their_order(program_admin: User) -> None:
    factories.default_tiers()
    factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="zed@prm.example", full_name="Zed")
    factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="amy@prm.example", full_name="")
    factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="bob@prm.example", is_active=False)
    response = login(program_admin).get(LIST)
    fields = PartnerFilterForm.base_fields
    for name in ("tier", "channel_account_manager"):
        queryset = fields[name].queryset
        assert _options(response, name)[1:] == [(str(item.pk), str(item)) for item in queryset], name
    managers = [label for _value, label in _options(response, "channel_account_manager")]
    assert "amy@prm.example" in managers and "Zed" in managers and "bob@prm.example" not in managers


def test_the_kept_filter_form_follows_tiers_and_managers_at_once(program_admin: User) -> None:
    tiers = factories.default_tiers()
    manager = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, full_name="Casey Before")
    client = login(program_admin)
    client.get(LIST)
    assert client.get(LIST).status_code == 200  # written once, then kept
    assert vendor_views._FILTERS_HTML

    # Written by another process, as far as this one can tell: the options are read every time.
    Tier.objects.create(name="Diamond Probe", rank=99)
    User.objects.filter(pk=manager.pk).update(full_name="Casey After")
    tier_labels = [label for _value, label in _options(client.get(LIST), "tier")]
    assert tier_labels[-1] == "Diamond Probe" and len(tier_labels) == len(tiers) + 2
    managers = [label for _value, label in _options(client.get(LIST), "channel_account_manager")]
    assert "Casey After" in managers and "Casey Before" not in managers

    User.objects.filter(pk=manager.pk).update(is_active=False)
    managers = [label for _value, label in _options(client.get(LIST), "channel_account_manager")]
    assert "Casey After" not in managers


def test_the_kept_filter_form_shows_what_was_chosen(program_admin: User) -> None:
    tiers = factories.default_tiers()
    client = login(program_admin)
    client.get(LIST)
    chosen = client.get(f"{LIST}?status=active&tier={tiers[1].pk}")
    assert ("active", "Active") in _options(chosen, "status")
    assert f'<option value="{tiers[1].pk}" selected>' in chosen.content.decode()
    assert '<option value="active" selected>' in chosen.content.decode()
    plain = client.get(LIST).content.decode()
    assert '<option value="" selected>' in plain and '<option value="active" selected>' not in plain


def test_a_search_text_is_shown_escaped_and_not_kept(program_admin: User) -> None:
    client = login(program_admin)
    vendor_views._FILTERS_HTML.clear()
    body = client.get(LIST, {"q": '<b>"Probe"</b>'}).content.decode()
    assert 'value="&lt;b&gt;&#34;Probe&#34;&lt;/b&gt;"' in body or 'value="&lt;b&gt;&quot;Probe' in body
    assert not vendor_views._FILTERS_HTML
    client.get(LIST)
    assert len(vendor_views._FILTERS_HTML) == 1


def test_the_page_prints_one_csrf_token_and_it_is_accepted(program_admin: User) -> None:
    """The export form in the body and the layout (hx-headers, the sign-out form) print the one
    token the view asked for; a POST with it passes the CSRF check."""
    from unittest import mock

    make_partners(2, people=0)
    client = login(program_admin, enforce_csrf_checks=True)
    body = client.get(LIST).content.decode()
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body))
    tokens |= set(re.findall(r'"X-CSRFToken": "([^"]+)"', body))
    assert len(tokens) == 1, tokens
    with mock.patch("prm.views.export_request") as queued:  # the CSRF check is what is tested
        queued.return_value = (mock.Mock(pk=1), True)
        response = client.post(reverse("vendor:partner_export"), {"csrfmiddlewaretoken": tokens.pop()})
    assert response.status_code in (200, 302), response.status_code
    assert queued.called


@pytest.mark.parametrize("text", ["", "Plain Co", "<b>&amp;</b>", 'O\'Neil "Quoted" & Sons', "Ünïcode ☃ >"])
def test_the_rows_escape_as_markupsafe_does(text: str) -> None:
    from markupsafe import escape

    assert vendor_views._escaped(text) == str(escape(text))


def test_a_rows_links_and_label_are_escaped_as_before(program_admin: User) -> None:
    from markupsafe import Markup, escape

    partner = make_partners(1, people=0)[0]
    partner.legal_name = 'Quote "Probe" <&> O\'Co'
    partner.website_domain = "probe&co.example"
    partner.save()
    body = login(program_admin).get(LIST).content.decode()
    detail = escape(reverse("vendor:partner_detail", args=[partner.pk]))
    overview = escape(reverse("vendor:partner_360", args=[partner.pk]))
    label = Markup("Partner 360 of %(name)s") % {"name": partner.legal_name}
    assert f'href="{detail}">{escape(partner.legal_name)}</a>' in body
    assert f'href="{overview}" title="Partner 360" aria-label="{label}"' in body
    assert f'<div class="small text-body-secondary">{escape(partner.website_domain)}</div>' in body
