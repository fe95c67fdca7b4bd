"""Claim proof files live under the partner's own prefix with a random name."""

from __future__ import annotations

import uuid
from typing import Any


def claim_proof_path(instance: Any, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"partners/{instance.partner_id}/mdf/claims/{instance.claim_id}/{uuid.uuid4().hex}.{extension}"
