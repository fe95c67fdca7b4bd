"""How the OpenAPI schema describes our bearer tokens (imported by PrmConfig.ready: drf-spectacular
finds extensions by subclass registration)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "prm.api.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from the portal (Account → API tokens), prm_…",
        }
