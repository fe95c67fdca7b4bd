"""Fixtures for the deals tests: two partner teams, a program admin and a channel account manager
who works partner A."""

from __future__ import annotations

from typing import Any

import pytest

from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as f


@pytest.fixture
def team_a(db: Any) -> f.Team:
    return f.team("Northwind Resellers", tier="Gold")


@pytest.fixture
def team_b(db: Any) -> f.Team:
    return f.team("Southwind Systems", tier="Silver")


@pytest.fixture
def vendor_admin(db: Any) -> Actor:
    """A program admin (reviews every partner's deals)."""
    return factories.vendor_actor(VendorRole.PROGRAM_ADMIN)


@pytest.fixture
def cam(team_a: f.Team) -> Actor:
    """Partner A's channel account manager."""
    return f.cam_for(team_a.partner)
