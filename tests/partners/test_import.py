"""Importing an existing partner base from CSV: all or nothing, every wrong row named with its
line, each partner in onboarding on its tier with its manager, its admin invited."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partners.imports import partner_import_csv
from partners.models import Invitation, Partner, PartnerStatus
from prm.errors import ApplicationError
from prm.models import AuditEvent
from prm.roles import VendorRole
from tests import factories
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db

HEADER = (
    "legal_name,country,region,admin_email,admin_name,partner_type,tier,website_domain,phone,"
    "channel_manager_email\n"
)


@pytest.fixture
def admin_actor(db: Any) -> Any:
    factories.default_tiers()
    return factories.vendor_actor(VendorRole.PROGRAM_ADMIN)


def _csv(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def test_a_good_file_creates_partners_and_invites_their_admins(
    admin_actor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    content = _csv(
        "Contoso Networks Ltd,GB,emea,ops@contoso.example,Casey Jones,reseller,Silver,"
        f"https://www.contoso.example,,{cam.email}",
        "Fabrikam Inc,US,na,it@fabrikam.example,,msp,,,+1 555 0100,",
    )
    with django_capture_on_commit_callbacks(execute=True), acting(admin_actor):  # as the import page
        result = partner_import_csv(actor=admin_actor, content=content)
    assert result.errors == []
    contoso, fabrikam = sorted(result.created, key=lambda p: p.legal_name)
    assert (contoso.status, contoso.tier.name, contoso.website_domain) == (
        PartnerStatus.ONBOARDING,
        "Silver",
        "contoso.example",
    )
    assert contoso.channel_account_manager_id == cam.pk
    assert fabrikam.tier.rank == min(t.rank for t in type(fabrikam.tier).objects.all())  # the entry tier
    assert set(Invitation.objects.filter(partner__in=result.created).values_list("email", flat=True)) == {
        "ops@contoso.example",
        "it@fabrikam.example",
    }
    assert {m.to[0] for m in mail.outbox} >= {"ops@contoso.example", "it@fabrikam.example"}
    imported = AuditEvent.objects.filter(action="partner.imported", partner_id__in=[contoso.pk, fabrikam.pk])
    assert imported.count() == 2


def test_any_wrong_row_imports_nothing_and_every_problem_is_named(admin_actor: Any) -> None:
    factories.PartnerFactory(legal_name="Existing Co", website_domain="existing.example")
    factories.partner_user(factories.PartnerFactory(), email="taken@example.com")
    content = _csv(
        "Good One,US,na,good@one.example,,,,,,",  # line 2: fine
        "Bad Country,XX,na,a@b.example,,,,,,",  # line 3
        "Bad Region,US,mars,c@d.example,,,,,,",  # line 4
        "No Email,US,na,,,,,,,",  # line 5
        "Bad Tier,US,na,e@f.example,,,Diamond,,,",  # line 6
        "existing co,US,na,g@h.example,,,,,,",  # line 7: name taken (any case)
        "Taken Email,US,na,taken@example.com,,,,,,",  # line 8
        "Good One,US,na,other@one.example,,,,,,",  # line 9: same company as line 2
        "Bad Manager,US,na,i@j.example,,,,,,nobody@prm.example",  # line 10
        "Bad Type,US,na,k@l.example,,unicorn,,,,",  # line 11
    )
    with acting(admin_actor):  # as the import page runs it
        result = partner_import_csv(actor=admin_actor, content=content)
    lines = [line for line, _message in result.errors]
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    messages = dict(result.errors)
    assert "XX" in messages[3] and "mars" in messages[4] and "admin_email" in messages[5]
    assert "Diamond" in messages[6] and "already exists" in messages[7]
    assert "already has a portal account" in messages[8] and "line 2" in messages[9]
    assert result.created == []
    assert not Partner.objects.filter(legal_name="Good One").exists()
    emails = ["good@one.example", "a@b.example", "c@d.example", "e@f.example", "g@h.example"]
    emails += ["taken@example.com", "other@one.example", "i@j.example", "k@l.example"]
    assert not Invitation.objects.filter(email__in=emails).exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"name,email\nx,y\n", "first line must name the columns"),
        (HEADER.encode(), "no rows"),
    ],
)
def test_unreadable_files_are_refused(admin_actor: Any, content: bytes, message: str) -> None:
    with pytest.raises(ApplicationError, match=message):
        partner_import_csv(actor=admin_actor, content=content)


def test_only_program_admins_import(db: Any) -> None:
    factories.default_tiers()
    cam = factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    with pytest.raises(ApplicationError):
        partner_import_csv(actor=cam, content=_csv("X,US,na,x@y.example,,,,,,"))
    client = login(cam.user)
    response = client.get(reverse("vendor:partner_import"))
    assert response.status_code == 302
    partner_admin = factories.partner_user(factories.PartnerFactory())
    client = login(partner_admin)
    assert client.get(reverse("vendor:partner_import")).status_code in (403, 404)


def test_the_page_reports_rows_and_imports(admin_actor: Any) -> None:
    client = login(admin_actor.user)
    page = client.get(reverse("vendor:partner_import"))
    assert page.status_code == 200 and "legal_name" in page.content.decode()
    bad = SimpleUploadedFile("p.csv", _csv("Bad,XX,na,a@b.example,,,,,,"), content_type="text/csv")
    response = client.post(reverse("vendor:partner_import"), {"file": bad})
    assert response.status_code == 400
    assert "Nothing was imported" in response.content.decode()
    good = SimpleUploadedFile(
        "p.csv", _csv("Contoso,GB,emea,ops@contoso.example,,,,,,"), content_type="text/csv"
    )
    response = client.post(reverse("vendor:partner_import"), {"file": good}, follow=True)
    assert "1 partner imported in onboarding" in response.content.decode()
    assert Partner.objects.filter(legal_name="Contoso", status=PartnerStatus.ONBOARDING).exists()
