"""The cached actor (partners.actor_cache): used while nothing it is made of changed, never for
another user, and never a moment longer than a membership, role, partner status or portfolio
that changed through the application."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners import actor_cache, services
from partners.models import Membership, Partner, PartnerRole, PartnerStatus
from prm.models import User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _actor_cache_on(settings: Any) -> None:
    # The test settings resolve every request's actor from the database (prm/settings/test.py).
    settings.PRM = {**settings.PRM, "ACTOR_CACHE_SECONDS": 300}


def _membership_reads(client: Any, url: str = "/healthz") -> int:
    """How many statements of one request read memberships or portfolio permissions: what
    resolving the actor reads."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code in (200, 302, 403, 404), response
    return sum(
        1
        for query in context.captured_queries
        if re.search(r'FROM "partners_(membership|partneruserobjectpermission)"', query["sql"])
    )


def _home_name(client: Any) -> str:
    """The company name the navigation bar shows: whose actor the request ran as."""
    response = client.get(reverse("home"))
    assert response.status_code == 200, response
    return (
        re.search(rb'class="navbar-brand[^>]*>.*?<span>(.*?)</span>', response.content, re.S)
        .group(1)
        .decode()
    )


def test_the_actor_is_resolved_once_then_read_from_the_cache(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin)
    assert _membership_reads(client) == 1
    assert _membership_reads(client) == 0
    actor = client.get(reverse("home")).context["actor"]
    assert (actor.user, actor.partner, actor.partner_role) == (partner_admin, partner, PartnerRole.ADMIN)


def test_the_cache_off_resolves_every_request(settings: Any, partner_admin: User) -> None:
    settings.PRM = {**settings.PRM, "ACTOR_CACHE_SECONDS": 0}
    client = login(partner_admin)
    assert [_membership_reads(client) for _ in range(2)] == [1, 1]


def test_one_users_actor_is_never_served_to_another(
    partner: Partner, partner_admin: User, other_partner: Partner, other_partner_admin: User
) -> None:
    alice, bob = login(partner_admin), login(other_partner_admin)
    for _ in range(2):  # the second round from the cache
        assert _home_name(alice) == partner.legal_name
        assert _home_name(bob) == other_partner.legal_name


def test_an_entry_is_used_only_for_the_user_it_was_made_for(
    partner_admin: User, other_partner_admin: User
) -> None:
    """Even an entry stored under another user's key (it cannot be, but the check does not trust
    the key) is ignored."""
    from django.core.cache import cache

    login(partner_admin).get("/healthz")
    cache.set(
        actor_cache._entry_key(other_partner_admin.pk), cache.get(actor_cache._entry_key(partner_admin.pk))
    )
    bob = login(other_partner_admin)
    assert _membership_reads(bob) == 1
    assert bob.get(reverse("home")).context["actor"].user == other_partner_admin


def test_a_deactivated_membership_loses_access_at_once(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    assert client.get(reverse("deals:list")).status_code == 200  # cached now
    membership = Membership.objects.get(user=sales)
    # The membership alone (the person's account stays active): only the cache can be wrong here.
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    response = client.get(reverse("deals:list"))
    assert response.status_code == 403
    assert "partners/no_access.html" in [t.name for t in response.templates]


def test_a_member_removed_by_the_team_service_loses_access_at_once(
    partner: Partner, partner_admin: User
) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    assert client.get(reverse("deals:list")).status_code == 200
    services.membership_deactivate(
        actor=factories.actor_for(partner_admin), membership=Membership.objects.get(user=sales)
    )
    assert client.get(reverse("deals:list")).status_code != 200


def test_a_deleted_membership_loses_access_at_once(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    assert client.get(reverse("deals:list")).status_code == 200
    Membership.objects.get(user=sales).delete()
    assert client.get(reverse("deals:list")).status_code == 403


def test_a_role_change_applies_to_the_next_request(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    assert client.get(reverse("deals:list")).context["works_deals"]
    services.membership_change_role(
        actor=factories.actor_for(partner_admin),
        membership=Membership.objects.get(user=sales),
        role=PartnerRole.LEARNER,
    )
    response = client.get(reverse("deals:list"))
    assert response.context["actor"].partner_role == PartnerRole.LEARNER
    assert not response.context["works_deals"]  # deals are not a learner's


def test_a_suspended_partner_is_suspended_for_the_next_request(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin)
    assert client.get(reverse("home")).status_code == 200
    services.partner_suspend(actor=factories.vendor_actor(), partner=partner, reason="Unpaid invoices")
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "partners/access_suspended.html" in [t.name for t in response.templates]


def test_a_portfolio_revoked_is_gone_for_the_next_request(partner: Partner, other_partner: Partner) -> None:
    manager = factories.vendor_user("channel_account_manager")
    admin = factories.vendor_actor()
    services.partner_assign_channel_manager(actor=admin, partner=partner, manager=manager)
    services.portfolio_grant(actor=admin, partner=other_partner, manager=manager)
    client = login(manager)
    detail = reverse("vendor:partner_detail", args=[other_partner.pk])
    assert client.get(detail).status_code == 200
    services.portfolio_revoke(actor=admin, partner=other_partner, manager=manager)
    assert client.get(detail).status_code == 404
    response = client.get(reverse("vendor:partner_detail", args=[partner.pk]))
    assert response.status_code == 200
    # The database scope too: row-level security reads the portfolio from the actor.
    assert response.wsgi_request.actor.portfolio == (partner.pk,)


def test_a_deactivated_account_is_anonymous_whatever_the_cache_holds(partner_admin: User) -> None:
    client = login(partner_admin)
    assert client.get(reverse("home")).context["actor"].is_partner
    # An update, which sends no signal: the account is read from the database on every request.
    User.objects.filter(pk=partner_admin.pk).update(is_active=False)
    assert client.get(reverse("deals:list")).status_code == 302  # to the sign-in page


def test_an_entry_for_another_vendor_role_is_ignored(partner_admin: User) -> None:
    client = login(partner_admin)
    assert client.get(reverse("home")).context["actor"].is_partner
    User.objects.filter(pk=partner_admin.pk).update(vendor_role="program_admin")  # no signal either
    assert client.get("/healthz").status_code == 200
    assert _membership_reads(client) == 0  # a vendor: no membership read ...
    response = client.get(reverse("home"))
    assert response.wsgi_request.actor.is_vendor  # ... and not the cached partner actor


def test_a_change_committed_while_an_actor_was_resolved_leaves_no_usable_entry(
    monkeypatch: Any, partner: Partner, partner_admin: User
) -> None:
    """A request that read the membership just before another transaction changed it and committed
    stores what it read; the entry carries the generation from before its read, so the next
    request resolves again."""
    from partners import middleware

    resolve = middleware.resolve_actor

    def resolve_then_another_transaction_commits(user: Any) -> Any:
        actor = resolve(user)
        actor_cache._move_generation_on()  # what the other transaction's commit does
        return actor

    monkeypatch.setattr(middleware, "resolve_actor", resolve_then_another_transaction_commits)
    client = login(partner_admin)
    assert _membership_reads(client) == 1
    monkeypatch.setattr(middleware, "resolve_actor", resolve)
    assert _membership_reads(client) == 1
    assert _membership_reads(client) == 0


def test_a_change_moves_the_generation_again_when_it_commits(
    partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.cache import cache

    with django_capture_on_commit_callbacks() as callbacks:
        partner.phone = "+1 555 0100"
        partner.save(update_fields=["phone"])
        moved = cache.get(actor_cache.GENERATION_KEY)
    assert moved is not None
    assert actor_cache._move_generation_on in callbacks
    for callback in callbacks:
        callback()
    assert cache.get(actor_cache.GENERATION_KEY) != moved


BULK_WRITE = re.compile(
    r"\b(Membership|Partner|Tier|PartnerUserObjectPermission)\.objects\b[^\n]*\.(update|bulk_create|bulk_update)\("
)


def test_no_application_code_writes_actor_rows_in_bulk() -> None:
    """Bulk writes send no model signals, so they would leave cached actors stale; code that
    needs one must call partners.actor_cache.forget_all_actors() (and then belongs in this list)."""
    root = Path(__file__).resolve().parents[2]
    # The tier evaluation's direct upgrades (it calls forget_all_actors() right after).
    allowed: set[str] = {"partners/performance/tier_moves.py:22"}
    found = []
    for app in ("prm", "partners", "deals", "mdf", "training", "content", "incentives"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                where = f"{path.relative_to(root)}:{number}"
                if BULK_WRITE.search(line) and where not in allowed:
                    found.append(f"{where}: {line.strip()}")
    assert not found, found


def test_an_active_member_of_a_suspended_partner_is_let_back_in_when_it_is_reinstated(
    partner: Partner, partner_admin: User
) -> None:
    client = login(partner_admin)
    services.partner_suspend(actor=factories.vendor_actor(), partner=partner, reason="Audit")
    assert client.get(reverse("home")).status_code == 403
    services.partner_reinstate(actor=factories.vendor_actor(), partner=Partner.objects.get(pk=partner.pk))
    assert Partner.objects.get(pk=partner.pk).status == PartnerStatus.ACTIVE
    assert client.get(reverse("home")).status_code == 200
