from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.content import factories as f


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Every content test stores uploads in its own folder (and can list what was written)."""
    return f.media_storage(settings, tmp_path / "media")
