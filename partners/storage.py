"""Where partner files live: under the partner's own prefix, with a random safe name."""

from __future__ import annotations

import uuid
from typing import Any


def partner_logo_path(instance: Any, filename: str) -> str:
    # The original name is never used: it could carry path tricks or another partner's name.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"partners/{instance.pk or 'new'}/logo/{uuid.uuid4().hex}.{extension}"


def case_attachment_path(instance: Any, filename: str) -> str:
    """Under the partner's own prefix with a random name: the uploaded name is never used (it could
    carry path tricks or another partner's name); it is kept in ``original_name`` for display."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"partners/{instance.partner_id}/support/{instance.case_id}/{uuid.uuid4().hex}.{extension}"


def listing_logo_path(instance: Any, filename: str) -> str:
    """The public locator's logo, under the partner's own prefix with a random name."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"partners/{instance.partner_id}/listing/{uuid.uuid4().hex}.{extension}"
