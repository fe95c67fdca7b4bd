"""Demo support cases (``manage.py seed_demo`` runs it after the other apps' demo data, so a case
can be about a demo deal): each kind, in several states — one breached and never answered, one
waiting for the partner, one resolved and rated, one resolved waiting for its rating, one new with
an internal note — and a support team. Idempotent: a case is made once per partner and subject.

Made through the services (dated in the past with their ``now``), so the audit trail, the
notifications and the SLA due times are what real use would leave.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from prm.models import User
from prm.tenancy import Actor

from ..middleware import resolve_actor
from ..models import CaseKind, CasePriority, SupportCase, SupportTeam
from . import linkables, services

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _vendor(email: str) -> Actor | None:
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None or not user.vendor_role:
        return None
    return resolve_actor(user)


def _partner_actor(email: str) -> Actor | None:
    user = User.objects.filter(email=email, is_active=True).first()
    return resolve_actor(user) if user is not None else None


# The kinds migration 0008 creates; a database emptied since (a flushed test database) gets them back.
KIND_NAMES = {
    CaseKind.BUSINESS_CONSULTING: "Business consulting",
    CaseKind.COMPLAINT: "Complaint",
    CaseKind.BUSINESS_FAILURE: "Business failure report",
}


def _open(actor: Actor, *, subject: str, kind: str, ago: timedelta, **kwargs: Any) -> SupportCase | None:
    if SupportCase.objects.filter(partner_id=actor.partner_id, subject=subject).exists():
        return None
    return services.case_open(
        actor=actor,
        kind=CaseKind.objects.get_or_create(key=kind, defaults={"name": KIND_NAMES[kind]})[0],
        subject=subject,
        now=timezone.now() - ago,
        **kwargs,
    )


def seed(stdout: Any = None) -> None:
    support = _vendor("sven.support@prm.example")
    cam = _vendor("carl.cam@prm.example")
    alice = _partner_actor("alice.admin@acme.example")
    bob = _partner_actor("bob.admin@globex.example")
    ivy = _partner_actor("ivy.admin@initech.example")
    if not (support and cam and alice and bob and ivy):
        return
    team, _created = SupportTeam.objects.get_or_create(name="First line")
    team.members.add(support.user)
    SupportTeam.objects.get_or_create(name="Billing")

    # Breached: a high-priority complaint nobody has answered for a week.
    _open(
        alice,
        subject="Replacement units arrived cracked",
        kind=CaseKind.COMPLAINT,
        ago=timedelta(days=7),
        priority=CasePriority.HIGH,
        description="Three of the ten replacement firewalls we received were cracked. "
        "Photos of the boxes and the delivery note attached.",
        files=[SimpleUploadedFile("delivery-note.pdf", PDF, content_type="application/pdf")],
    )

    # Waiting for the partner: advice asked, the vendor answered with a question. About a deal.
    deal_choice = next(iter(linkables.choices_for(alice)), None)
    related = ""
    if deal_choice is not None:
        related = deal_choice[1][0][0]
    consulting = _open(
        alice,
        subject="How to bid for a public-sector tender",
        kind=CaseKind.BUSINESS_CONSULTING,
        ago=timedelta(days=2),
        description="A city council asked us to bid. What do we need from you to qualify?",
        related=related,
    )
    if consulting is not None:
        services.case_assign(actor=support, case=consulting, assignee=cam.user)
        services.case_reply(
            actor=cam,
            case=consulting,
            body="Happy to help. Is it a framework agreement or a one-off purchase? "
            "Please send the tender reference.",
            now=timezone.now() - timedelta(days=1),
        )
        services.case_add_note(
            actor=cam,
            case=consulting,
            body="Acme is close to Platinum; worth a joint bid with our public-sector team.",
        )

    # Resolved and rated.
    outage = _open(
        bob,
        subject="Order portal down during quarter close",
        kind=CaseKind.BUSINESS_FAILURE,
        ago=timedelta(days=10),
        priority=CasePriority.URGENT,
        description="Since 08:00 the order portal answers 502; we cannot book Q4 orders.",
    )
    if outage is not None:
        services.case_assign(actor=support, case=outage, team=team)
        services.case_reply(
            actor=support,
            case=outage,
            body="Confirmed: a failed certificate renewal. Engineering is on it.",
            now=timezone.now() - timedelta(days=10) + timedelta(minutes=40),
        )
        services.case_resolve(
            actor=support,
            case=outage,
            body="Fixed at 10:15; orders placed meanwhile went through.",
            now=timezone.now() - timedelta(days=10) + timedelta(hours=2),
        )
        services.case_rate(
            actor=bob, case=outage, rating=4, comment="Quick fix, but tell us sooner next time."
        )

    # Resolved, waiting for its rating.
    invoice = _open(
        ivy,
        subject="Invoice shows the wrong discount",
        kind=CaseKind.COMPLAINT,
        ago=timedelta(days=4),
        description="Invoice 2026-118 applies 10 % instead of our 15 % Gold discount.",
    )
    if invoice is not None:
        services.case_resolve(
            actor=support,
            case=invoice,
            body="Credit note issued for the difference; future invoices use 15 %.",
            now=timezone.now() - timedelta(days=3),
        )

    # New, with an internal note.
    fresh = _open(
        bob,
        subject="Guidance on a managed-services offer",
        kind=CaseKind.BUSINESS_CONSULTING,
        ago=timedelta(hours=3),
        priority=CasePriority.LOW,
        description="We want to resell your firewall as a managed service. Which licence model fits?",
    )
    if fresh is not None:
        services.case_add_note(
            actor=support, case=fresh, body="Route to the MSP programme owner before replying."
        )
    if stdout is not None:
        stdout.write(f"Support cases in the demo: {SupportCase.objects.count()}.")
