"""Isolation of the kernel's own pages: notifications, API tokens, and the admin's notification and
"view on site" pages.

Partner A ("Acme Networks") has an admin with a notification and an API token, and a sales user.
Partner B ("Globex Systems") has an admin and a channel account manager whose portfolio is B.
Notifications, tokens and CSV export jobs are their owner's own: B's admin, A's sales colleague
and B's manager asking for A's admin's ids get the same 404 as for a missing id, and nothing
changes (the table ``FOREIGN_IDS``, run by tests/isolation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from partners.models import Partner, PartnerRole
from prm.api import token_issue
from prm.models import ApiToken, AuditEvent, ExportJob, Notification
from tests import factories
from tests.deals.factories import cam_for
from tests.exports import start
from tests.helpers import login
from tests.isolation import Case, admin_cases, built_once, foreign_id_test
from tests.scoping import acting

pytestmark = pytest.mark.django_db


@dataclass
class World:
    a: Partner
    a_admin: Any
    a_sales: Any
    notification: Notification
    token: ApiToken
    export: ExportJob
    b_admin: Any
    b_cam: Any


@built_once
def world() -> World:
    """Built once for all the cases."""
    a = factories.PartnerFactory(legal_name="Acme Networks")
    b = factories.PartnerFactory(legal_name="Globex Systems")
    a_admin = factories.partner_user(a, email="alice@acme.example", full_name="Alice Acmeson")
    notification = Notification.objects.create(
        recipient=a_admin,
        partner_id=a.pk,
        kind="test",
        title="Acme secret pipeline review",
        url="/deals/",
    )
    with acting(factories.actor_for(a_admin)):  # issued on the tokens page, in Alice's scope
        token, _secret = token_issue(user=a_admin, name="Acme CRM sync", partner_id=a.pk)
    # Alice's team export, queued by its button and built by the task, as in production.
    _response, job_id = start(login(a_admin), reverse("partners:team_export"))
    export = ExportJob.objects.get(pk=job_id)
    assert export.status == ExportJob.Status.DONE
    return World(
        a=a,
        a_admin=a_admin,
        a_sales=factories.partner_user(a, role=PartnerRole.SALES, email="sam@acme.example"),
        notification=notification,
        token=token,
        export=export,
        b_admin=factories.partner_user(b, email="bob@globex.example"),
        b_cam=cam_for(b).user,
    )


def state(world: World) -> dict[str, Any]:
    return {
        "notifications": list(Notification.objects.order_by("pk").values()),
        "tokens": list(ApiToken.objects.filter(user=world.a_admin).values()),
        "exports": list(ExportJob.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.filter(partner_id=world.a.pk).count(),
    }


PEOPLE = {
    "b_admin": lambda w: w.b_admin,
    "a_sales": lambda w: w.a_sales,
    "b_cam": lambda w: w.b_cam,
    "a_admin": lambda w: w.a_admin,
}


def _on_site(world: World, _who: str) -> list[dict[str, Any]]:
    """A's rows through the admin's "view on site" shortcut, which looks any object up by its
    content type."""
    rows = [world.a, world.notification, world.a_admin.membership]
    return [{"content_type_id": ContentType.objects.get_for_model(row), "object_id": row} for row in rows]


FOREIGN_IDS = [
    Case(
        "notification_open",
        ("GET", "POST"),
        ("b_admin", "a_sales", "b_cam"),
        lambda w, _who: [w.notification],
        controls=("a_admin",),
    ),
    Case(
        "api_token_revoke",
        ("POST",),
        ("b_admin", "a_sales", "b_cam"),
        lambda w, _who: [w.token],
        controls=("a_admin",),
    ),
    Case(
        "export_row",
        ("GET", "POST"),
        ("b_admin", "a_sales", "b_cam"),
        lambda w, _who: [w.export],
        controls=("a_admin",),
    ),
    Case(
        "export_download",
        ("GET", "POST"),
        ("b_admin", "a_sales", "b_cam"),
        lambda w, _who: [w.export],
        absent=("name,email,role",),  # the team file's header row
        controls=("a_admin",),
    ),
    *admin_cases(
        "prm.notification", lambda w, _who: [w.notification], outsiders=("b_cam",), partners=("b_admin",)
    ),
    Case(
        "admin:view_on_site",
        ("GET", "POST"),
        ("b_cam",),
        _on_site,
        args=("content_type_id", "object_id"),
        keep=("content_type_id",),
        label="outsider",
    ),
    Case(
        "admin:view_on_site",
        ("GET", "POST"),
        ("b_admin",),
        _on_site,
        args=("content_type_id", "object_id"),
        keep=("content_type_id",),
        status=302,
        redirect_to="admin:login",
        why="partner users cannot reach the admin at all",
        label="partner",
    ),
]

test_foreign_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    FOREIGN_IDS,
    world="world",
    people=PEOPLE,
    secrets=lambda w, _who: [
        w.a.legal_name,
        w.a_admin.email,
        w.a_admin.full_name,
        w.notification.title,
        w.token.name,
        w.token.prefix,
    ],
    state=state,
)
