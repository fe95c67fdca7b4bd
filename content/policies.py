"""Who sees which content. Assets and announcements are vendor-owned: a partner sees one only when
its audience rules entitle the partner (published, inside its window, matching tier, partner type
and region); vendor staff see all, and content managers and program admins manage them. Usage
events are tenant-owned and scoped like every other partner row."""

from __future__ import annotations

from django.db.models import Exists, Model, OuterRef, Q
from django.utils import timezone

from partners.policies import partner_scope_q
from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import Announcement, Asset, AssetEvent, AssetKind, AssetStatus

MANAGER_ROLES = frozenset({VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER})
MANAGE = "manage"
VIEW = "view"
DOWNLOAD = "download"
COBRAND = "cobrand"


def is_content_manager(actor: Actor) -> bool:
    return actor.is_vendor and actor.vendor_role in MANAGER_ROLES


def audience_q(actor: Actor, model: type[Model]) -> Q:
    """The rows of an ``AudienceRules`` model that the actor's partner company is entitled to now.

    The tier rule goes through ``Exists`` on the M2M table rather than a join, so an asset open to
    several tiers is still one row (no DISTINCT needed) and the query plan stays a semi-join.
    """
    partner = actor.partner
    now = timezone.now()
    tier_rows = model.tiers.through.objects.filter(**{f"{model._meta.model_name}_id": OuterRef("pk")})
    return (
        (Q(publish_at__isnull=True) | Q(publish_at__lte=now))
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        & (Q(partner_types=[]) | Q(partner_types__contains=[partner.partner_type]))
        & (Q(regions=[]) | Q(regions__contains=[partner.region]))
        & (~Q(Exists(tier_rows)) | Q(Exists(tier_rows.filter(tier_id=partner.tier_id))))
    )


def audience_key(actor: Actor) -> tuple[str, ...]:
    """What :func:`audience_q` reads of the actor's partner, as a cache key's parts: two partners
    with the same key are entitled to the same rows at every moment. (Kept beside it: a rule that
    reads something more of the partner must add it here.)"""
    partner = actor.partner
    return ("tier", str(partner.tier_id), "type", partner.partner_type, "region", partner.region)


class AssetPolicy(Policy[Asset]):
    model = Asset

    def visible(self, actor: Actor) -> Q:
        if actor.is_vendor:
            return Q()
        if actor.is_partner:
            return Q(status=AssetStatus.PUBLISHED) & audience_q(actor, Asset)
        return NOTHING

    def can(self, actor: Actor, action: str, obj: Asset | None = None) -> bool:
        if action == MANAGE:
            return is_content_manager(actor)
        if obj is None or not self.scope(actor).filter(pk=obj.pk).exists():
            return False
        if action == VIEW:
            return True
        if action == DOWNLOAD:
            return obj.kind == AssetKind.LINK or obj.current_version_id is not None
        if action == COBRAND:
            return actor.is_partner and obj.cobrandable and bool(obj.cobrand_template)
        return False


class AssetEventPolicy(Policy[AssetEvent]):
    model = AssetEvent

    def visible(self, actor: Actor) -> Q:
        return partner_scope_q(actor)


class AnnouncementPolicy(Policy[Announcement]):
    model = Announcement

    def visible(self, actor: Actor) -> Q:
        if actor.is_vendor:
            return Q()
        if actor.is_partner:
            return audience_q(actor, Announcement)
        return NOTHING

    def can(self, actor: Actor, action: str, obj: Announcement | None = None) -> bool:
        return action == MANAGE and is_content_manager(actor)


asset_policy = AssetPolicy()
asset_event_policy = AssetEventPolicy()
announcement_policy = AnnouncementPolicy()
