"""The guard: every URL pattern that takes an object's id, with every method its view accepts, is
requested with a foreign id by some isolation case (tests/isolation.py), or is on the allow-list
below with the reason it identifies no tenant's object.

It walks the whole resolver (includes, namespaces, the API router, the admin; any converter or
regex group), so a new page, API route, admin or admin view is caught the day it is added. It
reads the cases from the tables the isolation tests run (only cases inside a generated ``test_``
function count), so it needs no test to have run before it.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.generic import RedirectView

from prm.admin import NotFoundAdminMixin
from prm.auth_backends import role_permissions
from tests.isolation import Case

TESTS = Path(__file__).resolve().parent
# HEAD is answered by the GET code (Django's View maps it to get(); a function view runs the same
# code), OPTIONS by DRF's metadata, which reads no object (http_method_names has no PUT, so DRF
# never calls get_object() for it): neither needs a case of its own.
SKIPPED_METHODS = {"HEAD", "OPTIONS", "TRACE"}
# A DRF format suffix (".json") is the only capture that names no object.
NOT_AN_OBJECT = {"format"}

# --- what takes an argument that is no tenant's object ------------------------------------------
# (route pattern, reason). Each must match at least one route, so a stale entry fails too.
ALLOWED_ROUTES: list[tuple[str, str]] = [
    (
        r"invitations/<str:token>/",
        "a signed, single-use invitation token: holding it is the permission (a tampered or forged "
        "token is refused: tests/partners/test_services.py, test_views.py)",
    ),
    (
        r"verify/<str:code>/",
        "the public certificate verification page: the code is printed on the certificate so anyone "
        "may check it (tests/training/test_isolation.py checks it shows no e-mail)",
    ),
    (
        r"training/courses/<int:pk>/",
        "vendor content: a course is offered by partner role, the same for every partner; the "
        "learner's own progress on it is checked in tests/training/test_isolation.py",
    ),
    (r"training/lessons/<int:pk>/", "vendor content: a lesson of a course (see the course page)"),
    (
        r"training/lessons/<int:pk>/complete/",
        "vendor content: completes the asker's own enrollment in the lesson's course, never another's",
    ),
    (
        r"training/courses/<int:pk>/quiz/start/",
        "vendor content: starts the asker's own attempt (test_a_foreign_attempt_is_not_resumed_...)",
    ),
    (r"accounts/confirm-email/(?P<key>[-:\w]+)/$", "allauth: a signed e-mail confirmation key"),
    (
        r"accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        "allauth: a password reset key (a user id with a signed token)",
    ),
    (r"admin/(?P<url>.*)$", "the admin's catch-all: answers 404 (or the sign-in page) for any path"),
]
# (regular expression over routes, reason): for routes that repeat per app or per model.
ALLOWED_ROUTE_PATTERNS: list[tuple[str, str]] = [
    (
        r"admin/\(\?P<app_label>[a-z_|]+\)/\$",
        "the admin's app index: an app label, not an object",
    ),
    (
        r"admin/[a-z_]+/[a-z_]+/<path:object_id>/",
        "the admin's old-style object address: a RedirectView to the change page (covered); it reads "
        "nothing (checked below)",
    ),
]

# Registered admins whose rows belong to no tenant: the vendor's own catalogue and settings.
# (Every id pattern of these is allowed; the guard checks that none has a tenant column.)
VENDOR_WIDE_ADMINS = {
    "auth.group": "Django groups (unused: permissions come from vendor roles)",
    "django_celery_beat.periodictask": "the task schedule",
    "django_celery_beat.clockedschedule": "the task schedule",
    "django_celery_beat.crontabschedule": "the task schedule",
    "django_celery_beat.solarschedule": "the task schedule",
    "django_celery_beat.intervalschedule": "the task schedule",
    "prm.holiday": "the vendor's holiday calendar",
    "prm.exchangerate": "currency rates",
    "partners.tier": "the program's tiers",
    "partners.kpisetting": "which KPIs the program measures (one row per KPI, no partner)",
    "partners.scorecardtemplate": "the program's scorecard templates (per tier and partner type)",
    "partners.casekind": "the kinds of support cases partners may open",
    "partners.slatarget": "support SLA targets per kind and priority",
    "partners.supportteam": "the vendor's support teams (vendor staff only)",
    "partners.partnerapplication": "applications from companies that are not partners yet "
    "(vendor-only rows: RLS_VENDOR_ONLY; every vendor role reviews all of them)",
    "deals.product": "the product catalogue",
    "deals.authorizationrequirement": "which product lines need an authorization (the catalogue's rules)",
    "mdf.fundperiod": "fund periods",
    "mdf.budget": "the vendor's budgets",
    "mdf.approvallimit": "approval limits of vendor staff (vendor-only rows)",
    "training.course": "course content",
    "training.quiz": "course content",
    "training.question": "course content",
    "training.certification": "certification definitions",
    "training.learningpath": "learning paths",
    "content.category": "content library",
    "content.asset": "content library (entitlement by tier is checked on the portal's asset pages)",
    "content.announcement": "announcements",
    "incentives.incentiveprogram": "incentive program rules",
}
# Admins of people (every partner's users, their e-mail addresses and MFA devices): only program
# admins, who see every partner, may open them. The guard checks that no other vendor role holds
# any permission on them, so no one with a portfolio can reach them.
PROGRAM_ADMIN_ONLY_ADMINS = {
    "prm.user": "user accounts",
    "account.emailaddress": "users' e-mail addresses",
    "mfa.authenticator": "users' MFA devices",
}


# --- walking the resolver ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    route: str
    name: str
    callback: Any
    captures: frozenset[str]

    @property
    def admin_model(self) -> str | None:
        """``app_label.model_name`` of the ModelAdmin this route belongs to, if any."""
        match = re.match(r"admin/([a-z_]+)/([a-z_]+)/", self.route)
        if not match:
            return None
        label = f"{match[1]}.{match[2]}"
        return label if label in {m._meta.label_lower for m in admin.site._registry} else None


def _join(prefix: str, route: str) -> str:
    """Django's own join (ResolverMatch.route): a sub-pattern's leading ^ is dropped."""
    return prefix + route.removeprefix("^") if prefix else route


def _captures(pattern: Any) -> set[str]:
    regex = pattern.regex
    named = set(regex.groupindex)
    unnamed = regex.groups - len(named)
    return named | {f"<positional {n}>" for n in range(unnamed)}


def walk(
    patterns: list[Any], prefix: str = "", namespace: str = "", captured: frozenset = frozenset()
) -> Iterator[Endpoint]:
    for pattern in patterns:
        route = _join(prefix, str(pattern.pattern))
        captures = captured | _captures(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from walk(pattern.url_patterns, route, inner, frozenset(captures))
        else:
            assert isinstance(pattern, URLPattern)
            name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name)
            yield Endpoint(route, name, pattern.callback, frozenset(captures))


def methods_of(endpoint: Endpoint) -> set[str]:
    """The HTTP methods the view answers (other than by 405)."""
    view = endpoint.callback
    if getattr(view, "actions", None) is not None and hasattr(view, "cls"):  # a DRF viewset route
        allowed = {method.upper() for method in view.cls.http_method_names}
        return {method.upper() for method in view.actions} & allowed - SKIPPED_METHODS
    if hasattr(view, "view_class"):  # a class-based view (a DRF APIView too)
        cls = view.view_class
        return {m.upper() for m in cls.http_method_names if hasattr(cls, m)} - SKIPPED_METHODS
    layer = view
    while layer is not None:  # require_POST, require_GET, require_http_methods(...) on the way in
        code = getattr(layer, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = layer.__closure__[code.co_freevars.index("request_method_list")]
            return {method.upper() for method in cell.cell_contents} - SKIPPED_METHODS
        layer = getattr(layer, "__wrapped__", None)
    bound = inspect.unwrap(view)
    if getattr(bound, "__name__", "") == "history_view" and isinstance(
        getattr(bound, "__self__", None), admin.ModelAdmin
    ):
        return {"GET"}  # the admin's history page has no form
    # Anything else answers every method (a page renders on a POST as on a GET; a form saves).
    return {"GET", "POST"}


# --- the cases ------------------------------------------------------------------------------------
def case_modules() -> list[str]:
    """Every test module that builds a foreign-id test (found by reading the sources, so a new
    isolation module is found without being listed anywhere)."""
    binding = re.compile(r"^test_\w+ = (?:isolation\.)?foreign_id_test\(", re.MULTILINE)
    return [
        ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        for path in sorted(TESTS.rglob("test_*.py"))
        if binding.search(path.read_text())
    ]


def declared_cases() -> list[Case]:
    cases: list[Case] = []
    for module_name in case_modules():
        module = importlib.import_module(module_name)
        tests = [
            value
            for name, value in vars(module).items()
            if name.startswith("test_") and hasattr(value, "__isolation_cases__")
        ]
        assert tests, f"{module_name} builds a foreign-id test but binds none to a test_ name"
        for test in tests:
            cases.extend(test.__isolation_cases__)
    return cases


def needs_a_case(endpoint: Endpoint) -> bool:
    return bool(endpoint.captures - NOT_AN_OBJECT)


def allowed(endpoint: Endpoint) -> str | None:
    """Why this endpoint needs no case, or None."""
    for route, reason in ALLOWED_ROUTES:
        if endpoint.route == route:
            return reason
    for pattern, reason in ALLOWED_ROUTE_PATTERNS:
        if re.fullmatch(pattern, endpoint.route):
            return reason
    model = endpoint.admin_model
    if model in VENDOR_WIDE_ADMINS:
        return VENDOR_WIDE_ADMINS[model]
    if model in PROGRAM_ADMIN_ONLY_ADMINS:
        return PROGRAM_ADMIN_ONLY_ADMINS[model]
    return None


def endpoints() -> list[Endpoint]:
    return list(walk(get_resolver().url_patterns))


def uncovered() -> list[str]:
    covered: set[tuple[str, str]] = set()
    for case in declared_cases():
        covered |= case.covers()
    missing = []
    for endpoint in endpoints():
        if not needs_a_case(endpoint) or allowed(endpoint):
            continue
        for method in sorted(methods_of(endpoint)):
            if (endpoint.route, method) not in covered:
                missing.append(f"{method} {endpoint.route} ({endpoint.name})")
    return missing


# --- the tests ------------------------------------------------------------------------------------
def test_every_pattern_taking_an_id_is_requested_with_a_foreign_id() -> None:
    assert uncovered() == [], "no isolation case requests these with a foreign id"


def test_every_case_requests_a_pattern_that_takes_an_id() -> None:
    """A case for a pattern with no id, or one on the allow-list, is a mistake in the table."""
    by_route = {endpoint.route: endpoint for endpoint in endpoints()}
    problems = []
    for case in declared_cases():
        endpoint = by_route[case.route()]
        if not needs_a_case(endpoint):
            problems.append(f"{case.id}: {endpoint.route} takes no id")
        if not set(case.methods) <= methods_of(endpoint):
            problems.append(f"{case.id}: {endpoint.route} answers {sorted(methods_of(endpoint))}")
    assert problems == []


def test_every_allow_list_entry_is_used_and_true() -> None:
    routes = [endpoint.route for endpoint in endpoints()]
    for route, _reason in ALLOWED_ROUTES:
        assert route in routes, f"stale allow-list entry {route}"
    for pattern, _reason in ALLOWED_ROUTE_PATTERNS:
        assert any(re.fullmatch(pattern, route) for route in routes), f"stale allow-list entry {pattern}"
    for endpoint in endpoints():
        if re.fullmatch(ALLOWED_ROUTE_PATTERNS[1][0], endpoint.route):
            assert inspect.unwrap(endpoint.callback).view_class is RedirectView, endpoint.route
    registered = {model._meta.label_lower: model for model in admin.site._registry}
    for label in VENDOR_WIDE_ADMINS:
        model = registered[label]
        assert not getattr(model, "TENANT_COLUMN", None), f"{label} holds tenant rows: it needs cases"
    for label in PROGRAM_ADMIN_ONLY_ADMINS:
        app_label, model_name = label.split(".")
        for role, permissions in role_permissions().items():
            held = [p for p in permissions if p.startswith(f"{app_label}.") and p.endswith(f"_{model_name}")]
            assert held == [], f"{role} holds {held}: {label} needs cases for a vendor user with a scope"


def test_every_tenant_admin_answers_404_outside_the_scope() -> None:
    """Django's admin checks permissions before it looks a row up (a 403 for a row one may not
    see) and answers a row it cannot find with a redirect: a tenant model's admin must not."""
    wrong = [
        model._meta.label_lower
        for model, model_admin in admin.site._registry.items()
        if getattr(model, "TENANT_COLUMN", None) and not isinstance(model_admin, NotFoundAdminMixin)
    ]
    assert wrong == []


def test_the_walk_finds_an_id_behind_any_converter_or_include() -> None:
    """A control on the walk with made-up patterns: converters the project does not use yet,
    an unnamed regex group (a positional argument), an id captured by an include's prefix."""
    from django.urls import include, path, re_path
    from django.views.decorators.http import require_POST

    def page(request: Any, **kwargs: Any) -> None: ...

    action = require_POST(page)
    patterns = [
        path("a/<slug:slug>/", page, name="slug"),
        path("b/<uuid:key>/", action, name="uuid"),
        re_path(r"^c/(\d+)/$", page, name="positional"),
        path("d/<int:pk>/", include(([path("e/", page, name="nested")], "inner"))),
        path("f/", page, name="plain"),
        re_path(r"^g\.(?P<format>[a-z]+)$", page, name="format"),
    ]
    found = {endpoint.name: endpoint for endpoint in walk(patterns)}
    assert {name for name, endpoint in found.items() if needs_a_case(endpoint)} == {
        "slug",
        "uuid",
        "positional",
        "inner:nested",
    }
    assert found["inner:nested"].route == "d/<int:pk>/e/"
    assert methods_of(found["uuid"]) == {"POST"}
    assert methods_of(found["slug"]) == {"GET", "POST"}


def test_the_guard_sees_every_kind_of_pattern() -> None:
    """A control on the walk itself: it reaches an int converter, a path converter behind the
    admin's include, a regex group of the API router and a namespaced include."""
    names = {(endpoint.name, endpoint.route) for endpoint in endpoints() if needs_a_case(endpoint)}
    assert ("deals:detail", "deals/<int:pk>/") in names
    assert ("admin:deals_deal_change", "admin/deals/deal/<path:object_id>/change/") in names
    assert ("api-deal-submit", "api/v1/deals/(?P<pk>[^/.]+)/submit/$") in names
    assert (
        "vendor:partner_portfolio_revoke",
        "vendor/partners/<int:pk>/portfolio/<int:user_pk>/revoke/",
    ) in names
    by_name = {endpoint.name: endpoint for endpoint in endpoints()}
    assert methods_of(by_name["deals:submit"]) == {"POST"}
    assert methods_of(by_name["deals:detail"]) == {"GET", "POST"}
    assert methods_of(by_name["api-deal-detail"]) == {"GET", "PATCH"}
    assert methods_of(by_name["admin:deals_deal_history"]) == {"GET"}
    assert methods_of(by_name["admin:deals_deal_change"]) == {"GET", "POST"}
