"""The one search box: what a person types, looked up in every kind of record they may open.

The kernel knows no domain model. Each app names its sources on its config (the same pattern as
``prm.notification_kinds`` and the panels, ``partners.panels``)::

    class DealsConfig(AppConfig):
        search_sources = "deals.search.sources"      # returns a list of SearchSource

A source gives, for an actor, the rows of its kind that actor may see — through the app's own
policy (``policy.scope(actor)``), never an unscoped query — or ``None`` when the kind is none of the
actor's business (a content manager and deals). The kernel filters those rows with PostgreSQL
full-text search on the source's stored, generated ``tsvector`` column (``prm.search_vectors``,
GIN-indexed, ``'simple'`` configuration: names and references are not words of one language), with
prefix matching on every term ("acm" finds Acme), so each kind costs one bounded query: at most
``COUNT_CAP`` + 1 rows, the first ``limit`` of them shown and the rest only counted. The request's
row-level-security scope applies underneath, as for every page.

Under that scope PostgreSQL uses no index for the match itself: ``@@`` is not leakproof, so a
forced policy's checks run first and the match only after them, row by row. Small tables do not
mind; a big one's source gives a ``condition`` that reaches its rows through leakproof index
conditions instead (deals: a partner's ids from an index-only scan of a covering index that holds
the vector; vendor staff through the deal list's name table; people: the users first, from
``prm_user``, which has no row-level security). See bench/README.md, "Search".

What a person types is never handed to ``to_tsquery`` as syntax: it is split into letters and
digits (``[^\\W_]+``), each term quoted, so "a & | !" is simply too short to search for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.postgres.search import SearchQuery
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .errors import ApplicationError
from .tenancy import Actor

MIN_CHARS = 2
MAX_CHARS = 100
MAX_TERMS = 8
# Hits shown per kind: as one types (the box's live results) and on the results page.
LIVE_LIMIT = 5
PAGE_LIMIT = 20
# A kind with more hits says "more than 100": counting every match of a short prefix over a
# million deals is not worth its time.
COUNT_CAP = 100

_TERM = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    detail: str = ""
    # The amount, formatted, for a person who may see it; empty otherwise.
    amount: str = ""


@dataclass(frozen=True)
class SearchSource:
    key: str  # "deals.deal"
    label: str | Promise  # "Deals", the group's heading
    # The rows of this kind the actor may see (through the app's policy), or None: not for them.
    rows: Callable[[Actor], QuerySet | None]
    # The page's hits for rows already found (related rows selected by ``rows``).
    hits: Callable[[Actor, list[Any]], list[SearchHit]]
    # The generated tsvector column, as a lookup path from the source's model.
    vector: str = "search_vector"
    # The text search configuration the vector was built with ("simple" for names and references;
    # the content library's own vector is English, stemmed).
    config: str = "simple"
    # The order of the hits, for small tables (a few thousand rows: partners, people, courses). A
    # big table's source leaves it empty: its query then takes the first matches the GIN index
    # gives, without sorting every match (a common prefix matches tens of thousands of a million
    # deals, each a heap page to read), and the page shows them newest first.
    order_by: tuple[str, ...] = ()
    # Where the group comes on the results page (the smallest first).
    position: int = 100
    # The match itself, when the vector alone cannot find it fast enough for this actor:
    # (actor, terms, text) -> Q, used instead of the vector (deals: the vendor's indexed search).
    condition: Callable[[Actor, list[str], str], Q] | None = None


@dataclass
class SearchGroup:
    source: SearchSource
    hits: list[SearchHit]
    count: int
    capped: bool = False

    @property
    def label(self) -> str:
        return str(self.source.label)

    @property
    def slug(self) -> str:
        """For the page's element ids: "deals-deal"."""
        return self.source.key.replace(".", "-")

    @property
    def count_label(self) -> str:
        if self.capped:
            return _("more than %(count)s") % {"count": COUNT_CAP}
        return str(self.count)


@dataclass
class SearchResults:
    text: str
    groups: list[SearchGroup] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(group.count for group in self.groups)


def sees_money(actor: Actor) -> bool:
    """Whether amounts may be shown to this actor: never to a money-blind vendor role (content /
    training managers, support), whatever rows a source lets through."""
    from .roles import MONEY_BLIND_ROLES

    return not (actor.is_vendor and actor.vendor_role in MONEY_BLIND_ROLES)


@functools.cache
def _registry() -> tuple[SearchSource, ...]:
    found: dict[str, SearchSource] = {}
    for config in apps.get_app_configs():
        if path := getattr(config, "search_sources", None):
            for source in import_string(path)():
                found[source.key] = source
    return tuple(sorted(found.values(), key=lambda source: source.position))


def sources() -> tuple[SearchSource, ...]:
    return _registry()


def terms_of(text: str) -> list[str]:
    """The search terms in ``text``, or an ApplicationError saying what to type instead."""
    text = (text or "").strip()
    if not text:
        raise ApplicationError(_("Type a name, a reference or a word to search for."), field="q")
    if len(text) > MAX_CHARS:
        raise ApplicationError(
            ngettext(
                "Search for at most %(count)d character.",
                "Search for at most %(count)d characters.",
                MAX_CHARS,
            )
            % {"count": MAX_CHARS},
            field="q",
        )
    terms = _TERM.findall(text.casefold())
    if sum(len(term) for term in terms) < MIN_CHARS:
        raise ApplicationError(
            _("Type at least %(count)d letters or digits.") % {"count": MIN_CHARS}, field="q"
        )
    if len(terms) > MAX_TERMS:
        raise ApplicationError(
            _("Search for at most %(count)d words at a time.") % {"count": MAX_TERMS}, field="q"
        )
    return terms


def tsquery(terms: Iterable[str], config: str = "simple") -> SearchQuery:
    """Every term, as a prefix, must occur: ``'acm':* & 'berlin':*``. The terms hold letters and
    digits only (``terms_of``), so quoting them leaves nothing for to_tsquery to read as syntax."""
    raw = " & ".join(f"'{term}':*" for term in terms)
    return SearchQuery(raw, search_type="raw", config=config)


def matching(source: SearchSource, actor: Actor, rows: QuerySet, terms: list[str], text: str) -> QuerySet:
    if source.condition is not None:
        condition = source.condition(actor, terms, text)
    else:
        condition = Q(**{source.vector: tsquery(terms, source.config)})
    return rows.filter(condition).order_by(*source.order_by)


def search(actor: Actor, text: str, *, limit: int = PAGE_LIMIT) -> SearchResults:
    """Every kind the actor may search, with its first ``limit`` hits and how many there are.
    Kinds without a hit are left out. Raises ApplicationError for text that cannot be searched."""
    terms = terms_of(text)
    results = SearchResults(text=text.strip())
    for source in sources():
        rows = source.rows(actor)
        if rows is None:
            continue
        found = matching(source, actor, rows, terms, text.strip())
        # One statement per kind: up to one row more than the count shows (a few narrow columns
        # each), so the count needs no second round trip; the page is the first ``limit``.
        rows_found = list(found[: COUNT_CAP + 1])
        if not rows_found:
            continue
        if not source.order_by:
            rows_found.sort(key=lambda row: row.pk, reverse=True)
        count = len(rows_found)
        results.groups.append(
            SearchGroup(
                source=source,
                hits=source.hits(actor, rows_found[:limit]),
                count=min(count, COUNT_CAP),
                capped=count > COUNT_CAP,
            )
        )
    return results
