"""Customer names as the world writes them: conflict detection folds case, compatibility forms and
accents, keeps every script's letters, and compares the same way whatever the database's locale."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import psycopg
import pytest
from django.apps import apps
from django.db import connection

from deals import names, services
from deals.models import ConflictStatus, CustomerKey, Deal, DealConflict
from prm.errors import ApplicationError
from prm.tenancy import system_scope
from tests.deals import factories as f

# Two spellings of one company: the same key, or cores similar enough to be the same customer.
SAME = [
    # German
    ("Müller Logistik GmbH", "Muller Logistik"),
    ("Straße Bau AG", "Strasse Bau"),
    ("BÄCKEREI SCHÄFER KG", "Bäckerei Schäfer"),
    # French
    ("Société Générale", "Societe Generale SA"),
    ("Crédit Agricole S.A.", "CREDIT AGRICOLE"),
    ("Œuvre Française SARL", "Oeuvre Francaise"),
    # Nordic
    ("Bjørn Fisk AS", "Bjorn Fisk"),
    ("Ålesund Shipping ASA", "Alesund Shipping"),
    ("Bjørn Fisk", "Björn Fisk"),
    ("Kæmpe Bryg ApS", "Kaempe Bryg"),
    # Czech
    ("Škoda Auto a.s.", "Skoda Auto"),
    ("Dvořák s.r.o.", "Dvorak"),
    # Japanese: legal forms before or after the name, full-width letters, the ㈱ sign
    ("トヨタ自動車株式会社", "トヨタ自動車"),
    ("株式会社ソニー", "ソニー"),
    ("㈱ソニー", "ソニー"),
    ("ＴＯＹＯＴＡ", "Toyota"),
    # Chinese
    ("华为技术有限公司", "华为技术"),
    ("聯想集團有限公司", "聯想"),
    # Cyrillic
    ("ООО «Газпром»", "газпром"),
    ("Ёлка ЗАО", "Елка"),
    # Greek (accents and the final sigma)
    ("ΟΛΥΜΠΙΑΚΗ Α.Ε.", "Ολυμπιακή"),
    ("Ωμέγα Τεχνική", "Ωμεγα Τεχνικη"),
]

# Two companies: names one letter apart where the letter is a different letter.
DIFFERENT = [
    ("Müller Logistik", "Möller Logistik"),  # German: ü is not ö
    ("Bœuf Frères", "Bauf Frères"),
    ("Tørnby Handel", "Tårnby Handel"),  # Nordic: ø is not å
    ("Šebek Stavby", "Žebek Stavby"),  # Czech
    ("ガス東京", "カス東京"),  # Japanese: the voicing mark makes another letter
    ("東京電力", "東北電力"),  # Japanese: Tokyo and Tohoku
    ("华为技术", "中兴通讯"),  # Chinese
    ("Лукойл", "Роснефть"),
    ("Αθηνά Ναυτιλιακή", "Αθήνα Ναυτιλιακή"),  # Greek: accent on another letter is not a letter…
]


def _core(name: str) -> str:
    return names.split_company_key(names.normalise_company_name(name))[0]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_spellings_of_one_company_have_the_same_core(first: str, second: str) -> None:
    assert _core(first) == _core(second)
    assert _core(first)  # every script has letters to compare
    assert not names.differ_in_accented_letters(first, second)


@pytest.mark.parametrize(("first", "second"), DIFFERENT[:-1])
def test_different_companies_have_different_keys(first: str, second: str) -> None:
    assert names.normalise_company_name(first) != names.normalise_company_name(second)


def test_an_accent_on_another_letter_is_the_same_name() -> None:
    # "Αθηνά" and "Αθήνα" fold to the same letters: one company spelt two ways.
    first, second = DIFFERENT[-1]
    assert _core(first) == _core(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [("Müller Logistik", "Möller Logistik"), ("Tørnby Handel", "Tårnby Handel"), ("Šebek", "Žebek")],
)
def test_names_that_differ_in_an_accented_letter_are_two_companies(first: str, second: str) -> None:
    assert names.differ_in_accented_letters(first, second)


def test_keys_are_ascii_and_keep_names_apart_by_their_own_letters() -> None:
    for first, second in SAME + DIFFERENT:
        for name in (first, second):
            assert names.normalise_company_name(name).isascii()
    # Cyrillic "й" is a letter of its own, not "и" with an accent ("ё" is "е" with one).
    assert names.normalise_company_name("Йота") != names.normalise_company_name("Иота")
    assert names.normalise_company_name("Ёлка") == names.normalise_company_name("Елка")
    # Letters that are neighbours in Unicode share nothing in their codes.
    assert names._encode("ガ")[:4] != names._encode("カ")[:4]
    # Plain ASCII names keep the keys they always had.
    assert names.normalise_company_name("ACME Corporation Ltd.") == "acme"
    assert names.normalise_company_name("Initech GmbH & Co. KG") == "initech kg"
    assert names.split_company_key("initech kg")[0] == "initech"  # legal forms added later: the core
    assert names.split_company_key("asa foods")[0] == "asa"  # a first word is a name
    assert names.normalise_company_name("Engel Solutions S.A.S.") == "engel solutions s a s"


# --- through conflict detection ----------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Société Générale", "Societe Generale"),
        ("トヨタ自動車株式会社", "トヨタ自動車"),
        ("ООО Газпром", "Газпром"),
        ("Ολυμπιακή Α.Ε.", "ΟΛΥΜΠΙΑΚΗ"),
        ("Dvořák s.r.o.", "Dvorak"),
    ],
)
def test_another_partners_spelling_of_the_same_customer_is_flagged(
    team_a: f.Team, team_b: f.Team, first: str, second: str
) -> None:
    a_deal = f.submitted(team_a.sales_actor, customer=first, domain="first.example")
    b_deal = f.submitted(team_b.sales_actor, customer=second, domain="second.example")
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.UNDER_REVIEW
    conflict = DealConflict.objects.get(deal=b_deal)
    assert conflict.conflicting_deal_id == a_deal.pk
    assert conflict.name_similarity == pytest.approx(1.0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "second"),
    [("Müller Logistik", "Möller Logistik"), ("東京電力", "東北電力"), ("Лукойл", "Роснефть")],
)
def test_a_different_company_is_neither_refused_nor_flagged(
    team_a: f.Team, team_b: f.Team, first: str, second: str
) -> None:
    f.submitted(team_a.sales_actor, customer=first, domain="first.example")
    # The same partner registers the other company: not "already registered".
    mine = f.submitted(team_a.sales_actor, customer=second, domain="second.example")
    assert Deal.objects.get(pk=mine.pk).status == "submitted"
    # Another partner registers it: no conflict with the first company.
    theirs = f.submitted(team_b.sales_actor, customer=first + " Nord", domain="third.example")
    assert not DealConflict.objects.filter(deal=theirs, conflicting_deal=mine).exists()


@pytest.mark.django_db
def test_registering_your_own_customer_in_another_spelling_is_refused(team_a: f.Team) -> None:
    f.submitted(team_a.sales_actor, customer="Société Générale", domain="sg.example")
    again = f.draft(team_a.sales_actor, customer="SOCIETE GENERALE S.A.", domain="other.example")
    with f.acting(team_a.sales_actor), pytest.raises(ApplicationError) as excinfo:
        services.deal_submit(actor=team_a.sales_actor, deal=again)
    assert "already have a registration" in str(excinfo.value)


@pytest.mark.django_db
def test_names_stored_before_unicode_keys_are_keyed_again(team_a: f.Team) -> None:
    deal = f.submitted(team_a.sales_actor, customer="Société Générale", domain="sg.example")
    with system_scope():
        Deal.objects.filter(pk=deal.pk).update(customer_key="soci t g n rale")  # the old key
    migration = __import__("deals.migrations.0015_unicode_customer_keys", fromlist=["*"])
    migration.rekey_names_outside_ascii(apps, SimpleNamespace(connection=connection))
    with system_scope():
        assert Deal.objects.get(pk=deal.pk).customer_key == "societe generale"
    assert CustomerKey.objects.filter(key="societe generale", core="societe generale").exists()


# --- the same answers whatever the database's locale -------------------------------------------
@pytest.fixture(scope="module")
def databases_in_two_locales() -> Iterator[list[psycopg.Connection]]:
    """Two scratch databases on the test server, each with pg_trgm: one whose character classes
    are the C locale's (ASCII letters only) and one in a UTF-8 locale (C.UTF-8 where the server
    has it, else the server's default)."""
    settings = connection.settings_dict
    params = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
    }
    admin = psycopg.connect(dbname="postgres", autocommit=True, **params)
    created: list[str] = []
    opened: list[psycopg.Connection] = []

    def create(*clauses: str) -> psycopg.Connection:
        name = f"prm_trgm_{uuid.uuid4().hex[:10]}"
        for clause in clauses:
            try:
                admin.execute(f"CREATE DATABASE {name}{clause}")
                break
            except psycopg.errors.InvalidParameterValue:
                continue  # the server has no such locale: the next choice
        created.append(name)
        database = psycopg.connect(dbname=name, autocommit=True, **params)
        database.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        opened.append(database)
        return database

    template = " TEMPLATE template0 ENCODING 'UTF8'"
    try:
        yield [
            create(f" LC_CTYPE 'C' LC_COLLATE 'C'{template}"),
            create(f" LC_CTYPE 'C.UTF-8' LC_COLLATE 'C.UTF-8'{template}", ""),
        ]
    finally:
        for database in opened:
            database.close()
        for name in created:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def _similarities(database: psycopg.Connection, pairs: list[tuple[str, str]]) -> list[float]:
    return [round(database.execute("SELECT similarity(%s, %s)", (a, b)).fetchone()[0], 4) for a, b in pairs]


def test_trigram_similarity_of_keys_does_not_depend_on_the_locale(
    databases_in_two_locales: list[psycopg.Connection],
) -> None:
    c_locale, default_locale = databases_in_two_locales
    ctype = "SELECT datctype FROM pg_database WHERE datname = current_database()"
    assert c_locale.execute(ctype).fetchone()[0] == "C"
    cores = [(_core(a), _core(b)) for a, b in SAME + DIFFERENT]
    assert _similarities(c_locale, cores) == _similarities(default_locale, cores)
    # The raw names would not: under the C locale a Japanese name has no trigrams at all.
    assert c_locale.execute("SELECT show_trgm('東京電力')").fetchone()[0] == []
    assert c_locale.execute("SELECT show_trgm(%s)", (_core("東京電力"),)).fetchone()[0] != []
    threshold = 0.6
    for (a, b), similarity in zip(SAME, _similarities(c_locale, cores[: len(SAME)]), strict=True):
        assert similarity >= threshold, (a, b)
    different = _similarities(c_locale, cores[len(SAME) :])
    for (a, b), similarity in zip(DIFFERENT, different, strict=True):
        if names.normalise_company_name(a) != names.normalise_company_name(b):
            # Different letters: below the conflict threshold, or told apart by their accents.
            assert similarity < threshold or names.differ_in_accented_letters(a, b), (a, b)
