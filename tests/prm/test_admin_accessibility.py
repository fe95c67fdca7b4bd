"""The admin's inputs each have a name of their own (issue 14, axe-core ``label``, critical): the
changelist's editable columns, the rows of a tabular inline (delete box included) and the two
halves of a date/time field. The browser crawl (tests/e2e/test_accessibility.py) checks the rest."""

from __future__ import annotations

import re

import pytest

from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f
from tests.helpers import body_text, login

pytestmark = pytest.mark.django_db


def _input(page: str, element_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, f"no #{element_id}"
    return match.group(0)


@pytest.fixture
def admin_client() -> object:
    return login(factories.VendorUserFactory(vendor_role=VendorRole.PROGRAM_ADMIN))


def test_changelist_editable_columns_are_named_by_column_and_row(admin_client: object) -> None:
    f.product("Firewall X", price="1234.56", line="Security")
    page = body_text(admin_client.get("/admin/deals/product/?q=Firewall+X"))
    assert 'aria-label="Active: Firewall X' in _input(page, "id_form-0-active")


def test_tabular_inline_inputs_are_named_by_column_and_row(admin_client: object) -> None:
    page = body_text(admin_client.get("/admin/training/question/add/"))
    assert 'aria-label="Text: new row 1"' in _input(page, "id_choices-0-text")
    assert 'aria-label="Is correct: new row 2"' in _input(page, "id_choices-1-is_correct")
    # The template row "Add another" copies is named too.
    assert 'aria-label="Text: new row"' in _input(page, "id_choices-__prefix__-text")


def test_each_half_of_a_date_time_field_has_its_label(admin_client: object) -> None:
    page = body_text(admin_client.get("/admin/content/announcement/add/"))
    assert '<label for="id_publish_at_0">Date:</label>' in page
    assert '<label for="id_publish_at_1">Time:</label>' in page


def test_inline_foreign_keys_behind_the_admin_wrapper_are_named(admin_client: object) -> None:
    """An inline's foreign key renders inside RelatedFieldWidgetWrapper (and, with
    autocomplete_fields, Select2, which copies the select's name)."""
    page = body_text(admin_client.get("/admin/training/learningpath/add/"))
    assert 'aria-label="Course: new row 1"' in _input(page, "id_learningpathcourse_set-0-course")
    assert 'aria-label="Position: new row 1"' in _input(page, "id_learningpathcourse_set-0-position")
