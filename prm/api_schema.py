"""How the OpenAPI schema describes our bearer tokens and the errors every operation can answer
(imported by PrmConfig.ready: drf-spectacular finds extensions by subclass registration; the
postprocessing hook is named in SPECTACULAR_SETTINGS)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import list_hash


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "prm.api.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from the portal (Account → API tokens), prm_…",
        }


class AmountFieldSchema(OpenApiSerializerFieldExtension):
    """An amount is a string of digits: the pattern the field enforces, where drf-spectacular's
    own decimal pattern also allows "", "-5" and "."."""

    target_class = "prm.api.AmountField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "format": "decimal", "pattern": self.target.pattern}


class WritableChoiceFieldSchema(OpenApiSerializerFieldExtension):
    """The values a request may send (``writable``) and the ones a response may hold (all). The
    enum id is drf-spectacular's own hash of the choices, so ENUM_NAME_OVERRIDES names each set
    (both sit on one component name, and would otherwise share one enum name)."""

    target_class = "prm.api.WritableChoiceField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        labels = dict(self.target.choices)
        values = self.target.writable if direction == "request" else list(labels)
        return {
            "type": "string",
            "enum": values,
            "x-spec-enum-id": list_hash([(value, labels[value]) for value in values]),
        }


class ListSerializerLengthSchema(OpenApiSerializerFieldExtension):
    """A nested list's ``max_length``/``min_length`` as maxItems/minItems, which drf-spectacular
    leaves out: the schema allowed a deal of 51 lines that the API refuses."""

    target_class = "rest_framework.serializers.ListSerializer"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if self.target.max_length is not None:
            schema["maxItems"] = self.target.max_length
        if self.target.min_length is not None:
            schema["minItems"] = self.target.min_length
        return schema


ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "`detail` says what went wrong. An invalid request body or query parameter is "
    "instead answered field by field: each field's name maps to its messages (`lines` to one "
    "object per line).",
    "properties": {
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "The input the message is about, when it is one."},
        "problems": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Every reason a transition was refused (e.g. what a draft lacks to be submitted).",
        },
    },
}

# Every operation can answer these: they come from the API's kernel (authentication, permissions,
# throttling, ids, paging and filters), not from what one operation does.
ERROR_RESPONSES: dict[str, dict[str, Any]] = {
    "400": {
        "description": "Invalid input (an id, a page, a filter value or the request body), or a "
        "transition the object's state does not allow."
    },
    "401": {
        "description": "No API token, or one that is unknown, revoked or expired.",
        "headers": {
            "WWW-Authenticate": {"schema": {"type": "string"}, "required": True, "description": "Bearer"}
        },
    },
    "403": {
        "description": "The token's user may not use this operation (the deal API is for partner sales "
        "users and partner admins), or the partner has not accepted the current agreement."
    },
    "404": {"description": "No such object among yours, or a page past the last one."},
    "429": {
        "description": "Too many requests: wait the number of seconds in Retry-After.",
        "headers": {
            "Retry-After": {
                "schema": {"type": "integer"},
                "required": True,
                "description": "Seconds until the next request will be accepted.",
            }
        },
    },
}
BODY_ERROR_RESPONSES: dict[str, dict[str, Any]] = {
    "415": {"description": "The request body is not JSON (send `Content-Type: application/json`)."},
}


def document_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: adds the error answers to every operation, so a
    client (or a fuzzer) finds every status code the API can send in the schema."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            extra = {**ERROR_RESPONSES, **(BODY_ERROR_RESPONSES if "requestBody" in operation else {})}
            for status, response in extra.items():
                responses.setdefault(status, {**response, "content": content})
    return result
