"""Who may see and do what with partners and their people.

``partner_scope_q`` is *the* scoping path for every tenant-owned model in every app: later apps
call it with the name of their partner foreign key, so a partner user sees only their company's
rows, a channel account manager only their portfolio, and other vendor staff everything.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import (
    Membership,
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerUserObjectPermission,
    ProfileChangeRequest,
)

PORTFOLIO_PERMISSION = "work_partner"


def portfolio_partner_ids(actor: Actor | None = None, *, user_id: int | None = None) -> QuerySet:
    """Partner ids a channel account manager works (django-guardian, direct-FK permission table)."""
    if actor is not None:
        user_id = actor.user.pk if actor.user else None
    return PartnerUserObjectPermission.objects.filter(
        user_id=user_id,
        permission__codename=PORTFOLIO_PERMISSION,
        permission__content_type__app_label="partners",
    ).values("content_object_id")


def vendor_sees_all(actor: Actor) -> bool:
    return actor.is_vendor and actor.vendor_role in {
        VendorRole.PROGRAM_ADMIN,
        VendorRole.FINANCE,
        VendorRole.CONTENT_MANAGER,
    }


def partner_scope_q(actor: Actor, partner_field: str = "partner") -> Q:
    """Rows of a partner-owned model this actor may see (``partner_field`` is the FK's path)."""
    if vendor_sees_all(actor):
        return Q()
    if actor.is_vendor and actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER:
        if actor.portfolio:
            # The portfolio as resolved with the actor: the very ids row-level security holds the
            # request to (prm.portfolio). A subquery of the permission table instead is what
            # PostgreSQL, under row-level security, expects one row of: it cost 10-15 ms in every
            # statement of a large portfolio's pages (as deals.policies.DealPolicy found first).
            # An empty portfolio keeps the subquery (no rows either): ``IN ()`` has no SQL, and
            # some reports compile theirs (deals.pipeline, deals.selectors.review_counts).
            return Q(**{f"{partner_field}__in_ids": actor.portfolio})
        return Q(**{f"{partner_field}__in": portfolio_partner_ids(actor)})
    if actor.is_partner:
        return Q(**{f"{partner_field}_id" if partner_field != "pk" else "pk": actor.partner_id})
    return NOTHING


def sees_partner_business(actor: Actor) -> bool:
    """Whether this actor's role has any business with partners' deals, leads, funds, proofs and
    earnings. The content / training manager works every partner's content and training, and
    never sees their money (PRODUCT.md, "People and roles")."""
    return not (actor.is_vendor and actor.vendor_role == VendorRole.CONTENT_MANAGER)


def business_scope_q(actor: Actor, partner_field: str = "partner") -> Q:
    """``partner_scope_q`` for a partner's business — deals, leads, fund requests, claims and
    proofs, allocations and ledgers, earnings and statements: nothing for a content manager."""
    if not sees_partner_business(actor):
        return NOTHING
    return partner_scope_q(actor, partner_field)


def can_work_partner(actor: Actor, partner: Partner) -> bool:
    """Vendor-side access to one partner: everybody with a vendor role except CAMs outside
    their portfolio."""
    if vendor_sees_all(actor):
        return True
    if actor.is_vendor and actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER:
        if actor.portfolio is not None:
            return partner.pk in actor.portfolio
        return portfolio_partner_ids(actor).filter(content_object_id=partner.pk).exists()
    return False


class PartnerPolicy(Policy[Partner]):
    model = Partner

    def visible(self, actor: Actor) -> Q:
        return partner_scope_q(actor, "pk")

    def can(self, actor: Actor, action: str, obj: Partner | None = None) -> bool:
        if action == "view":
            return obj is not None and self.scope(actor).filter(pk=obj.pk).exists()
        if (
            action in {"edit_profile", "manage_team", "accept_agreement", "request_profile_change"}
            and actor.is_partner
        ):
            return obj is not None and obj.pk == actor.partner_id and actor.partner_role == PartnerRole.ADMIN
        if action == "edit_profile" and actor.is_vendor:
            return (
                obj is not None
                and actor.vendor_role in {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER}
                and can_work_partner(actor, obj)
            )
        if action == "manage_team" and actor.is_vendor:
            return obj is not None and actor.vendor_role == VendorRole.PROGRAM_ADMIN
        if action == "change_status":
            return (
                obj is not None
                and actor.is_vendor
                and actor.vendor_role in {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER}
                and can_work_partner(actor, obj)
            )
        if action in {"assign_channel_manager", "manage_portfolio", "change_tier"}:
            return actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN
        if action == "list":
            return actor.is_vendor
        return False


class MembershipPolicy(Policy[Membership]):
    model = Membership

    def visible(self, actor: Actor) -> Q:
        return partner_scope_q(actor)

    def can(self, actor: Actor, action: str, obj: Membership | None = None) -> bool:
        if obj is None:
            return False
        return PartnerPolicy().can(actor, "manage_team", obj.partner)


class ApplicationPolicy(Policy[PartnerApplication]):
    """Applications are vendor-only data: program admins and channel account managers review."""

    model = PartnerApplication

    def visible(self, actor: Actor) -> Q:
        if actor.is_vendor and actor.vendor_role in {
            VendorRole.PROGRAM_ADMIN,
            VendorRole.CHANNEL_ACCOUNT_MANAGER,
        }:
            return Q()
        return NOTHING

    def can(self, actor: Actor, action: str, obj: PartnerApplication | None = None) -> bool:
        if action in {"review", "view"}:
            return actor.is_vendor and actor.vendor_role in {
                VendorRole.PROGRAM_ADMIN,
                VendorRole.CHANNEL_ACCOUNT_MANAGER,
            }
        return False


class ProfileChangePolicy(Policy[ProfileChangeRequest]):
    """A partner's own people see its requests (the company page shows them to every role); a
    partner admin asks (PartnerPolicy "request_profile_change"). Vendor staff see them through the
    one scoping path, and the partner's channel account manager or a program admin decides."""

    model = ProfileChangeRequest

    def visible(self, actor: Actor) -> Q:
        return partner_scope_q(actor)

    def can(self, actor: Actor, action: str, obj: ProfileChangeRequest | None = None) -> bool:
        if action == "decide":
            if not actor.is_vendor or obj is None:
                return False
            if actor.vendor_role == VendorRole.PROGRAM_ADMIN:
                return True
            return actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER and can_work_partner(
                actor, obj.partner
            )
        return False


partner_policy = PartnerPolicy()
membership_policy = MembershipPolicy()
application_policy = ApplicationPolicy()
profile_change_policy = ProfileChangePolicy()
