"""Schemathesis against the partner REST API, from the API's own OpenAPI schema, with every check
on: a partner admin with a real bearer token, deals with and without a customer country, leads
offered to the partner. It must find nothing: no server error, no answer the schema does not
document, no schema-valid request refused and no schema-violating one accepted.

Deterministic (Hypothesis derandomized, no example database) and bounded (MAX_EXAMPLES per
operation and per phase), so it is an ordinary test of the suite. To look harder for new findings
locally, raise the budget and let Hypothesis pick its own seeds:
``PRM_FUZZ_EXAMPLES=200 PRM_FUZZ_RANDOM=1 pytest tests/test_api_fuzz.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS, load_all_checks

from deals import leads
from deals.forms import MAX_DEAL_TOTAL
from deals.models import Product
from prm.api import token_issue
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("PRM_FUZZ_EXAMPLES", "8"))
DETERMINISTIC = not os.environ.get("PRM_FUZZ_RANDOM")


def _openapi_document() -> dict[str, Any]:
    # The document /api/schema/ serves (that view is behind login, see tests/deals/test_api.py),
    # made by the same generator without a request.
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


# A transition the object's state does not allow (submitting an incomplete draft, editing a deal
# that is no longer a draft, accepting a lead twice) is refused with a 400 that says why, in the
# portal's words; no schema can say which state an object is in. So for these operations, and only
# these, a schema-valid request may get a 400 (tests/deals/test_api.py checks the refusals).
TRANSITIONS = [
    "PATCH /api/v1/deals/{id}/",
    "POST /api/v1/deals/{id}/submit/",
    "POST /api/v1/leads/{id}/accept/",
    "POST /api/v1/leads/{id}/decline/",
]
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": DETERMINISTIC,
            "database": "none",
            # PostgreSQL text cannot hold NUL; the API refuses it with a 400 ("Null characters are
            # not allowed.", tests/deals/test_api.py). Generated, it would only repeat that 400.
            "allow-x00": False,
        },
        # schemathesis 4.32 mines string constants from the application's source and puts them
        # into the integer path id of cases it labels schema-valid ("/deals/expires_at/"), then
        # reports our 400 as a valid request refused. Its schema-driven values still cover ids.
        "analysis": {"constants": {"enabled": False}},
        "operations": [
            {
                "include-name": TRANSITIONS,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
                    }
                },
            }
        ],
    }
)
load_all_checks()
ALL_CHECKS = CHECKS.get_all()


class _Partner:
    """Who the fuzzer acts as; set by the ``partner`` fixture for each test."""

    secret = ""
    product_id = 0


class PartnerToken:
    """The partner admin's bearer token, as a client sends it (schemathesis then knows the
    credentials are real, and its ignored_auth check also tries the operation without them)."""

    def get(self, case: Any, context: Any) -> str:
        return _Partner.secret

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _load_schema() -> Any:
    loaded = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG)
    # In-process, through Django's WSGI handler: the same thread and database connection as the
    # test, so the requests see the test's data and everything is rolled back after it.
    loaded.app = get_wsgi_application()
    loaded.auth(refresh_interval=None, retry_on=[])(PartnerToken)
    return loaded


schema = _load_schema()


def with_real_products(case: Any) -> None:
    """A schema-valid deal names products that exist, as a real client's does: the schema can say
    a product is an integer, not which integers are in the catalogue. For the same reason a total
    (quantity × unit price) beyond the limit is brought back within it: the schema can bound each
    field, not their product (tests/deals/test_api.py checks that limit). Schema-violating cases
    are sent as generated."""
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    lines = [line for line in case.body.get("lines") or [] if isinstance(line, dict)]
    for line in lines:
        line["product"] = _Partner.product_id
    try:
        total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
    except (KeyError, TypeError, InvalidOperation):
        return
    if total >= MAX_DEAL_TOTAL:
        for line in lines:
            line["quantity"], line["unit_price"] = 1, "1.00"


@pytest.fixture
def partner(settings: Any) -> Iterator[None]:
    # Django's handler closes the connection at the end of a request when it is inside a
    # transaction (the test's); the test client turns that off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Hundreds of requests a minute from one token: throttling is tested on its own.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "anon": "100000/minute"},
    }
    team = f.team()
    product = f.product("Firewall X", price="500.00")
    Product.objects.create(
        name="Old box", sku="OLD-1", product_line="Legacy", list_price="1.00", active=False
    )
    f.draft(team.sales_actor, customer="Hooli", domain="hooli.com")
    f.draft(team.sales_actor, customer="Globex", domain="globex.com", customer_country="")
    f.submitted(team.sales_actor, customer="Initech", domain="initech.com", customer_region="")
    vendor = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    for number, country in enumerate(["US", "", "DE"]):
        lead = f.lead(vendor, company=f"Prospect {number}", country=country)
        with f.acting(vendor):
            leads.lead_assign(actor=vendor, lead=lead, partner=team.partner)
    with f.acting(team.admin_actor):  # issued from the partner admin's token page
        _token, _Partner.secret = token_issue(user=team.admin, name="Fuzzer", partner_id=team.partner.pk)
    _Partner.product_id = product.pk
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_check_is_on() -> None:
    assert len(ALL_CHECKS) >= 14
    assert all(schema.config.checks.get_by_name(name=check.__name__).enabled for check in ALL_CHECKS)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_fuzzer_finds_nothing(case: Any, partner: None) -> None:
    """Every operation, in the examples, coverage and fuzzing phases, valid and invalid input."""
    with_real_products(case)
    case.call_and_validate(checks=ALL_CHECKS)


class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls along the links schemathesis infers (a created deal is read, edited,
    submitted; an offered lead accepted or declined), where its stateful checks apply
    (use_after_free, ensure_resource_availability, object-level authorization).

    Each sequence starts from the same data: which calls a step may make depends on what the
    earlier ones answered, so with the rows of earlier sequences still there the same choices
    led elsewhere, and Hypothesis reported FlakyStrategyDefinition instead of a result."""

    def setup(self) -> None:
        self.savepoint = transaction.savepoint()

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    def before_call(self, case: Any) -> None:
        with_real_products(case)


def test_the_fuzzer_finds_nothing_in_sequences_of_calls(partner: None) -> None:
    run_state_machine_as_test(
        Scenarios,
        settings=settings(
            max_examples=MAX_EXAMPLES * 2,
            stateful_step_count=6,
            derandomize=DETERMINISTIC,
            database=None,
            deadline=None,
            # No shrinking: schemathesis' stateful strategies learn from earlier responses, so a
            # replay draws differently and Hypothesis would report that instead of the failure.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
