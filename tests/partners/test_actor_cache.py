"""The cached actor (partners.actor_cache): used while nothing it is made of changed, never for
another user, and never a moment longer than a membership, role, partner, tier or portfolio that
changed, whoever changed it: a service, a queryset update, a bulk insert or raw SQL (database
triggers move the person's prm_user.actor_version on)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners import actor_cache, services
from partners.models import Membership, Partner, PartnerRole, PartnerStatus, PartnerUserObjectPermission
from prm.models import User
from prm.tenancy import Scope
from tests import factories
from tests.helpers import login, raw

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


def test_an_active_member_of_a_suspended_partner_is_let_back_in_when_it_is_reinstated(
    partner: Partner, partner_admin: User
) -> None:
    client = login(partner_admin)
    services.partner_suspend(actor=factories.vendor_actor(), partner=partner, reason="Audit")
    assert client.get(reverse("home")).status_code == 403
    services.partner_reinstate(actor=factories.vendor_actor(), partner=Partner.objects.get(pk=partner.pk))
    assert Partner.objects.get(pk=partner.pk).status == PartnerStatus.ACTIVE
    assert client.get(reverse("home")).status_code == 200


def _version(user: User) -> int:
    return User.objects.values_list("actor_version", flat=True).get(pk=user.pk)


def test_a_membership_changed_in_raw_sql_applies_to_the_next_request(
    partner: Partner, partner_admin: User
) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    assert client.get(reverse("deals:list")).context["works_deals"]  # cached now
    before = _version(sales)
    raw("UPDATE partners_membership SET role = 'learner' WHERE user_id = %s", [sales.pk])
    assert _version(sales) > before
    response = client.get(reverse("deals:list"))
    assert response.context["actor"].partner_role == PartnerRole.LEARNER
    assert not response.context["works_deals"]


def test_a_membership_deactivated_by_a_bulk_update_loses_access_at_once(
    partner: Partner, partner_admin: User
) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    assert client.get(reverse("deals:list")).status_code == 200
    Membership.objects.filter(user=sales).update(is_active=False)  # no model signal
    assert client.get(reverse("deals:list")).status_code == 403


def test_a_partner_suspended_by_a_bulk_update_is_suspended_for_the_next_request(
    partner: Partner, partner_admin: User, other_partner: Partner, other_partner_admin: User
) -> None:
    client = login(partner_admin)
    assert client.get(reverse("home")).status_code == 200
    untouched = _version(other_partner_admin)
    Partner.objects.filter(pk=partner.pk).update(status=PartnerStatus.SUSPENDED)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "partners/access_suspended.html" in [t.name for t in response.templates]
    assert _version(other_partner_admin) == untouched  # only the partner's own people


def test_a_partner_changed_in_its_own_scope_applies_to_its_members(
    partner: Partner, partner_admin: User
) -> None:
    """The company's own change (as its admin's request makes it, in the partner scope) moves its
    members on too."""
    client = login(partner_admin)
    assert _home_name(client) == partner.legal_name
    raw(
        "UPDATE partners_partner SET legal_name = 'Acme Renamed' WHERE id = %s",
        [partner.pk],
        scope=Scope.partner(partner.pk),
    )
    assert _home_name(client) == "Acme Renamed"


def test_a_partner_update_that_changes_nothing_keeps_its_members_cached(
    partner: Partner, partner_admin: User
) -> None:
    client = login(partner_admin)
    client.get("/healthz")
    before = _version(partner_admin)
    raw("UPDATE partners_partner SET legal_name = legal_name WHERE id = %s", [partner.pk])
    assert _version(partner_admin) == before
    assert _membership_reads(client) == 0


def test_a_tier_changed_in_raw_sql_reaches_the_members_of_its_partners(
    partner: Partner, partner_admin: User
) -> None:
    client = login(partner_admin)
    assert client.get(reverse("home")).context["actor"].partner.tier.name == partner.tier.name
    # Tiers have no row-level security: even a write with no scope at all moves the members on.
    raw("UPDATE partners_tier SET name = 'Renamed tier' WHERE id = %s", [partner.tier_id], scope=None)
    assert client.get(reverse("home")).context["actor"].partner.tier.name == "Renamed tier"


def test_a_portfolio_granted_in_raw_sql_applies_to_the_next_request(
    partner: Partner, other_partner: Partner
) -> None:
    manager = factories.vendor_user("channel_account_manager")
    services.partner_assign_channel_manager(actor=factories.vendor_actor(), partner=partner, manager=manager)
    client = login(manager)
    detail = reverse("vendor:partner_detail", args=[other_partner.pk])
    assert client.get(detail).status_code == 404  # cached now, without other_partner
    permission = Permission.objects.get(codename="work_partner", content_type__app_label="partners")
    raw(
        "INSERT INTO partners_partneruserobjectpermission (user_id, permission_id, content_object_id)"
        " VALUES (%s, %s, %s)",
        [manager.pk, permission.pk, other_partner.pk],
    )
    assert client.get(detail).status_code == 200
    assert sorted(client.get(detail).wsgi_request.actor.portfolio) == sorted([partner.pk, other_partner.pk])
    PartnerUserObjectPermission.objects.filter(user=manager, content_object=other_partner).delete()
    assert client.get(detail).status_code == 404


def test_a_full_save_of_a_user_read_before_a_change_does_not_undo_it(
    partner: Partner, partner_admin: User
) -> None:
    """A user row read before a trigger moved its version, then saved whole, would write the old
    number back and make a stale entry valid again; the database keeps the newer one."""
    client = login(partner_admin)
    client.get("/healthz")  # cached under the current version
    stale = User.objects.get(pk=partner_admin.pk)
    Membership.objects.filter(user=partner_admin).update(role=PartnerRole.MARKETING)
    stale.full_name = "Alice Example"
    stale.save()
    assert _version(partner_admin) > stale.actor_version
    assert client.get(reverse("home")).context["actor"].partner_role == PartnerRole.MARKETING


def test_a_change_committed_while_an_actor_was_resolved_leaves_no_usable_entry(
    monkeypatch: Any, partner: Partner, partner_admin: User
) -> None:
    """A request whose user row was read before another transaction changed the membership stores
    what it resolved under the version it read: the next request reads the new version and
    resolves again."""
    from partners import middleware

    resolve = middleware.resolve_actor

    def resolve_then_another_transaction_commits(user: Any) -> Any:
        actor = resolve(user)
        raw('UPDATE "partners_membership" SET job_title = %s WHERE user_id = %s', ["Director", user.pk])
        return actor

    monkeypatch.setattr(middleware, "resolve_actor", resolve_then_another_transaction_commits)
    client = login(partner_admin)
    assert _membership_reads(client) == 1  # resolved, then the membership changed
    monkeypatch.setattr(middleware, "resolve_actor", resolve)
    assert _membership_reads(client) == 1
    assert _membership_reads(client) == 0


def test_a_version_a_rolled_back_change_took_is_never_taken_again(
    partner: Partner, partner_admin: User
) -> None:
    """An actor cached inside a transaction that then rolls back is keyed by the version that
    transaction took; a later change must take another number, or the entry (holding what the
    rolled-back change made) would be served for rows it does not describe."""
    from django.db import transaction

    client = login(partner_admin)
    before = _version(partner_admin)
    with transaction.atomic():
        Membership.objects.filter(user=partner_admin).update(role=PartnerRole.LEARNER)
        rolled_back = _version(partner_admin)
        assert client.get(reverse("home")).context["actor"].partner_role == PartnerRole.LEARNER  # cached
        transaction.set_rollback(True)
    assert _version(partner_admin) == before
    Membership.objects.filter(user=partner_admin).update(role=PartnerRole.MARKETING)
    assert _version(partner_admin) not in (before, rolled_back)
    assert client.get(reverse("home")).context["actor"].partner_role == PartnerRole.MARKETING


def test_each_request_gets_its_own_partner(partner: Partner, partner_admin: User) -> None:
    """A view that changes the actor's partner (a form bound to it, then refused) changes nothing
    the next request sees."""
    client = login(partner_admin)
    client.get("/healthz")
    first = client.get(reverse("home")).wsgi_request.actor
    first.partner.legal_name = "Changed in memory"
    second = client.get(reverse("home")).wsgi_request.actor
    assert second.partner is not first.partner
    assert second.partner.legal_name == partner.legal_name


def test_the_cache_holds_a_bounded_number_of_entries(monkeypatch: Any, partner: Partner) -> None:
    monkeypatch.setattr(actor_cache, "MAX_ENTRIES", 2)
    people = [factories.partner_user(partner, role=PartnerRole.SALES) for _ in range(3)]
    clients = [login(person) for person in people]
    for client in clients:
        client.get("/healthz")
    assert len(actor_cache._entries) == 2
    assert _membership_reads(clients[0]) == 1  # the least recently used went first
    assert _membership_reads(clients[2]) == 0
