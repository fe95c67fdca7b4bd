"""List pages and exports run a constant number of queries, however many rows they show (no N+1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from partners import services
from partners.models import Invitation, Membership, Partner, PartnerRole
from prm.models import Notification, User
from tests import factories
from tests.helpers import assert_constant_queries, in_element, login

pytestmark = pytest.mark.django_db

SANE_BOUND = 24  # fewer than 25 queries


def assert_constant(
    client: Client,
    url: str,
    grow: Callable[[], None],
    rows: Callable[[Any], int],
    shows: Callable[[], list[str]],
    params: dict | None = None,
    large: int = 50,
) -> None:
    """1 row, then ``large``, each named by ``shows()`` on the page, for the same few queries."""
    assert_constant_queries(
        client, url, grow, rows=rows, shows=shows, large=large, params=params, bound=SANE_BOUND
    )


def names(**filters: Any) -> Callable[[], list[str]]:
    """The names of the partners matching ``filters``: each must be on the page."""
    return lambda: list(Partner.objects.filter(**filters).values_list("legal_name", flat=True))


def titles(recipient: User) -> Callable[[], list[str]]:
    return lambda: list(Notification.objects.filter(recipient=recipient).values_list("title", flat=True))


def _probe_partners(program_admin: User, numbers: range) -> None:
    """Partners with people and a channel account manager: every column the list and export show."""
    admin_actor = factories.actor_for(program_admin)
    manager = factories.vendor_user("channel_account_manager")
    tiers = factories.default_tiers()
    for number in numbers:
        partner = factories.PartnerFactory(
            legal_name=f"Query Probe {number:03}", tier=tiers[number % len(tiers)]
        )
        factories.partner_user(partner)
        factories.partner_user(partner, role=PartnerRole.SALES)
        services.partner_assign_channel_manager(actor=admin_actor, partner=partner, manager=manager)


# The search keeps the page to this module's partners even if other suites left rows behind.
PROBES = {"q": "Query Probe"}


def _csv_rows(response: Any) -> int:
    return len(response.content.decode().strip().splitlines()) - 1


def test_vendor_partner_list_query_count_is_constant(program_admin: User) -> None:
    _probe_partners(program_admin, range(1))
    assert_constant(
        login(program_admin),
        reverse("vendor:partner_list"),
        grow=lambda: _probe_partners(program_admin, range(1, 50)),
        rows=lambda response: response.context["page"].paginator.count,
        shows=names(legal_name__startswith="Query Probe"),
        params=PROBES,
    )


def test_vendor_partner_list_unfiltered_query_count_is_constant(program_admin: User) -> None:
    _probe_partners(program_admin, range(1))
    assert_constant(
        login(program_admin),
        reverse("vendor:partner_list"),
        grow=lambda: _probe_partners(program_admin, range(1, 50)),
        rows=lambda response: len(response.context["page"].object_list),
        shows=names(),  # on this page of 25 and the next
        large=25,
    )


def test_vendor_partner_export_query_count_is_constant(program_admin: User) -> None:
    _probe_partners(program_admin, range(1))
    assert_constant(
        login(program_admin),
        reverse("vendor:partner_export"),
        grow=lambda: _probe_partners(program_admin, range(1, 50)),
        rows=_csv_rows,
        shows=names(legal_name__startswith="Query Probe"),
        params=PROBES,
    )


def test_cam_partner_list_query_count_is_constant(channel_manager: User) -> None:
    """The portfolio scope (a guardian permission subquery) must not add per-row queries either."""
    admin_actor = factories.vendor_actor()

    def add(count: int, start: int) -> None:
        for number in range(start, start + count):
            partner = factories.PartnerFactory(legal_name=f"Portfolio Probe {number:03}")
            factories.partner_user(partner)
            services.partner_assign_channel_manager(
                actor=admin_actor, partner=partner, manager=channel_manager
            )

    add(1, 0)
    assert_constant(
        login(channel_manager),
        reverse("vendor:partner_list"),
        grow=lambda: add(49, 1),
        rows=lambda response: response.context["page"].paginator.count,
        shows=names(channel_account_manager=channel_manager),
    )


def test_partner_team_page_query_count_is_constant(partner: Partner, partner_admin: User) -> None:
    actor = factories.actor_for(partner_admin)

    def grow() -> None:
        for number in range(49):
            user = factories.partner_user(
                partner, role=PartnerRole.SALES, email=f"member{number}@acme.example"
            )
            if number % 5 == 0:
                services.membership_deactivate(actor=actor, membership=user.membership)
        for number in range(10):
            services.invitation_create(
                actor=actor,
                partner=partner,
                email=f"invitee{number}@acme.example",
                role=PartnerRole.MARKETING,
            )

    def shows() -> list[Any]:
        """Each member's row with the member's name, and each open invitation's address."""
        members = Membership.objects.filter(partner=partner).values_list("pk", "user__full_name")
        invited = Invitation.objects.filter(partner=partner).values_list("email", flat=True)
        return [*(in_element(f"member-{pk}", name) for pk, name in members), *invited]

    assert_constant(
        login(partner_admin),
        reverse("partners:team"),
        grow=grow,
        rows=lambda response: response.context["page"].paginator.count,
        shows=shows,
    )


def test_partner_team_export_query_count_is_constant(partner: Partner, partner_admin: User) -> None:
    def grow() -> None:
        for number in range(49):
            factories.partner_user(partner, role=PartnerRole.SALES, email=f"member{number}@acme.example")

    assert_constant(
        login(partner_admin),
        reverse("partners:team_export"),
        grow=grow,
        rows=_csv_rows,
        shows=lambda: list(Membership.objects.filter(partner=partner).values_list("user__email", flat=True)),
    )


def test_notifications_page_query_count_is_constant(partner: Partner, partner_admin: User) -> None:
    def notify(count: int) -> None:
        for number in range(count):
            Notification.objects.create(
                recipient=partner_admin,
                partner_id=partner.pk,
                kind="test",
                title=f"Notification {number}",
                url=reverse("partners:team"),
            )

    notify(1)
    assert_constant(
        login(partner_admin),
        reverse("notifications"),
        grow=lambda: notify(49),
        rows=lambda response: response.context["page"].paginator.count,
        shows=titles(partner_admin),
    )


def test_vendor_notifications_page_query_count_is_constant(program_admin: User) -> None:
    def notify(count: int) -> None:
        for number in range(count):
            Notification.objects.create(recipient=program_admin, kind="test", title=f"Vendor note {number}")

    notify(1)
    assert_constant(
        login(program_admin),
        reverse("notifications"),
        grow=lambda: notify(49),
        rows=lambda response: response.context["page"].paginator.count,
        shows=titles(program_admin),
    )


def _profile_change_probes(manager: User, numbers: range) -> None:
    """Partners in ``manager``'s portfolio, each with a pending type/country/region request."""
    admin_actor = factories.vendor_actor()
    for number in numbers:
        partner = factories.PartnerFactory(legal_name=f"Change Probe {number:03}")
        admin = factories.partner_user(partner)
        services.partner_assign_channel_manager(actor=admin_actor, partner=partner, manager=manager)
        services.profile_change_request(
            actor=factories.actor_for(admin),
            partner=partner,
            data={"partner_type": "distributor", "country": "DE", "region": "emea"},
            message=f"Probe {number}",
        )


@pytest.mark.parametrize("who", ["program_admin", "channel_manager"])
def test_vendor_profile_change_list_query_count_is_constant(
    program_admin: User, channel_manager: User, who: str
) -> None:
    _profile_change_probes(channel_manager, range(1))
    viewer = {"program_admin": program_admin, "channel_manager": channel_manager}[who]
    assert_constant(
        login(viewer),
        reverse("vendor:profile_change_list"),
        grow=lambda: _profile_change_probes(channel_manager, range(1, 50)),
        rows=lambda response: response.context["page"].paginator.count,
        shows=names(profile_change_requests__isnull=False),
    )
