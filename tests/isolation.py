"""Foreign-id requests as data, and the one runner that every isolation module uses.

Tenant isolation is the product's first rule: somebody who may not see a row (another partner, a
colleague without the role, a channel account manager outside the portfolio) gets the same answer
for its id as for an id that does not exist — a 404 — learns nothing of it and changes nothing.

An app's isolation module declares its foreign-id requests as a table of ``Case``s and turns the
table into a parametrized test with ``foreign_id_test``. For every person a case names, every
target it builds from the first partner's rows and every method, the runner checks that:

- each object in the URL is a real row (so the 404 is not merely "no such id"), and the URL
  reversed from the case's name resolves to the pattern the case declares;
- the answer has the expected status (404 unless the case says why not) and is the same answer,
  body and redirect, as for the same request with a missing id;
- the body holds none of the first partner's identifying text (the module's ``secrets``);
- nothing changed: each targeted row is as before after each request, and the module's
  ``state`` is as before after each person's requests;
- when the case names ``controls``, the same request by them is answered (200, 201 or a
  redirect), so the refusal above means something; these run last, as they may change things.

A module's world is built once for all its cases (``built_once``), inside a transaction rolled
back after the module's last case; each case runs in a savepoint of its own on a deep copy of the
world, as Django's ``TestCase.setUpTestData`` does, so what one case writes never reaches the next.

``tests/test_isolation_coverage.py`` walks the URL resolver and fails for every (pattern, method)
taking an object id that no generated test requests; it reads the tables, so it needs no test to
have run first.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.test import Client
from django.urls import resolve, reverse

from tests.helpers import login
from tests.scoping import acting, test_body_scope

MISSING_PK = 987_654_321
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Statuses other than 404 a case may expect, each only with a reason (Case.why): a 403 that every
# id gets alike (the role may not use the page at all), or the redirect to a sign-in page.
OTHER_STATUSES = frozenset({302, 403})

Targets = Callable[[Any, str], Iterable[Any]]
Data = Mapping[str, Any] | Callable[[Any, dict[str, Model]], Any] | None


@dataclass(frozen=True)
class Case:
    """One kind of foreign-id request.

    ``url`` is a URL name; ``args`` the names of its kwargs that hold objects; ``extra`` its other
    kwargs, fixed (an admin action's name, a format suffix). ``targets(world, who)`` yields, for
    the person ``who``, the objects to ask for: a model instance (for a single ``args`` entry) or
    a dict from each name in ``args`` to a model instance. ``data`` is the request body that would
    work for the owner: a mapping, or ``data(world, objects)`` called afresh for each request.
    """

    url: str
    methods: tuple[str, ...]
    who: tuple[str, ...]
    targets: Targets
    args: tuple[str, ...] = ("pk",)
    extra: Mapping[str, str] = field(default_factory=dict)
    data: Data = None
    status: int = 404
    why: str = ""
    redirect_to: str | None = None  # a URL name: a 302 must go to its path
    api: bool = False  # bearer token and JSON instead of a session and a form
    headers: Mapping[str, str] = field(default_factory=dict)
    keep: tuple[str, ...] = ()  # args the "missing id" request keeps (a content type, a vendor user)
    absent: tuple[str, ...] = ()  # more text the body must not hold (a file's magic bytes)
    controls: tuple[str, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        assert self.methods and set(self.methods) <= METHODS, (self.url, self.methods)
        assert self.who, f"{self.url}: a case names who asks"
        assert self.status == 404 or (self.status in OTHER_STATUSES and self.why), (
            f"{self.url}: a status other than 404 needs a reason (why=...)"
        )
        assert (self.status == 302) == bool(self.redirect_to), f"{self.url}: a 302 says where it goes"
        assert set(self.keep) < set(self.args), f"{self.url}: the missing-id request replaces an id"

    @property
    def id(self) -> str:
        suffix = f" {self.label}" if self.label else ""
        extra = "".join(f" {key}={value}" for key, value in sorted(self.extra.items()))
        return f"{'+'.join(self.methods)} {self.url}{extra}{suffix}"

    def route(self) -> str:
        """The resolver's route of the pattern this case requests."""
        return _route(self.url, tuple(self.args), tuple(sorted(self.extra.items())))

    def covers(self) -> set[tuple[str, str]]:
        return {(self.route(), method) for method in self.methods}


@cache
def _route(url: str, args: tuple[str, ...], extra: tuple[tuple[str, str], ...]) -> str:
    return resolve(reverse(url, kwargs={**dict.fromkeys(args, "1"), **dict(extra)})).route


def foreign_id_test(
    cases: list[Case],
    *,
    world: str,
    people: Mapping[str, Callable[[Any], Any]],
    secrets: Callable[[Any, str], Iterable[str]],
    state: Callable[[Any], Any],
    follow: Callable[[Any, str], str | None] | None = None,
) -> Callable[..., None]:
    """A parametrized test, one item per case, for a module to bind to a ``test_`` name.

    ``world`` names the fixture that builds the rows (``built_once``: once for all the cases);
    ``people`` maps each name a case uses to the
    user it is in that world; ``secrets(world, who)`` gives the strings that person must not
    see (the first partner's identifying text, or a colleague's rows);
    ``state`` snapshots everything a foreign request must leave as it was; ``follow(world, who)``
    names a page the asker opens next (a session's flashed messages show there), which must
    show none of the secrets either."""
    ids = [case.id for case in cases]
    assert len(set(ids)) == len(ids), "two cases with the same id: give one a label"
    for case in cases:
        unknown = set(case.who + case.controls) - set(people)
        assert not unknown, f"{case.id}: nobody called {unknown}"

    # The world is asked for by name in the test's setup (not from its body): a world built once
    # must be in place before the case's own transaction opens, to outlive it.
    @pytest.mark.django_db
    @pytest.mark.usefixtures(world)
    @pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in cases])
    def test(case: Case, request: pytest.FixtureRequest) -> None:
        # A copy: what a case changes on the world's objects in memory (a login's last_login)
        # must not reach the next case, which shares the world when it is built once.
        value = copy.deepcopy(request.getfixturevalue(world))
        run(case, value, people=people, secrets=secrets, state=state, follow=follow)

    test.__isolation_cases__ = tuple(cases)  # type: ignore[attr-defined]
    return test


# (module, fixture name) of every world built once, with how deep it nests: 1 for a world, 2 for
# one built on top of a world, ... (tests/conftest.py runs a module's tests in that order).
BUILT_ONCE: dict[tuple[str, str], int] = {}


def built_once(build: Callable[..., Any]) -> Any:
    """A module-scoped fixture, named after ``build``, holding the world ``build()`` returns (or
    yields, to clean up after the module, as a fixture would): built once for all the module's
    tests that ask for it instead of once per test, which spent most of their time building it.

    It is built in a transaction of its own, in the test body's scope (tests/scoping.py), and
    rolled back after the module's last test. Each test's ``django_db`` transaction nests in it as
    a savepoint, rolled back after the test, so the tests see the world as built and never each
    other's writes -- Django's ``TestCase.setUpTestData``; a test that changes the world's objects
    in memory must work on a deep copy (``foreign_id_test`` hands each case one). The tests of a
    module that do not ask for the world run before those that do (tests/conftest.py), so they
    never see it.

    ``build`` asks for no function-scoped fixture (a fixture's settings change would be undone
    after the first test): it calls the factories itself. Its parameters may name worlds built
    once before it, in the same module: it is built on top of them (in a savepoint of their
    transaction) and its tests run after theirs."""
    wanted = tuple(inspect.signature(build).parameters)
    depth = 1 + max((BUILT_ONCE[build.__module__, name] for name in wanted), default=0)
    BUILT_ONCE[build.__module__, build.__name__] = depth

    def steps(worlds: dict[str, Any]) -> Iterator[Any]:
        if inspect.isgeneratorfunction(build):
            yield from build(**worlds)
        else:
            yield build(**worlds)

    @pytest.fixture(scope="module", name=build.__name__)
    def fixture(
        django_db_setup: None, django_db_blocker: Any, request: pytest.FixtureRequest
    ) -> Iterator[Any]:
        # The worlds this one builds on first: their transactions are already open, ours nests.
        built = steps({name: request.getfixturevalue(name) for name in wanted})
        with django_db_blocker.unblock():
            outer = transaction.atomic()
            outer.__enter__()
            try:
                with test_body_scope(connection):
                    world = next(built)
            except BaseException as error:
                outer.__exit__(type(error), error, error.__traceback__)
                raise
        try:
            yield world
        finally:
            with django_db_blocker.unblock():
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)
            next(built, None)  # the builder's own clean-up, after the rows are gone

    return fixture


# --- the runner ---------------------------------------------------------------------------------
def run(
    case: Case,
    world: Any,
    *,
    people: Mapping[str, Callable[[Any], Any]],
    secrets: Callable[[Any, str], Iterable[str]],
    state: Callable[[Any], Any],
    follow: Callable[[Any, str], str | None] | None = None,
) -> None:
    clients = {who: _client(people[who](world), api=case.api) for who in case.who}
    problems: list[str] = []
    requests = 0
    for who, client in clients.items():
        forbidden = [text for text in secrets(world, who) if text]
        before = state(world)
        missing: dict[tuple[str, str], tuple[Any, ...]] = {}  # the same for every target
        for target in case.targets(world, who):
            objects = _objects(case, target)
            for method in case.methods:
                requests += 1
                problems += _check(case, client, method, objects, who, world, forbidden, missing)
        if state(world) != before:
            problems.append(f"{case.id} as {who}: changed something (the module's state)")
        page = follow(world, who) if follow and not case.api else None
        if page:  # nothing was queued for later either (a flashed message naming the row)
            response = client.get(reverse(page))
            text = _read(response)
            if response.status_code != 200:
                problems.append(f"then {page} as {who}: {response.status_code}")
            problems += [f"then {page} as {who}: shows {secret!r}" for secret in forbidden if secret in text]
    assert requests, f"{case.id}: no request was made (the targets are empty)"
    assert not problems, "\n".join(problems)
    # The same request (the first person's first target) by somebody who may make it.
    objects = _objects(case, next(iter(case.targets(world, case.who[0]))))
    for who in case.controls:
        client = _client(people[who](world), api=case.api)
        for method in case.methods:
            response = _send(case, client, method, _url(case, objects), world, objects)
            _read(response)
            assert response.status_code in {200, 201, 302}, (
                f"control: {method} {case.url} as {who} answers {response.status_code}"
            )


def _check(
    case: Case,
    client: Client,
    method: str,
    objects: dict[str, Model],
    who: str,
    world: Any,
    forbidden: list[str],
    missing: dict[tuple[str, str], tuple[Any, ...]],
) -> list[str]:
    url = _url(case, objects)
    where = f"{method} {url} ({case.url}) as {who}"
    rows = _rows(objects)
    theirs = _send(case, client, method, url, world, objects)
    missing_url = _url(case, objects, missing=True)
    if (method, missing_url) not in missing:
        response = _send(case, client, method, missing_url, world, objects)
        missing[method, missing_url] = _answer(response, missing_url)
    expected = missing[method, missing_url]
    problems = []
    if theirs.status_code != case.status:
        problems.append(f"{where}: {theirs.status_code}, not {case.status}")
    if case.redirect_to and not theirs.get("Location", "").startswith(reverse(case.redirect_to)):
        problems.append(f"{where}: goes to {theirs.get('Location')}, not {case.redirect_to}")
    if expected != _answer(theirs, url):
        problems.append(f"{where}: answers otherwise than for a missing id ({expected[0]})")
    text = _read(theirs) + " ".join(str(value) for value in theirs.headers.values())
    problems += [f"{where}: shows {secret!r}" for secret in [*forbidden, *case.absent] if secret in text]
    if _rows(objects) != rows:
        problems.append(f"{where}: changed the row")
    return problems


def _objects(case: Case, target: Any) -> dict[str, Model]:
    objects = target if isinstance(target, dict) else {case.args[0]: target}
    assert set(objects) == set(case.args), f"{case.id}: targets give {set(objects)}, not {case.args}"
    for name, obj in objects.items():
        assert isinstance(obj, Model) and obj.pk is not None, f"{case.id}: {name} is not a saved row"
        assert type(obj)._default_manager.filter(pk=obj.pk).exists(), f"{case.id}: {obj!r} is gone"
    return objects


def _url(case: Case, objects: dict[str, Model], *, missing: bool = False) -> str:
    kwargs = {
        name: MISSING_PK if missing and name not in case.keep else obj.pk for name, obj in objects.items()
    }
    url = reverse(case.url, kwargs={**kwargs, **case.extra})
    assert resolve(url).route == case.route(), f"{url} is not {case.url}'s pattern"
    return url


def _rows(objects: dict[str, Model]) -> dict[str, Any]:
    return {
        name: type(obj)._default_manager.filter(pk=obj.pk).values().first() for name, obj in objects.items()
    }


def _client(user: Any, *, api: bool) -> Client:
    if not api:
        return login(user)
    from partners.middleware import resolve_actor
    from prm.api import token_issue

    actor = resolve_actor(user)
    with acting(actor):  # issued on the tokens page, in its owner's scope
        _token, secret = token_issue(user=user, name="isolation", partner_id=actor.partner_id)
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _send(case: Case, client: Client, method: str, url: str, world: Any, objects: dict[str, Model]) -> Any:
    data = (case.data(world, objects) if callable(case.data) else case.data) or {}
    send = getattr(client, method.lower())
    if method == "GET":
        return send(url, headers=case.headers)
    if case.api:
        return send(url, json.dumps(data), content_type="application/json", headers=case.headers)
    if method == "POST":
        return send(url, data, headers=case.headers)
    return send(url, data, content_type="application/x-www-form-urlencoded", headers=case.headers)


def _read(response: Any) -> str:
    """The body (a streamed one read to the end once, which also closes its file)."""
    if getattr(response, "streaming", False):
        if not hasattr(response, "_isolation_body"):
            response._isolation_body = b"".join(response.streaming_content)
        return response._isolation_body.decode(errors="replace")
    return response.content.decode(errors="replace")


def _answer(response: Any, url: str) -> tuple[Any, ...]:
    """What a response tells, without what differs between any two requests (CSRF tokens) and
    the address that was asked for (a sign-in redirect repeats it)."""

    def plain(text: str) -> str:
        for form in (quote(url, safe=""), quote(url), url):
            text = text.replace(form, "<url>")
        return re.sub(r"[A-Za-z0-9]{64}", "<token>", text)

    body = _read(response)
    if response.get("Content-Type", "").startswith("application/json"):
        body = json.dumps(json.loads(body or "null"), sort_keys=True)
    return (
        response.status_code,
        plain(response.get("Location", "")),
        response.get("Content-Type"),
        response.get("Content-Disposition"),
        plain(body),
    )


# --- the admin's generic object pages -----------------------------------------------------------
PARTNERS_OUT_OF_THE_ADMIN = (
    "partner users cannot reach the admin at all: for any address it sends them to its sign-in "
    "page, which refuses them"
)
ADMIN_VIEWS = {"change": ("GET", "POST"), "delete": ("GET", "POST"), "history": ("GET",)}


def admin_cases(
    model: str,
    targets: Targets,
    *,
    outsiders: tuple[str, ...],
    partners: tuple[str, ...],
    refused: Mapping[str, str] | None = None,
    controls: tuple[str, ...] = (),
) -> list[Case]:
    """The admin's change, delete and history pages of a tenant-owned model ("app.model"), asked
    by vendor staff who may not see the row (``outsiders``: a CAM outside the portfolio) and by
    partner users. ``refused`` maps "view" or "view METHOD" to the reason an outsider gets the
    same 403 for every id instead (the role may not use that page for any row); ``controls`` may
    open the change and history pages (GET)."""
    app_label, model_name = model.split(".")
    refused = refused or {}
    cases = []
    for view, methods in ADMIN_VIEWS.items():
        url = f"admin:{app_label}_{model_name}_{view}"
        by_status: dict[str, list[str]] = {}
        for method in methods:
            by_status.setdefault(refused.get(f"{view} {method}", refused.get(view, "")), []).append(method)
        for why, same in by_status.items():
            cases.append(
                Case(
                    url,
                    tuple(same),
                    outsiders,
                    targets,
                    args=("object_id",),
                    status=403 if why else 404,
                    why=why,
                    controls=controls if same == ["GET"] else (),
                    label="outsider",
                )
            )
        cases.append(
            Case(
                url,
                methods,
                partners,
                targets,
                args=("object_id",),
                status=302,
                redirect_to="admin:login",
                why=PARTNERS_OUT_OF_THE_ADMIN,
                label="partner",
            )
        )
    unused = set(refused) - {f"{v} {m}" for v, ms in ADMIN_VIEWS.items() for m in ms} - set(ADMIN_VIEWS)
    assert not unused, unused
    return cases
