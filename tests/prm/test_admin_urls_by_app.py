"""The admin's URLs grouped by app (prm.admin.admin_urls_by_app) and tried before the apps' lists
(prm.urls): the same paths resolve to the same views, names and routes as Django's own list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from prm.admin import admin_urls_by_app


def _endpoints(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, str | None]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _endpoints(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.name


def test_the_grouped_admin_has_djangos_routes_and_names() -> None:
    djangos, _app_name, _namespace = admin.site.urls
    grouped, app_name, namespace = admin_urls_by_app(admin.site)
    assert (app_name, namespace) == ("admin", admin.site.name)
    assert sorted(_endpoints(grouped)) == sorted(_endpoints(djangos))
    assert len(grouped) < len(djangos)


def test_no_other_route_can_take_an_admin_path() -> None:
    """Tried before the apps' lists: only sound while none of their routes could match admin/..."""
    for pattern in get_resolver().url_patterns:
        if str(pattern.pattern) == "admin/":
            continue
        for route, _name in _endpoints([pattern]):
            assert not route.startswith(("admin", "<", "^")), route


@pytest.mark.parametrize(
    ("path", "url_name", "route", "kwargs"),
    [
        ("/admin/", "index", "admin/", {}),
        ("/admin/mdf/fundrequest/", "mdf_fundrequest_changelist", "admin/mdf/fundrequest/", {}),
        (
            "/admin/mdf/fundrequest/12/change/",
            "mdf_fundrequest_change",
            "admin/mdf/fundrequest/<path:object_id>/change/",
            {"object_id": "12"},
        ),
        ("/admin/mdf/", "app_list", "admin/(?P<app_label>", {"app_label": "mdf"}),
        ("/admin/mdf/nothing-here/", None, "admin/(?P<url>.*)$", {"url": "mdf/nothing-here/"}),
        ("/admin/prm/user/", "prm_user_changelist", "admin/prm/user/", {}),
    ],
)
def test_admin_paths_resolve_as_before(path: str, url_name: str | None, route: str, kwargs: dict) -> None:
    match = resolve(path)
    assert match.url_name == url_name
    assert match.namespaces == ["admin"]
    assert match.route.startswith(route)
    assert match.kwargs == kwargs
    if url_name is not None:
        assert reverse(f"admin:{url_name}", kwargs=kwargs) == path
