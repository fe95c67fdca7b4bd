"""The Content-Security-Policy header built once per process (prm.middleware.
ContentSecurityPolicyMiddleware) is, response by response, exactly what django-csp builds: with
each request's own nonce where a page used one, without where it did not, a changed setting
followed, and a view's own policy left to django-csp."""

from __future__ import annotations

import re
from typing import Any

import pytest
from csp.utils import build_policy
from django.test import Client, RequestFactory

from prm.middleware import ContentSecurityPolicyMiddleware
from prm.models import User
from tests.helpers import login

pytestmark = pytest.mark.django_db


def test_a_page_without_a_nonce_gets_django_csps_header() -> None:
    response = Client().get("/accounts/login/")
    assert response["Content-Security-Policy"] == build_policy()


def test_each_response_carries_its_own_nonce(program_admin: User) -> None:
    client = login(program_admin)
    headers = [client.get("/admin/mdf/fundrequest/")["Content-Security-Policy"] for _ in range(2)]
    nonces = [re.search(r"'nonce-([^']+)'", header).group(1) for header in headers]
    assert nonces[0] != nonces[1]
    for header, nonce in zip(headers, nonces, strict=True):
        assert header == build_policy(nonce=nonce)
        assert "placeholder" not in header


def test_a_changed_setting_is_followed(settings: Any) -> None:
    assert "img-src 'self' data:" in Client().get("/accounts/login/")["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert Client().get("/accounts/login/")["Content-Security-Policy"] == "default-src 'none'"


def test_a_views_own_policy_goes_through_django_csp() -> None:
    from django.http import HttpResponse

    request = RequestFactory().get("/")
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
    middleware.process_request(request)
    response = HttpResponse()
    response._csp_update = {"img-src": ["https://images.example"]}
    header = middleware.process_response(request, response)["Content-Security-Policy"]
    assert header == build_policy(update={"img-src": ["https://images.example"]})
    assert "https://images.example" in header
