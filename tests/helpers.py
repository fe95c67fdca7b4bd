"""What the tests of every app share: signing in, counting a page's queries, raw SQL in a database
scope, and racing transactions. One copy each, so a fix to one reaches every app's tests."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.paginator import Page
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from prm.errors import ApplicationError
from prm.tenancy import Actor, Scope, tenant_scope
from tests.exports import exported_with_queries, is_export


# --- signing in ----------------------------------------------------------------------------------
def login(who: Any, **client_kwargs: Any) -> Client:
    """A fresh test client signed in as ``who`` (a user, or an actor's user). ``client_kwargs`` go to
    ``Client``: ``raise_request_exception=False`` turns a crash into a 500 response to assert on."""
    user = who.user if isinstance(who, Actor) else who
    client = Client(**client_kwargs)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


# --- query counts --------------------------------------------------------------------------------
SANE_BOUND = 30


@dataclass
class Measured:
    """One GET: how many queries it ran, the response, and its body as a reader sees it."""

    queries: int
    response: Any
    text: str


def body_text(response: Any) -> str:
    """The body, streamed or not; HTML entities decoded so a name with an apostrophe matches."""
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    text = content.decode()
    return html.unescape(text) if "html" in response.get("Content-Type", "") else text


def count_queries(client: Client, url: str, params: dict | None = None) -> Measured:
    """GET ``url`` and count its queries, reading a streamed body inside the measurement. For an
    export button's target, post it and count the queries of the build task it queues (the file
    is built there, not in the request: tests/exports.py), with the finished file as the body."""
    if is_export(url, params):
        queries, built = exported_with_queries(client, url, params)
        return Measured(queries, built, body_text(built))
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {})
        text = body_text(response)
    assert response.status_code == 200, response
    return Measured(len(context.captured_queries), response, text)


Shown = str | re.Pattern[str]


def missing_from(text: str, shown: Iterable[Shown]) -> list[Shown]:
    """What of ``shown`` ``text`` lacks: a string as a whole word ("Probe 1" is not in "Probe 10"),
    a pattern (a total next to its label, say) as it is."""
    return [
        item
        for item in shown
        if not (
            item if isinstance(item, re.Pattern) else re.compile(rf"(?<!\w){re.escape(item)}(?!\w)")
        ).search(text)
    ]


def assert_shows(text: str, shown: Collection[Shown], *, what: str = "page") -> None:
    assert shown, f"the {what} is checked against no rows at all"
    missing = missing_from(text, shown)
    assert not missing, f"the {what} does not show {len(missing)} of {len(shown)} rows: {missing[:5]}"


def in_element(element_id: str, content: str) -> re.Pattern[str]:
    """``content`` as a tag's whole text inside the element ``id="element_id"``, before the next
    element with an id: a card's title, not the same title in another list on the page."""
    return re.compile(rf'\bid="{re.escape(element_id)}"(?:(?!\sid=").)*?>{re.escape(content)}<', re.S)


def element(text: str, element_id: str) -> str:
    """The part of an HTML ``text`` inside the element with ``element_id`` (up to the first closing
    tag of its kind: enough for a table or a list), so a name in a filter box does not count."""
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"', text)
    assert match, f'no element id="{element_id}" on the page'
    end = text.find(f"</{match.group(1)}>", match.end())
    return text[match.start() : end if end != -1 else len(text)]


def every_page(client: Client, url: str, params: dict | None, first: Measured) -> list[str]:
    """The measured page's text and, on a paginated list (a ``page`` in the context), the text of
    the pages after it too (fetched outside the measurement), so every row can be looked for."""
    texts = [first.text]
    page = (getattr(first.response, "context", None) or {}).get("page")
    if isinstance(page, Page):
        for number in range(2, page.paginator.num_pages + 1):
            response = client.get(url, {**(params or {}), "page": number})
            assert response.status_code == 200, response
            texts.append(body_text(response))
    return texts


def assert_constant_queries(
    client: Client,
    url: str,
    grow: Callable[[], Any],
    *,
    rows: Callable[[Any], Any],
    shows: Callable[[], Collection[Shown]],
    small: Any = 1,
    large: Any = 50,
    params: dict | None = None,
    bound: int = SANE_BOUND,
    warm: bool = True,
    within: str | None = None,
) -> None:
    """The page at ``url`` runs as many queries before ``grow()`` as after it, at most ``bound``.

    ``rows(response)`` must be ``small`` before and ``large`` after: the page lists what was made.
    ``shows()``, read from the database before each measurement, names every row the page must
    render (a reference, a title, a name; a pattern for a total): each must be in the body (on one
    of its pages, inside the element ``within`` if given), so a page that renders nothing cannot
    pass with a constant count."""
    if warm:
        count_queries(client, url, params)  # content types, session: cached outside the measurement

    def measure(when: str) -> Measured:
        expected = shows()
        measured = count_queries(client, url, params)
        texts = every_page(client, url, params, measured)
        text = "\n".join(element(page, within) for page in texts) if within else "\n".join(texts)
        assert_shows(text, expected, what=f"{url} {when} growing")
        return measured

    few = measure("before")
    grow()
    many = measure("after")
    assert rows(few.response) == small
    assert rows(many.response) == large
    assert few.queries == many.queries, (
        f"{url}: {few.queries} queries for {small}, {many.queries} for {large}"
    )
    assert many.queries <= bound, f"{url}: {many.queries} queries"


# --- raw SQL in a database scope -----------------------------------------------------------------
class _Current:
    def __repr__(self) -> str:
        return "CURRENT"


CURRENT: Any = _Current()  # the scope the test body is in (the vendor's, or an enclosing block's)


def raw(sql: str, params: Sequence[Any] | None = None, *, scope: Scope | None = CURRENT) -> list[tuple]:
    """Run ``sql`` past the ORM, as a hand-written query or a compromised view would, in ``scope``
    (``None``: no scope at all; by default the test body's, which is vendor-wide for a statement
    of its own: tests/scoping.py) and return its rows."""
    if scope is CURRENT:
        with connection.cursor() as cursor:
            cursor.execute(sql, None if params is None else list(params))  # None: '%' is literal
            return cursor.fetchall() if cursor.description else []
    with tenant_scope(scope):
        return raw(sql, params)


def count(table: str, where: str = "", params: Sequence[Any] | None = None, **kwargs: Any) -> int:
    """``SELECT count(*) FROM table [WHERE ...]`` in raw SQL (``scope=`` as for :func:`raw`)."""
    sql = f'SELECT count(*) FROM "{table}"' + (f" WHERE {where}" if where else "")
    return raw(sql, params, **kwargs)[0][0]


# --- racing transactions -------------------------------------------------------------------------
# Set while racers run: a test's "slow" patch only slows the racers, not its own setup.
RACING = threading.Event()


def race(
    calls: list[Callable[[], Any]], *, scope: Scope | None = None, scopes: list[Scope | None] | None = None
) -> list[tuple[str, Any]]:
    """Run ``calls`` at the same moment, each on its own database connection, in ``scope`` (the
    vendor's by default) or each in its own of ``scopes``, to prove two transactions cannot both
    win. Each result is ``("ok", value)`` or ``("refused", ApplicationError)``; a crash or a
    deadlock fails the test."""
    if scopes is not None:
        assert len(scopes) == len(calls), "one scope per call"
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("pending", None)] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=10)
            with tenant_scope(scopes[index] if scopes is not None else scope or Scope.vendor()):
                results[index] = ("ok", call())
        except ApplicationError as exc:
            results[index] = ("refused", exc)
        except BaseException as exc:  # reported by the main thread
            results[index] = ("crashed", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    RACING.set()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        RACING.clear()
    assert not [r for r in results if r[0] in {"crashed", "pending"}], results
    return results


def slow_while_racing(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, seconds: float, before: bool = False
) -> None:
    """Hold a race window open: ``owner.name`` sleeps ``seconds`` after (or ``before``) it runs,
    only while racers run, so two racers would both pass a check they must not both pass."""
    original = getattr(owner, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        if before and RACING.is_set():
            time.sleep(seconds)
        value = original(*args, **kwargs)
        if not before and RACING.is_set():
            time.sleep(seconds)
        return value

    monkeypatch.setattr(owner, name, slow)
