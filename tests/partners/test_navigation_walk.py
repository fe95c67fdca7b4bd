"""Every link in the navigation each demo persona sees opens: no 403, no silent redirect. A
partner in onboarding is offered only the agreement (and told why), a suspended partner's users a
notice with nothing that answers 403 behind it; the admin index shows each vendor role only the
tables it works on, and each of its links opens."""

from __future__ import annotations

import html
import io
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from partners.management.commands.seed_demo import DEMO_PASSWORD
from prm.models import User
from tests import factories
from tests.demo_personas import PARTNER_PEOPLE, VENDOR_STAFF
from tests.helpers import body_text, login
from tests.isolation import built_once

pytestmark = pytest.mark.django_db

ONBOARDING = "ivy.admin@initech.example"
SUSPENDED = "uma.admin@umbrella.example"


@built_once
def demo() -> Iterator[None]:
    with tempfile.TemporaryDirectory() as root:
        with override_settings(STORAGES=factories.storages_at(Path(root))):
            factories.default_tiers()
            call_command("seed_demo", stdout=io.StringIO())
        yield


def nav_links(page: str) -> list[str]:
    """The hrefs of the main navigation (menus and user menu), in order, without "#"."""
    nav = re.search(r'<nav[^>]*aria-label="Main navigation".*?</nav>', page, re.S)
    assert nav, "no main navigation"
    links = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', nav.group(0))]
    return [href for href in links if href != "#" and not href.startswith("mailto:")]


def start_page(client: Client) -> str:
    response = client.get("/", follow=True)
    return body_text(response)


def assert_every_link_opens(client: Client, links: list[str], who: str) -> None:
    """Each link answers 200, or redirects to another link of the same navigation (the brand's
    "/" to the vendor dashboard, or support's queue): never a 403, never away to a page the menu
    did not offer."""
    broken = {}
    for href in dict.fromkeys(links):
        response = client.get(href, follow=True)
        landed = response.redirect_chain[-1][0] if response.redirect_chain else href
        if response.status_code != 200 or landed not in links:
            broken[href] = (response.status_code, landed)
    assert not broken, f"{who}: navigation links that do not open: {broken}"


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("email", VENDOR_STAFF + PARTNER_PEOPLE)
def test_every_navigation_link_opens_for_each_demo_persona(email: str) -> None:
    client = login(User.objects.get(email=email))
    links = nav_links(start_page(client))
    assert links
    assert_every_link_opens(client, links, email)


@pytest.mark.usefixtures("demo")
def test_channel_account_manager_sees_funds_claims_of_the_portfolio_only() -> None:
    """PRODUCT.md: finance decides claims; a CAM follows the portfolio's claims, read-only."""
    client = login(User.objects.get(email="carl.cam@prm.example"))
    claims = reverse("admin:mdf_fundclaim_changelist")
    assert claims in nav_links(start_page(client))
    page = body_text(client.get(claims))
    assert "Umbrella" not in page and "Initech" not in page  # Cora's partners
    assert 'name="action"' not in page  # approve, reject, pay: finance's


def admin_index_links(client: Client) -> list[str]:
    page = body_text(client.get(reverse("admin:index")))
    content = page.split('id="content-main"', 1)[1]
    return re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', content)


KERNEL_TABLES = [
    "/admin/prm/exchangerate/",
    "/admin/prm/holiday/",
    "/admin/prm/auditevent/",
    "/admin/partners/tier/",
]


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("email", VENDOR_STAFF)
def test_admin_index_per_role_lists_only_tables_that_open(email: str) -> None:
    client = login(User.objects.get(email=email))
    links = admin_index_links(client)
    assert links
    if email == "carl.cam@prm.example":
        # Kernel tables are not a channel account manager's to work on.
        assert not set(KERNEL_TABLES) & set(links), links
        assert "/admin/mdf/fundrequest/" in links and "/admin/mdf/fundclaim/" in links
    if email == "ada.admin@prm.example":
        assert set(KERNEL_TABLES) <= set(links)
    assert_every_link_opens(client, links, email)


def _own_account_page(link: str) -> bool:
    """The pages a gated partner user keeps: the account's password, MFA and language."""
    return link.startswith("/accounts/") or link == reverse("language_settings")


@pytest.mark.usefixtures("demo")
def test_onboarding_partner_is_offered_the_agreement_only_and_told_why() -> None:
    client = login(User.objects.get(email=ONBOARDING))
    page = start_page(client)
    links = nav_links(page)
    assert reverse("partners:agreement") in links
    assert [link for link in links if link != reverse("partners:agreement")] == [
        link for link in links if _own_account_page(link)
    ], links  # besides the agreement: only the account's own pages (language, password, MFA)
    assert "The rest of the portal opens once your company accepts the agreement." in page
    assert reverse("deals:list") not in page and reverse("notifications") not in links


@pytest.mark.usefixtures("demo")
def test_suspended_partner_signs_in_to_a_clear_notice_and_no_contradicting_message() -> None:
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": SUSPENDED, "password": DEMO_PASSWORD}, follow=True
    )
    page = body_text(response)
    assert "Portal access is suspended" in page
    assert "Successfully signed in" not in page
    links = nav_links(page)
    assert all(_own_account_page(link) for link in links), links
    assert_every_link_opens(client, links, SUSPENDED)
