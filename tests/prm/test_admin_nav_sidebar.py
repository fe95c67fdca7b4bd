"""The admin's navigation sidebar is written in Python (prm/templatetags/prm_admin.py) and its app
list kept per user's access (prm.admin.remembered_app_list): the sidebar must be the markup of
Django's admin/nav_sidebar.html for the same app list and page (current app and model marked), in
English and German, and the kept list must be exactly what Django builds for that user, a new one
as soon as their permissions or language change."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.template import engines
from django.test import RequestFactory
from django.test.html import parse_html
from django.utils import translation

import prm.urls  # noqa: F401 -- installs the kept app list on admin.site
from prm.roles import VendorRole
from tests import factories

pytestmark = pytest.mark.django_db

DJANGO = engines["django"].from_string('{% include "admin/nav_sidebar.html" %}')
OURS = engines["django"].from_string("{% load prm_admin %}{% admin_nav_sidebar %}")


def request_for(user: Any, path: str) -> Any:
    request = RequestFactory().get(path)
    request.user = user
    return request


def built(request: Any) -> list[dict[str, Any]]:
    """What Django's AdminSite builds, without the kept copy."""
    return AdminSite.get_app_list(admin.site, request)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/mdf/", "/admin/mdf/fundrequest/", "/admin/deals/deal/12/change/", "/elsewhere/"],
)
@pytest.mark.parametrize(
    "role", [VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER, "superuser", "none"]
)
def test_the_sidebar_is_djangos_markup(role: str, path: str, language: str) -> None:
    if role == "superuser":
        user = factories.vendor_actor(VendorRole.PROGRAM_ADMIN).user
        user.is_superuser = True
    elif role == "none":
        user = factories.vendor_actor(VendorRole.PROGRAM_ADMIN).user
        user.is_superuser, user.is_staff = False, True
        user.user_permissions.clear()
        user.groups.clear()
        user.vendor_role = ""
    else:
        user = factories.vendor_actor(role).user
    request = request_for(user, path)
    with translation.override(language):
        context = {"request": request, "available_apps": built(request)}
        old, new = DJANGO.render(context), OURS.render(context)
        assert parse_html(old) == parse_html(new), f"\n--- Django\n{old}\n--- ours\n{new}"


def test_the_kept_app_list_is_djangos_and_follows_permissions_and_language() -> None:
    user = factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER).user
    request = request_for(user, "/admin/")
    with translation.override("en"):
        assert admin.site.get_app_list(request) == built(request)
    with translation.override("de"):
        german = admin.site.get_app_list(request_for(user, "/admin/"))
        assert [str(app["name"]) for app in german] == [str(app["name"]) for app in built(request)]
    # A new permission is a new list at once (a fresh user object, as the next request has).
    before = admin.site.get_app_list(request_for(type(user).objects.get(pk=user.pk), "/admin/"))
    user.user_permissions.add(Permission.objects.get(codename="view_exchangerate"))
    fresh = type(user).objects.get(pk=user.pk)
    after = admin.site.get_app_list(request_for(fresh, "/admin/"))
    assert after == built(request_for(type(user).objects.get(pk=user.pk), "/admin/"))
    models = {model["object_name"] for app in after for model in app["models"]}
    assert "ExchangeRate" in models
    assert "ExchangeRate" not in {model["object_name"] for app in before for model in app["models"]}
    # Another user never gets this one's list.
    other = factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER).user
    assert admin.site.get_app_list(request_for(other, "/admin/")) == built(request_for(other, "/admin/"))
