"""The PDF statement is rendered once per version of what it shows — in practice once per state
(draft, approved, paid) — kept in the default storage, and served only through the policy-checked
download view."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from pypdf import PdfReader

from incentives import services
from incentives.models import Statement
from prm.money import format_money
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.helpers import login
from tests.incentives import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every WeasyPrint rendering in the test (the real one still runs), with a storage of the
    test's own."""
    from weasyprint import HTML

    factories.media_storage(settings, tmp_path / "media")
    calls: list[Any] = []
    real = HTML.write_pdf

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", counting)
    return calls


@pytest.fixture
def statement(team_a: df.Team, team_b: df.Team, vendor_admin: Actor) -> Statement:
    f.spif(name="Security SPIF", amount="250.00")
    for team, customer in ((team_a, "Initech"), (team_b, "Globex")):
        deal = f.won(team, vendor_admin, "1000.00", customer=customer, domain=f"{customer.lower()}.com")
        f.accrue(deal)
    f.settle(f.today())
    return Statement.objects.get(partner=team_a.partner)


def text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def download(user: Any, statement: Statement) -> Any:
    return login(user).get(reverse("incentives:statement_pdf", args=[statement.pk]))


def test_a_second_download_is_served_without_rendering_again(
    statement: Statement, team_a: df.Team, finance: Actor, renders: list[Any], tmp_path: Path
) -> None:
    first = download(team_a.admin, statement)
    again = download(team_a.admin, statement)
    by_finance = download(finance.user, statement)
    assert [r.status_code for r in (first, again, by_finance)] == [200, 200, 200]
    assert len(renders) == 1
    assert again.content == first.content == by_finance.content
    assert statement.number in text(again.content) and "Draft" in text(again.content)
    stored = factories.stored_files(tmp_path / "media")
    assert len(stored) == 1 and stored[0].startswith(f"rendered/incentives/statements/{statement.pk}/")


def test_each_state_of_the_statement_is_rendered_once(
    statement: Statement,
    team_a: df.Team,
    finance: Actor,
    other_finance: Actor,
    renders: list[Any],
    tmp_path: Path,
) -> None:
    assert "Draft" in text(download(team_a.admin, statement).content)
    services.statement_approve(actor=finance, statement=statement)
    approved = download(team_a.admin, statement)
    assert "Approved" in text(approved.content)
    assert download(team_a.admin, statement).content == approved.content
    assert len(renders) == 2
    services.statement_mark_paid(actor=other_finance, statement=statement, payment_reference="WIRE-77")
    paid = text(download(team_a.admin, statement).content)
    assert "Paid" in paid and "WIRE-77" in paid
    download(finance.user, statement)
    assert len(renders) == 3
    # Only the current version is kept.
    assert len(factories.stored_files(tmp_path / "media")) == 1


def test_the_stored_statement_is_only_served_through_the_checked_view(
    statement: Statement, team_a: df.Team, team_b: df.Team, renders: list[Any], tmp_path: Path
) -> None:
    assert download(team_a.admin, statement).status_code == 200
    (name,) = factories.stored_files(tmp_path / "media")
    # Partner B, and partner A's sales user, get the same 404 as for a statement that does not
    # exist, and no address serves the stored file directly.
    assert download(team_b.admin, statement).status_code == 404
    assert download(team_a.sales, statement).status_code == 404
    assert login(team_b.admin).get(settings.MEDIA_URL + name).status_code == 404
    assert Client().get(settings.MEDIA_URL + name).status_code == 404
    assert len(renders) == 1


def test_a_german_partner_admin_downloads_a_german_statement(
    german: dict, statement: Statement, team_a: df.Team, finance: Actor, renders: list[Any]
) -> None:
    """Issue 14: words, dates and amounts in the reader's language, whatever the browser says."""
    team_a.admin.language = "de"
    team_a.admin.save(update_fields=["language"])
    response = login(team_a.admin, HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("incentives:statement_pdf", args=[statement.pk])
    )
    assert response.status_code == 200
    german_text = text(response.content)
    assert (
        "Provisionsabrechnung" in german_text
        and "Periodenende" in german_text
        and "Gesamtsumme" in german_text
    )
    with translation.override("de"):
        total = format_money(statement.total, statement.currency)
        period_end = date_format(statement.period_end, "DATE_FORMAT")
    assert "," in total and total.replace("\xa0", " ") in german_text.replace("\xa0", " ")
    assert period_end in german_text
    # The same statement downloaded by English-speaking finance staff is English.
    english = text(download(finance.user, statement).content)
    assert "Incentive statement" in english and "Provisionsabrechnung" not in english
