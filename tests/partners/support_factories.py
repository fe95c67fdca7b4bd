"""Support cases for tests: a kind, an opened case (through the service), upload bytes."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from partners.models import CaseKind, CasePriority, SupportCase
from partners.support import selectors as support_selectors
from partners.support import services as support_services
from prm.tenancy import Actor
from tests.scoping import acting


class _InActorScope:
    """A support module whose functions, called with an ``actor``, run in that actor's database
    scope, as a view would call them. tests/scoping.py gives this to every app's top-level
    services and selectors; a sub-package's modules get it here."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._module, name)
        if not callable(member) or isinstance(member, type):
            return member

        def call(*args: Any, **kwargs: Any) -> Any:
            actor = kwargs.get("actor")
            if actor is None:
                return member(*args, **kwargs)
            with acting(actor):
                return member(*args, **kwargs)

        return call


services: Any = _InActorScope(support_services)
selectors: Any = _InActorScope(support_selectors)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


# As migration 0008 names them (a transactional test's flush removes the migration's rows).
NAMES = {
    CaseKind.BUSINESS_CONSULTING: "Business consulting",
    CaseKind.COMPLAINT: "Complaint",
    CaseKind.BUSINESS_FAILURE: "Business failure report",
}


def kind(key: str = CaseKind.COMPLAINT, name: str | None = None) -> CaseKind:
    found, _created = CaseKind.objects.get_or_create(
        key=key, defaults={"name": name or NAMES.get(key) or key.replace("_", " ").capitalize()}
    )
    return found


def built_in_kinds() -> list[CaseKind]:
    return [kind(key) for key in NAMES]


def pdf(name: str = "evidence.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def open_case(
    actor: Actor,
    *,
    subject: str = "Invoices arrive twice",
    description: str = "Every invoice since May came twice.",
    priority: str = CasePriority.NORMAL,
    kind_key: str = CaseKind.COMPLAINT,
    files: list[Any] | None = None,
    **kwargs: Any,
) -> SupportCase:
    return services.case_open(
        actor=actor,
        kind=kind(kind_key),
        subject=subject,
        description=description,
        priority=priority,
        files=files or [],
        **kwargs,
    )
