"""The request's one transaction (partners.middleware.ActorMiddleware, prm.tenancy.request_transaction).

Every request runs in a single transaction opened with its RLS scope, without the savepoint that
Django's ATOMIC_REQUESTS used to nest in it around the view. What that savepoint did still holds:
a view that raises leaves nothing written, and its error page is rendered in the same scope. An
error in a middleware inside the transaction that becomes a 500 leaves nothing written either
(ATOMIC_REQUESTS never covered it). A view marked ``@transaction.non_atomic_requests`` keeps its
writes, as before. Each case runs in a real transaction (``transaction=True``: the production
path, where the request's block is the transaction) and inside a test's transaction (where it is a
savepoint).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny

from partners.models import Partner
from prm.errors import ApplicationError
from prm.models import User
from prm.roles import VendorRole
from prm.tenancy import current_scope_settings
from tests import factories
from tests.helpers import login

CALLBACKS: list[str] = []


def _write(request: HttpRequest, name: str) -> None:
    User.objects.filter(pk=request.GET["user"]).update(full_name=name)
    transaction.on_commit(lambda: CALLBACKS.append(name))


def raising_view(request: HttpRequest) -> HttpResponse:
    _write(request, "written by a view that raised")
    raise RuntimeError("the view failed")


def not_found_view(request: HttpRequest) -> HttpResponse:
    _write(request, "written by a view that raised Http404")
    raise Http404


def writing_view(request: HttpRequest) -> HttpResponse:
    _write(request, "written by a view that succeeded")
    return HttpResponse("ok")


@transaction.non_atomic_requests
def non_atomic_raising_view(request: HttpRequest) -> HttpResponse:
    _write(request, "written by a non-atomic view")
    raise RuntimeError("the non-atomic view failed")


@api_view(["GET"])
@permission_classes([AllowAny])
def api_refusing_view(request: Any) -> HttpResponse:
    _write(request, "written by an API view that refused")
    raise ValidationError({"detail": "refused"})


@api_view(["GET"])
@permission_classes([AllowAny])
def api_application_error_view(request: Any) -> HttpResponse:
    _write(request, "written before an application error")
    raise ApplicationError("not allowed")


def scope_page(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404 and handler500 of this URLconf: the scope the error page is rendered in."""
    status = 500 if exception is None else 404
    return HttpResponse("|".join(current_scope_settings()), status=status)


urlpatterns = [
    path("raises/", raising_view),
    path("not-found/", not_found_view),
    path("writes/", writing_view),
    path("non-atomic/", non_atomic_raising_view),
    path("api-refuses/", api_refusing_view),
    path("api-application-error/", api_application_error_view),
]
handler404 = "tests.partners.test_request_transaction.scope_page"
handler500 = "tests.partners.test_request_transaction.scope_page"


class RaiseAfterViewMiddleware:
    """Innermost middleware (inside the request's transaction) failing after the view returned."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path == "/writes/":
            raise RuntimeError("a middleware failed after the view")
        return response


pytestmark = [pytest.mark.urls("tests.partners.test_request_transaction")]
BOTH = pytest.mark.parametrize(
    "real_transaction",
    [
        pytest.param(True, marks=pytest.mark.django_db(transaction=True)),
        pytest.param(False, marks=pytest.mark.django_db),
    ],
    ids=["own-transaction", "in-test-transaction"],
)


@pytest.fixture(autouse=True)
def _no_callbacks() -> Any:
    CALLBACKS.clear()
    yield
    CALLBACKS.clear()


def _name(user: User) -> str:
    return User.objects.get(pk=user.pk).full_name


@BOTH
def test_a_raising_view_leaves_nothing_written(
    real_transaction: bool, partner: Any, partner_admin: User
) -> None:
    client = login(partner_admin, raise_request_exception=False)
    before = _name(partner_admin)
    response = client.get("/raises/", {"user": partner_admin.pk})
    assert response.status_code == 500
    assert _name(partner_admin) == before
    assert CALLBACKS == []  # what waited for the commit went with the writes
    # The error page ran in the partner's scope again, after the rollback.
    assert response.content.decode() == f"partner|{partner.pk}||"


@BOTH
def test_a_view_raising_not_found_leaves_nothing_written(
    real_transaction: bool, partner: Any, partner_admin: User
) -> None:
    client = login(partner_admin)
    before = _name(partner_admin)
    response = client.get("/not-found/", {"user": partner_admin.pk})
    assert response.status_code == 404
    assert _name(partner_admin) == before
    assert response.content.decode() == f"partner|{partner.pk}||"


@BOTH
def test_a_middleware_error_that_becomes_a_500_leaves_nothing_written(
    real_transaction: bool, settings: Any, partner_admin: User
) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.RaiseAfterViewMiddleware"]
    client = login(partner_admin, raise_request_exception=False)
    before = _name(partner_admin)
    assert client.get("/writes/", {"user": partner_admin.pk}).status_code == 500
    assert _name(partner_admin) == before
    assert CALLBACKS == []


@BOTH
def test_a_view_that_succeeds_commits(real_transaction: bool, partner_admin: User) -> None:
    client = login(partner_admin)
    assert client.get("/writes/", {"user": partner_admin.pk}).status_code == 200
    assert _name(partner_admin) == "written by a view that succeeded"
    if real_transaction:
        assert CALLBACKS == ["written by a view that succeeded"]


@BOTH
def test_a_non_atomic_view_keeps_its_writes_as_before(real_transaction: bool, partner_admin: User) -> None:
    client = login(partner_admin, raise_request_exception=False)
    assert client.get("/non-atomic/", {"user": partner_admin.pk}).status_code == 500
    assert _name(partner_admin) == "written by a non-atomic view"


@BOTH
def test_an_api_error_leaves_nothing_written_as_drf_asked_atomic_requests_to(
    real_transaction: bool, partner_admin: User
) -> None:
    before = _name(partner_admin)
    assert Client().get("/api-refuses/", {"user": partner_admin.pk}).status_code == 400
    assert _name(partner_admin) == before


@BOTH
def test_an_application_error_answered_by_the_api_keeps_what_was_written_as_before(
    real_transaction: bool, partner_admin: User
) -> None:
    # prm.api's handler answers it with a 400 without asking for a rollback, as it always did.
    assert Client().get("/api-application-error/", {"user": partner_admin.pk}).status_code == 400
    assert _name(partner_admin) == "written before an application error"


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("prm.urls")
def test_a_request_before_its_view_runs_four_statements(settings: Any, partner_admin: User) -> None:
    """/healthz with a partner's session: the user row, then the request's transaction with its
    scope (BEGIN, set_config, COMMIT); no savepoint, nothing else."""
    settings.PRM = {**settings.PRM, "ACTOR_CACHE_SECONDS": 300}
    # A frozen clock: the session's last-seen time is not due for a write between the requests.
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        client: Client = login(partner_admin)
        assert client.get("/healthz").status_code == 200  # the actor is cached from here on
        with CaptureQueriesContext(connection) as context:
            assert client.get("/healthz").status_code == 200
    statements = [
        query["sql"].split(" ", 1)[0] + (" prm_user" if "prm_user" in query["sql"] else "")
        for query in context.captured_queries
    ]
    assert statements == ["SELECT prm_user", "BEGIN", "SELECT", "COMMIT"], context.captured_queries
    assert "set_config" in context.captured_queries[2]["sql"]


def test_django_wraps_no_view_in_a_savepoint_of_its_own() -> None:
    assert settings.DATABASES["default"]["ATOMIC_REQUESTS"] is False


@pytest.mark.django_db
@pytest.mark.urls("prm.urls")
def test_the_partner_home_reads_the_user_table_once(partner: Any, partner_admin: User) -> None:
    """The channel account manager the home page names comes with the actor (its membership
    query), not from a second user query at the end of the page."""
    manager = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, full_name="Carla Manager")
    Partner.objects.filter(pk=partner.pk).update(channel_account_manager=manager)
    client = login(partner_admin)
    with CaptureQueriesContext(connection) as context:
        response = client.get("/")
    assert response.status_code == 200
    assert "Carla Manager" in response.content.decode()
    user_reads = [query["sql"] for query in context.captured_queries if 'FROM "prm_user"' in query["sql"]]
    assert len(user_reads) == 1, user_reads  # the session's user
