"""List pages and exports run a constant number of queries, however many rows they show (no N+1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners import services
from partners.models import Partner, PartnerRole
from prm.models import Notification, User
from tests import factories
from tests.exports import exported_with_queries, is_export

pytestmark = pytest.mark.django_db

SANE_BOUND = 25


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def count_queries(client: Client, url: str, params: dict | None = None) -> tuple[int, Any]:
    if is_export(url, params):
        return exported_with_queries(client, url, params)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {})
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == 200, response
    return len(context.captured_queries), response


def assert_constant(
    client: Client, url: str, grow: Callable[[], None], rows: Callable[[Any], int], params: dict | None = None
) -> None:
    count_queries(client, url, params)  # warm caches (content types, session) outside the measurement
    small, small_response = count_queries(client, url, params)
    grow()
    large, large_response = count_queries(client, url, params)
    assert rows(small_response) == 1
    assert rows(large_response) >= 25
    assert small == large, f"{url}: {small} queries for 1 row, {large} for {rows(large_response)} rows"
    assert large < SANE_BOUND, f"{url}: {large} queries"


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
        params=PROBES,
    )


def test_vendor_partner_list_unfiltered_query_count_is_constant(program_admin: User) -> None:
    _probe_partners(program_admin, range(1))
    client = login(program_admin)
    count_queries(client, reverse("vendor:partner_list"))
    small, _ = count_queries(client, reverse("vendor:partner_list"))
    _probe_partners(program_admin, range(1, 50))
    large, response = count_queries(client, reverse("vendor:partner_list"))
    assert len(response.context["page"].object_list) == 25
    assert small == large
    assert large < SANE_BOUND


def test_vendor_partner_export_query_count_is_constant(program_admin: User) -> None:
    _probe_partners(program_admin, range(1))
    assert_constant(
        login(program_admin),
        reverse("vendor:partner_export"),
        grow=lambda: _probe_partners(program_admin, range(1, 50)),
        rows=_csv_rows,
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

    assert_constant(
        login(partner_admin),
        reverse("partners:team"),
        grow=grow,
        rows=lambda response: len(response.context["members"]),
    )


def test_partner_team_export_query_count_is_constant(partner: Partner, partner_admin: User) -> None:
    def grow() -> None:
        for number in range(49):
            factories.partner_user(partner, role=PartnerRole.SALES, email=f"member{number}@acme.example")

    assert_constant(login(partner_admin), reverse("partners:team_export"), grow=grow, rows=_csv_rows)


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
    )
