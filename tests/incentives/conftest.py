"""Two partner teams, a program admin, finance, and partner A's channel account manager."""

from __future__ import annotations

from typing import Any

import pytest

from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df


@pytest.fixture
def team_a(db: Any) -> df.Team:
    return df.team("Northwind Resellers", tier="Gold")


@pytest.fixture
def team_b(db: Any) -> df.Team:
    return df.team("Southwind Systems", tier="Silver")


@pytest.fixture
def vendor_admin(db: Any) -> Actor:
    return factories.vendor_actor(VendorRole.PROGRAM_ADMIN)


@pytest.fixture
def finance(db: Any) -> Actor:
    return factories.vendor_actor(VendorRole.FINANCE)


@pytest.fixture
def other_finance(db: Any) -> Actor:
    """A second finance user: pays what ``finance`` approved (four eyes)."""
    return factories.vendor_actor(VendorRole.FINANCE)
