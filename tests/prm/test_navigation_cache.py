"""The main navigation is rendered once per role, page and language and reused
(prm/templatetags/prm_navigation.py): never another role's menu, never another language's, never
anything of a tenant or a person."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from partners.models import Partner, PartnerRole
from prm.models import User
from prm.templatetags import prm_navigation
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    prm_navigation.clear()


def main_nav(response: Any) -> str:
    """The cached part of the navigation bar: the left-hand list of links."""
    assert response.status_code == 200, response
    html = response.content.decode()
    return re.search(r'<ul class="navbar-nav me-auto">(.*?)\n      </ul>', html, re.S).group(1)


def test_a_sales_user_never_gets_the_admins_menu(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    admin_nav = main_nav(login(partner_admin).get(reverse("home")))  # rendered and kept first
    sales_nav = main_nav(login(sales).get(reverse("home")))
    assert 'id="nav-earnings"' in admin_nav
    assert reverse("mdf:funds") in admin_nav
    assert 'id="nav-earnings"' not in sales_nav
    assert reverse("mdf:funds") not in sales_nav
    assert reverse("deals:list") in sales_nav
    # And the other way round: the admin's menu is not cut to the sales user's.
    assert main_nav(login(partner_admin).get(reverse("home"))) == admin_nav


def test_the_fragment_holds_nothing_of_the_tenant_or_the_person(
    partner: Partner, partner_admin: User, other_partner: Partner, other_partner_admin: User
) -> None:
    first = main_nav(login(partner_admin).get(reverse("home")))
    second = main_nav(login(other_partner_admin).get(reverse("home")))
    assert first == second  # one fragment serves both partners' admins ...
    for fragment in prm_navigation._fragments.values():
        for private in (partner.legal_name, other_partner.legal_name, partner_admin.email, "csrf"):
            assert private not in fragment  # ... and carries nothing of either
    # The parts of the bar that are the partner's or the person's are still there, outside it.
    page = login(other_partner_admin).get(reverse("home")).content.decode()
    assert other_partner.legal_name in page and other_partner_admin.email in page


def test_each_page_marks_its_own_link_active(partner_admin: User) -> None:
    client = login(partner_admin)
    on_home = main_nav(client.get(reverse("home")))
    on_company = main_nav(client.get(reverse("partners:company")))
    link = f'nav-link active" href="{reverse("partners:company")}"'
    assert link in on_company
    assert link not in on_home


def test_a_language_switch_gets_that_languages_menu(
    monkeypatch: Any, settings: Any, partner_admin: User
) -> None:
    # The portal ships no German catalogue yet: mark whatever is translated while German is active.
    from django.utils.translation import trans_real

    # Set again, so that restoring it at the end tells every per-language memo (navigation, page
    # texts, rows) to forget what was written with the marked catalogue: a later test in this
    # process would read "[de] ..." (tests/partners/test_home_markup.py did, run after this file).
    settings.LOCALE_PATHS = list(settings.LOCALE_PATHS)

    real_gettext = trans_real.gettext

    def marked(message: str) -> str:
        return f"[de] {message}" if translation.get_language() == "de" else real_gettext(message)

    monkeypatch.setattr(translation._trans, "gettext", marked)
    client = login(partner_admin)
    english = main_nav(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en"))
    german = main_nav(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de"))
    assert "[de] Training" in german
    assert "[de]" not in english
    assert main_nav(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")) == english


def test_vendor_roles_and_admin_access_get_their_own_menus(partner_admin: User) -> None:
    program_admin = factories.vendor_user()
    content_manager = factories.vendor_user("content_manager", is_staff=False)
    full = main_nav(login(program_admin).get(reverse("vendor:dashboard")))
    partial = main_nav(login(content_manager).get(reverse("vendor:dashboard")))
    assert reverse("deals:review_queue") in full and reverse("admin:index") in full
    assert reverse("deals:review_queue") not in partial and reverse("admin:index") not in partial
    # A partner's menu after the vendor's: the partner's links only.
    partner_nav = main_nav(login(partner_admin).get(reverse("home")))
    assert reverse("deals:review_queue") not in partner_nav


def test_the_menu_is_rendered_once_then_reused(partner_admin: User) -> None:
    client = login(partner_admin)
    client.get(reverse("home"))
    assert sorted(key[0] for key in prm_navigation._fragments) == ["main", "user"]
    (key,) = [key for key in prm_navigation._fragments if key[0] == "main"]
    prm_navigation._fragments[key] = "<li>kept</li>"
    assert main_nav(client.get(reverse("home"))).strip() == "<li>kept</li>"


def test_the_user_menus_links_follow_the_role(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    learner = factories.partner_user(partner, role=PartnerRole.LEARNER)
    pages = {who: login(who).get(reverse("home")).content.decode() for who in (partner_admin, sales, learner)}
    assert 'id="nav-webhooks"' in pages[partner_admin]
    assert 'id="nav-webhooks"' not in pages[sales] and 'id="nav-api-tokens"' in pages[sales]
    assert 'id="nav-api-tokens"' not in pages[learner]
    # The person's own part of the menu is theirs on every page, outside the kept block.
    for who, page in pages.items():
        assert who.email in page and 'name="csrfmiddlewaretoken"' in page


def test_a_partner_that_has_not_accepted_the_agreement_never_gets_the_full_menu(
    partner: Partner, partner_admin: User
) -> None:
    """Same role, same page (the account's password page, which a gated partner may open too): the
    gate (partners.middleware.partner_gate) is part of the key, or an active partner's menu, kept
    first, would be served to a partner still in onboarding."""
    url = reverse("account_change_password")
    full = main_nav(login(partner_admin).get(url))
    newcomer = factories.PartnerFactory(legal_name="Newcomer Networks", agreement_version="")
    gated = main_nav(login(factories.partner_user(newcomer, email="nina@newcomer.example")).get(url))
    assert reverse("deals:list") in full
    assert reverse("deals:list") not in gated and reverse("partners:agreement") in gated
    assert "The rest of the portal opens once your company accepts the agreement." in gated
    assert main_nav(login(partner_admin).get(url)) == full
