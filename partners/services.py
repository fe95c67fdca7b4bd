"""Writes for partners, their people and recruitment. One function per transition; each locks the
row, checks the transition, writes an audit event and schedules side effects after commit."""

from __future__ import annotations

import zlib
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from prm import audit, transitions
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.notifications import notify, send_email
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor, Scope, system_scope, tenant_scope

from .models import (
    VENDOR_CONTROLLED_FIELDS,
    ApplicationStatus,
    Invitation,
    Membership,
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerStatus,
    PartnerUserObjectPermission,
    ProfileChangeRequest,
    ProfileChangeStatus,
    Tier,
)
from .policies import PORTFOLIO_PERMISSION, partner_policy, profile_change_policy
from .uploads import validate_logo

User = get_user_model()

PROFILE_FIELDS = (
    "legal_name",
    "partner_type",
    "country",
    "region",
    "website_domain",
    "phone",
    "contact_email",
)
INVITATION_SALT = "partners.invitation"


def _lock_partner(partner: Partner) -> Partner:
    return transitions.lock(partner)


# --- Recruitment --------------------------------------------------------------------------------
def application_submit(*, data: dict[str, Any]) -> PartnerApplication:
    """A public application. The public answer is the same whatever the address: it must not tell
    a stranger whether an e-mail has a portal account, or has applied before. So an address that
    already has an account is accepted like any other (the reviewer is warned on the application
    page, see selectors.application_existing_account), and a duplicate of an application still
    awaiting review (a double-click, a resend) quietly returns the one we have."""
    # Applications are vendor-only rows (RLS); the anonymous applicant writes one through the
    # system scope and never reads anything back.
    with system_scope():
        return _application_submit(data=data)


def _application_submit(*, data: dict[str, Any]) -> PartnerApplication:
    email = data["contact_email"].strip().lower()
    domain = data["website_domain"]
    existing = PartnerApplication.objects.filter(
        contact_email__iexact=email, website_domain__iexact=domain, status=ApplicationStatus.SUBMITTED
    ).first()
    if existing is not None:
        return existing
    application = PartnerApplication.objects.create(**{**data, "contact_email": email})
    for reviewer in User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN, is_active=True):
        notify(
            recipient=reviewer,
            kind="application.submitted",
            title=_("New partner application: %(name)s") % {"name": application.company_name},
            url=reverse("vendor:application_detail", args=[application.pk]),
        )
    return application


def application_approve(
    *, actor: Actor, application: PartnerApplication, tier: Tier | None = None
) -> Partner:
    from .policies import application_policy

    application_policy.require(actor, "review", application)
    application = transitions.lock(application)
    with transitions.transition(
        application, to=ApplicationStatus.APPROVED, actor=actor.user, action="application.approved"
    ) as change:
        if User.objects.filter(email__iexact=application.contact_email).exists():
            raise ApplicationError(
                _("%(email)s already has a portal account; it cannot be invited again.")
                % {"email": application.contact_email}
            )
        tier = tier or Tier.objects.order_by("rank").first()
        if tier is None:
            raise ApplicationError(_("Set up at least one program tier before approving partners."))
        partner = Partner.objects.create(
            legal_name=application.company_name,
            partner_type=application.partner_type,
            country=application.country,
            region=application.region,
            website_domain=application.website_domain,
            phone=application.contact_phone,
            contact_email=application.contact_email,
            status=PartnerStatus.ONBOARDING,
            tier=tier,
        )
        change.partner_id = partner.pk
        change.set(reviewed_by=actor.user, reviewed_at=timezone.now(), partner=partner)
    audit.record(
        actor=actor.user,
        action="partner.created",
        target=partner,
        partner_id=partner.pk,
        after=audit.snapshot(partner, ["legal_name", "status", "tier"]),
    )
    # The reviewer's approval is the authority to invite the applicant as the partner's admin.
    _invite(
        actor=actor,
        partner=partner,
        email=application.contact_email,
        role=PartnerRole.ADMIN,
        greeting_name=application.contact_name,
    )
    return partner


def application_reject(*, actor: Actor, application: PartnerApplication, reason: str) -> PartnerApplication:
    from .policies import application_policy

    application_policy.require(actor, "review", application)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the applicant a reason for the rejection."), field="reason")
    application = transitions.lock(application)
    with transitions.transition(
        application,
        to=ApplicationStatus.REJECTED,
        actor=actor.user,
        action="application.rejected",
        reason=reason,
    ) as change:
        change.set(rejection_reason=reason, reviewed_by=actor.user, reviewed_at=timezone.now())
    send_email(
        to=[application.contact_email],
        subject=_("Your partner application"),
        template="emails/application_rejected",
        context={"name": application.contact_name, "company": application.company_name, "reason": reason},
    )
    return application


# --- Partner profile and status ---------------------------------------------------------------
def partner_update_profile(*, actor: Actor, partner: Partner, data: dict[str, Any]) -> Partner:
    partner_policy.require(actor, "edit_profile", partner)
    partner = _lock_partner(partner)
    changed = [name for name in PROFILE_FIELDS if name in data and getattr(partner, name) != data[name]]
    if actor.is_partner and set(changed) & set(VENDOR_CONTROLLED_FIELDS):
        # Type, region and country decide content entitlement and lead routing: a partner asks.
        raise PermissionDenied(
            _("Your type, region and country are set by the vendor; ask for a change instead."),
            field="partner_type",
        )
    if not changed:
        return partner
    before = audit.snapshot(partner, changed)
    for name in changed:
        setattr(partner, name, data[name])
    partner.save(update_fields=[*changed, "updated_at"])
    audit.record(
        actor=actor.user,
        action="partner.profile_updated",
        target=partner,
        before=before,
        after=audit.snapshot(partner, changed),
        partner_id=partner.pk,
    )
    return partner


def partner_set_logo(*, actor: Actor, partner: Partner, upload: UploadedFile) -> Partner:
    partner_policy.require(actor, "edit_profile", partner)
    validate_logo(upload)  # raises ApplicationError with a clear message; nothing is stored
    partner = _lock_partner(partner)
    old_name = partner.logo.name
    partner.logo.save(upload.name, upload, save=False)
    partner.save(update_fields=["logo", "updated_at"])
    audit.record(
        actor=actor.user,
        action="partner.logo_changed",
        target=partner,
        partner_id=partner.pk,
        before={"logo": old_name},
        after={"logo": partner.logo.name},
    )
    if old_name:
        storage = partner.logo.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    return partner


def _transition(
    *,
    actor: Actor,
    partner: Partner,
    to: str,
    action: str,
    reason: str = "",
    from_states: set[str] | None = None,
    refusal: str | None = None,
) -> Partner:
    partner_policy.require(actor, "change_status", partner)
    partner = _lock_partner(partner)
    with transitions.transition(
        partner,
        to=to,
        from_states=from_states,
        refusal=refusal,
        actor=actor.user,
        action=action,
        partner_id=partner.pk,
        reason=reason,
    ):
        pass  # a status change has no rules of its own beyond who may make it
    for membership in partner.memberships.filter(is_active=True, role=PartnerRole.ADMIN).select_related(
        "user"
    ):
        notify(
            recipient=membership.user,
            kind=action,
            partner_id=partner.pk,
            title=_("Your partner status is now: %(status)s")
            % {"status": PartnerStatus(partner.status).label},
            body=reason,
            url=reverse("home"),
        )
    return partner


def partner_start_onboarding(*, actor: Actor, partner: Partner) -> Partner:
    return _transition(actor=actor, partner=partner, to=PartnerStatus.ONBOARDING, action="partner.onboarding")


def partner_activate(*, actor: Actor, partner: Partner) -> Partner:
    return _transition(actor=actor, partner=partner, to=PartnerStatus.ACTIVE, action="partner.activated")


def partner_suspend(*, actor: Actor, partner: Partner, reason: str) -> Partner:
    if not (reason or "").strip():
        raise ApplicationError(_("Say why the partner is suspended; its admins will see it."), field="reason")
    return _transition(
        actor=actor, partner=partner, to=PartnerStatus.SUSPENDED, action="partner.suspended", reason=reason
    )


def partner_reinstate(*, actor: Actor, partner: Partner) -> Partner:
    # Activating an onboarding partner is allowed, but it is not a reinstatement.
    return _transition(
        actor=actor,
        partner=partner,
        to=PartnerStatus.ACTIVE,
        action="partner.reinstated",
        from_states={PartnerStatus.SUSPENDED},
        refusal=_("Only a suspended partner can be reinstated."),
    )


def partner_terminate(*, actor: Actor, partner: Partner, reason: str) -> Partner:
    if not (reason or "").strip():
        raise ApplicationError(_("Say why the partnership ends."), field="reason")
    return _transition(
        actor=actor, partner=partner, to=PartnerStatus.TERMINATED, action="partner.terminated", reason=reason
    )


def partner_change_tier(*, actor: Actor, partner: Partner, tier: Tier, reason: str = "") -> Partner:
    partner_policy.require(actor, "change_tier", partner)
    partner = _lock_partner(partner)
    if partner.tier_id == tier.pk:
        return partner
    before = audit.snapshot(partner, ["tier"])
    partner.tier = tier
    partner.save(update_fields=["tier", "updated_at"])
    audit.record(
        actor=actor.user,
        action="partner.tier_changed",
        target=partner,
        before=before,
        after=audit.snapshot(partner, ["tier"]),
        partner_id=partner.pk,
        reason=reason,
    )
    return partner


def partner_assign_channel_manager(*, actor: Actor, partner: Partner, manager: Any | None) -> Partner:
    """Make ``manager`` the partner's channel account manager and put the partner in their
    portfolio (a django-guardian object permission); the previous manager loses it."""
    partner_policy.require(actor, "assign_channel_manager", partner)
    if manager is not None and manager.vendor_role != VendorRole.CHANNEL_ACCOUNT_MANAGER:
        raise ApplicationError(
            _("%(user)s is not a channel account manager.") % {"user": manager},
            field="channel_account_manager",
        )
    partner = _lock_partner(partner)
    previous = partner.channel_account_manager
    if previous == manager:
        return partner
    before = audit.snapshot(partner, ["channel_account_manager"])
    permission = f"partners.{PORTFOLIO_PERMISSION}"
    if previous is not None:
        remove_perm(permission, previous, partner)
    if manager is not None:
        assign_perm(permission, manager, partner)
    partner.channel_account_manager = manager
    partner.save(update_fields=["channel_account_manager", "updated_at"])
    audit.record(
        actor=actor.user,
        action="partner.channel_manager_changed",
        target=partner,
        before=before,
        after=audit.snapshot(partner, ["channel_account_manager"]),
        partner_id=partner.pk,
    )
    if manager is not None:
        notify(
            recipient=manager,
            kind="portfolio.added",
            title=_("%(partner)s is now in your portfolio") % {"partner": partner.legal_name},
            url=reverse("vendor:partner_detail", args=[partner.pk]),
        )
    return partner


def _portfolio_emails(partner: Partner) -> list[str]:
    return sorted(
        PartnerUserObjectPermission.objects.filter(
            content_object_id=partner.pk, permission__codename=PORTFOLIO_PERMISSION
        ).values_list("user__email", flat=True)
    )


def _record_portfolio_change(actor: Actor, partner: Partner, action: str, before: list[str]) -> None:
    """Audit a portfolio change as the holders before and after, one readable line each."""
    audit.record(
        actor=actor.user,
        action=action,
        target=partner,
        before={"portfolio": ", ".join(before)},
        after={"portfolio": ", ".join(_portfolio_emails(partner))},
        partner_id=partner.pk,
    )


def _require_channel_manager(manager: Any) -> None:
    # Other vendor roles see every partner already; a portfolio only narrows a CAM's view.
    if manager is None or manager.vendor_role != VendorRole.CHANNEL_ACCOUNT_MANAGER or not manager.is_active:
        raise ApplicationError(
            _("%(user)s is not an active channel account manager.") % {"user": manager or "—"},
            field="manager",
        )


def portfolio_grant(*, actor: Actor, partner: Partner, manager: Any) -> Partner:
    """Let a channel account manager besides the manager of record work ``partner`` (cover for a
    colleague on leave, a team that shares accounts). The one audited way to add a portfolio
    permission; django-guardian's own admin pages are not used."""
    partner_policy.require(
        actor, "manage_portfolio", partner, _("Only program admins change channel account portfolios.")
    )
    _require_channel_manager(manager)
    partner = _lock_partner(partner)
    before = _portfolio_emails(partner)
    if manager.email in before:
        return partner
    assign_perm(f"partners.{PORTFOLIO_PERMISSION}", manager, partner)
    _record_portfolio_change(actor, partner, "partner.portfolio_granted", before)
    notify(
        recipient=manager,
        kind="portfolio.added",
        title=_("%(partner)s is now in your portfolio") % {"partner": partner.legal_name},
        url=reverse("vendor:partner_detail", args=[partner.pk]),
    )
    return partner


def portfolio_revoke(*, actor: Actor, partner: Partner, manager: Any) -> Partner:
    """Take ``partner`` out of a channel account manager's portfolio (program admins, audited)."""
    partner_policy.require(
        actor, "manage_portfolio", partner, _("Only program admins change channel account portfolios.")
    )
    partner = _lock_partner(partner)
    if partner.channel_account_manager_id == manager.pk:
        # The manager of record and the portfolio must agree: replacing the manager moves both.
        raise ApplicationError(
            _(
                "%(user)s is the partner's channel account manager; assign another channel account "
                "manager first."
            )
            % {"user": manager}
        )
    before = _portfolio_emails(partner)
    if manager.email not in before:
        return partner
    remove_perm(f"partners.{PORTFOLIO_PERMISSION}", manager, partner)
    _record_portfolio_change(actor, partner, "partner.portfolio_revoked", before)
    return partner


def partner_accept_agreement(*, actor: Actor, partner: Partner) -> Partner:
    partner_policy.require(
        actor, "accept_agreement", partner, _("Only a partner admin can accept the partner agreement.")
    )
    partner = _lock_partner(partner)
    version = settings.PRM["PARTNER_AGREEMENT_VERSION"]
    if partner.agreement_version == version:
        return partner
    with transitions.transition(
        partner,
        actor=actor.user,
        action="partner.agreement_accepted",
        snapshot=["agreement_version", "status"],
        partner_id=partner.pk,
    ) as change:
        change.set(
            agreement_version=version, agreement_accepted_by=actor.user, agreement_accepted_at=timezone.now()
        )
        if partner.status == PartnerStatus.ONBOARDING:
            # Accepting the agreement is the last onboarding step.
            change.become(PartnerStatus.ACTIVE)
    if partner.channel_account_manager_id:
        notify(
            recipient=partner.channel_account_manager,
            kind="partner.agreement_accepted",
            title=_("%(partner)s accepted the partner agreement") % {"partner": partner.legal_name},
            url=reverse("vendor:partner_detail", args=[partner.pk]),
        )
    return partner


# --- Profile change requests (type, region, country) -------------------------------------------
def profile_change_request(
    *, actor: Actor, partner: Partner, data: dict[str, Any], message: str
) -> ProfileChangeRequest:
    """A partner admin asks the vendor to change the partner's type, country or region."""
    partner_policy.require(
        actor, "request_profile_change", partner, _("Only a partner admin can ask for a profile change.")
    )
    message = (message or "").strip()
    if not message:
        raise ApplicationError(
            _("Tell your channel account manager why the change is needed."), field="message"
        )
    partner = _lock_partner(partner)
    requested = {name: data.get(name) or getattr(partner, name) for name in VENDOR_CONTROLLED_FIELDS}
    changed = [
        name for name in VENDOR_CONTROLLED_FIELDS if str(requested[name]) != str(getattr(partner, name))
    ]
    if not changed:
        raise ApplicationError(_("Choose a type, country or region different from the current one."))
    if ProfileChangeRequest.objects.filter(partner=partner, status=ProfileChangeStatus.PENDING).exists():
        raise ApplicationError(_("A change request is already awaiting review; wait for the answer first."))
    try:
        with transaction.atomic():
            change = ProfileChangeRequest.objects.create(
                partner=partner,
                **requested,
                **{f"from_{name}": getattr(partner, name) for name in VENDOR_CONTROLLED_FIELDS},
                message=message,
                requested_by=actor.user,
            )
    except IntegrityError as exc:  # a concurrent double submission
        raise ApplicationError(
            _("A change request is already awaiting review; wait for the answer first.")
        ) from exc
    audit.record(
        actor=actor.user,
        action="profile_change.requested",
        target=change,
        partner_id=partner.pk,
        before={name: getattr(change, f"from_{name}") for name in changed},
        after={name: getattr(change, name) for name in changed},
        reason=message,
    )
    manager = partner.channel_account_manager
    reviewers = (
        [manager]
        if manager is not None and manager.is_active
        else list(User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN, is_active=True))
    )
    for reviewer in reviewers:
        notify(
            recipient=reviewer,
            kind="profile_change.requested",
            title=_("%(partner)s asks to change its type, country or region")
            % {"partner": partner.legal_name},
            body=message,
            url=reverse("vendor:partner_detail", args=[partner.pk]) + "#profile-changes",
        )
    return change


def _decide(actor: Actor, change: ProfileChangeRequest) -> ProfileChangeRequest:
    profile_change_policy.require(
        actor,
        "decide",
        change,
        _("Only the partner's channel account manager or a program admin decides profile changes."),
    )
    change = ProfileChangeRequest.objects.select_for_update().select_related("partner").get(pk=change.pk)
    if change.status != ProfileChangeStatus.PENDING:
        raise ApplicationError(
            _("This request was already %(status)s.") % {"status": change.get_status_display().lower()}
        )
    return change


def _notify_decision(change: ProfileChangeRequest, title: str, body: str = "") -> None:
    if change.requested_by is not None and change.requested_by.is_active:
        notify(
            recipient=change.requested_by,
            kind=f"profile_change.{change.status}",
            partner_id=change.partner_id,
            title=title,
            body=body,
            url=reverse("partners:company") + "#profile-change",
        )


def profile_change_approve(*, actor: Actor, change_request: ProfileChangeRequest) -> ProfileChangeRequest:
    """Apply the requested type, country and region to the partner."""
    change = _decide(actor, change_request)
    partner = _lock_partner(change.partner)
    changed = [name for name in VENDOR_CONTROLLED_FIELDS if getattr(partner, name) != getattr(change, name)]
    before = {"status": change.status, **audit.snapshot(partner, changed)}
    for name in changed:
        setattr(partner, name, getattr(change, name))
    partner.save(update_fields=[*changed, "updated_at"])
    change.status = ProfileChangeStatus.APPROVED
    change.decided_by = actor.user
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(
        actor=actor.user,
        action="profile_change.approved",
        target=change,
        partner_id=partner.pk,
        before=before,
        after={"status": change.status, **audit.snapshot(partner, changed)},
    )
    _notify_decision(change, _("Your profile change was approved"))
    return change


def profile_change_reject(
    *, actor: Actor, change_request: ProfileChangeRequest, reason: str
) -> ProfileChangeRequest:
    reason = (reason or "").strip()
    change = _decide(actor, change_request)
    if not reason:
        raise ApplicationError(_("Tell the partner why the change is rejected."), field="reason")
    change.status = ProfileChangeStatus.REJECTED
    change.decided_by = actor.user
    change.decided_at = timezone.now()
    change.decision_reason = reason
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        actor=actor.user,
        action="profile_change.rejected",
        target=change,
        partner_id=change.partner_id,
        before={"status": ProfileChangeStatus.PENDING},
        after={"status": change.status},
        reason=reason,
    )
    _notify_decision(change, _("Your profile change was not approved"), reason)
    return change


# --- Team: invitations and memberships ---------------------------------------------------------
def invitation_token(invitation: Invitation) -> str:
    # Deterministic (no timestamp): expiry lives on the invitation, and revoking rotates nothing
    # because a closed invitation is refused whatever its token.
    return signing.Signer(salt=INVITATION_SALT).sign_object(
        {"i": invitation.pk, "n": invitation.nonce}, compress=True
    )


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(
        "partners:invitation_accept", args=[invitation_token(invitation)]
    )


def _send_invitation(invitation: Invitation, greeting_name: str = "") -> None:
    if User.objects.filter(email__iexact=invitation.email).exists():
        # The address already has an account (a person belongs to one company). Only its owner
        # learns that, from this e-mail; the inviting admin saw the same answer as for anyone.
        send_email(
            to=[invitation.email],
            subject=_("You are invited to the %(partner)s partner portal")
            % {"partner": invitation.partner.legal_name},
            template="partners/emails/invitation_existing_account",
            context={
                "partner": invitation.partner.legal_name,
                "role": invitation.get_role_display(),
                "inviter": str(invitation.invited_by) if invitation.invited_by else "",
                "login_url": settings.SITE_URL.rstrip("/") + reverse("account_login"),
            },
        )
        return
    send_email(
        to=[invitation.email],
        subject=_("You are invited to the %(partner)s partner portal")
        % {"partner": invitation.partner.legal_name},
        template="emails/invitation",
        context={
            "name": greeting_name,
            "partner": invitation.partner.legal_name,
            "role": invitation.get_role_display(),
            "inviter": str(invitation.invited_by) if invitation.invited_by else "",
            "url": invitation_url(invitation),
            "expires_at": invitation.expires_at.date().isoformat(),
        },
    )


def invitation_create(
    *, actor: Actor, partner: Partner, email: str, role: str, greeting_name: str = ""
) -> Invitation:
    """A partner admin (or a program admin) invites someone to the partner's team."""
    _require_team_manager(actor, partner)
    return _invite(actor=actor, partner=partner, email=email, role=role, greeting_name=greeting_name)


def _invite(*, actor: Actor, partner: Partner, email: str, role: str, greeting_name: str = "") -> Invitation:
    email = (email or "").strip().lower()
    if role not in PartnerRole.values:
        raise ApplicationError(_("Choose one of the partner roles."), field="role")
    if Membership.objects.filter(partner=partner, user__email__iexact=email).exists():
        # The team page lists them already, so saying so reveals nothing.
        raise ApplicationError(_("%(email)s is already on your team.") % {"email": email}, field="email")
    # An address with an account elsewhere (another company, vendor staff) gets an invitation like
    # any other, so the answer does not tell this company who has an account; the e-mail and the
    # link tell its owner that the address cannot join a second company (_send_invitation).
    if Invitation.objects.filter(
        partner=partner,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists():
        raise ApplicationError(
            _("%(email)s already has an open invitation; resend it instead.") % {"email": email},
            field="email",
        )
    # An expired, never-accepted invitation for the address is closed so the new one can exist.
    Invitation.objects.filter(
        partner=partner, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                partner=partner, email=email, role=role, invited_by=actor.user
            )
    except IntegrityError as exc:  # a concurrent double submission
        raise ApplicationError(
            _("%(email)s already has an open invitation.") % {"email": email}, field="email"
        ) from exc
    audit.record(
        actor=actor.user,
        action="invitation.created",
        target=invitation,
        partner_id=partner.pk,
        after={"email": email, "role": role},
    )
    _send_invitation(invitation, greeting_name)
    return invitation


def _require_team_manager(actor: Actor, partner: Partner) -> None:
    if actor.is_vendor and actor.vendor_role in {VendorRole.PROGRAM_ADMIN}:
        return
    if actor.is_partner and actor.partner_id == partner.pk and actor.partner_role == PartnerRole.ADMIN:
        return
    raise PermissionDenied(_("Only the partner's admins can manage its team."))


def invitation_resend(*, actor: Actor, invitation: Invitation) -> Invitation:
    _require_team_manager(actor, invitation.partner)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise ApplicationError(_("This invitation is closed; send a new one."))
    invitation.expires_at = timezone.now() + timezone.timedelta(days=settings.PRM["INVITATION_VALID_DAYS"])
    invitation.save(update_fields=["expires_at"])
    audit.record(
        actor=actor.user, action="invitation.resent", target=invitation, partner_id=invitation.partner_id
    )
    _send_invitation(invitation)
    return invitation


def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    _require_team_manager(actor, invitation.partner)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise ApplicationError(_("This invitation was already accepted; deactivate the member instead."))
    if invitation.revoked_at:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        actor=actor.user, action="invitation.revoked", target=invitation, partner_id=invitation.partner_id
    )
    return invitation


def invitation_from_token(token: str) -> Invitation | None:
    """The invitation a link points to, or None. Public: the token is checked before any read,
    and the read runs in the invitation's own partner scope."""
    try:
        payload = signing.Signer(salt=INVITATION_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, zlib.error):
        # Tampered, truncated, or signed in another format: the link is simply not valid.
        return None
    if not isinstance(payload, dict):
        return None
    with system_scope():
        invitation = (
            Invitation.objects.select_related("partner")
            .filter(pk=payload.get("i"), nonce=payload.get("n"))
            .first()
        )
    return invitation


def invitation_accept(*, token: str, full_name: str, password: str) -> Any:
    invitation = invitation_from_token(token)
    if invitation is None or not invitation.is_open:
        raise ApplicationError(
            _("This invitation link is no longer valid. Ask your partner admin for a new one.")
        )
    full_name = (full_name or "").strip()
    if not full_name:
        raise ApplicationError(_("Tell us your name."), field="full_name")
    with tenant_scope(Scope.partner(invitation.partner_id)):
        invitation = Invitation.objects.select_for_update().select_related("partner").get(pk=invitation.pk)
        if not invitation.is_open:
            raise ApplicationError(_("This invitation was already used."))
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ApplicationError(
                _("%(email)s already has an account; sign in instead.") % {"email": invitation.email}
            )
        candidate = User(email=invitation.email, full_name=full_name)
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages), field="password1") from exc
        user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name)
        # They proved the address by opening the link we sent to it.
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        membership = Membership.objects.create(user=user, partner=invitation.partner, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
        audit.record(
            actor=user, action="invitation.accepted", target=invitation, partner_id=invitation.partner_id
        )
        audit.record(
            actor=user,
            action="membership.created",
            target=membership,
            partner_id=invitation.partner_id,
            after={"user": user.email, "role": membership.role},
        )
        if invitation.invited_by_id and invitation.invited_by.is_active:
            notify(
                recipient=invitation.invited_by,
                kind="invitation.accepted",
                partner_id=invitation.partner_id if not invitation.invited_by.vendor_role else None,
                title=_("%(name)s joined %(partner)s")
                % {"name": full_name, "partner": invitation.partner.legal_name},
                url=reverse("partners:team")
                if not invitation.invited_by.vendor_role
                else reverse("vendor:partner_detail", args=[invitation.partner_id]),
            )
    return user


def _active_admin_count(partner_id: int) -> int:
    return Membership.objects.filter(
        partner_id=partner_id, role=PartnerRole.ADMIN, is_active=True, user__is_active=True
    ).count()


def _lock_membership(membership: Membership) -> Membership:
    # Lock every admin row of the company so two admins demoting each other at once cannot
    # leave it with none.
    list(
        Membership.objects.select_for_update().filter(
            partner_id=membership.partner_id, role=PartnerRole.ADMIN
        )
    )
    return Membership.objects.select_for_update().select_related("user", "partner").get(pk=membership.pk)


def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    _require_team_manager(actor, membership.partner)
    if role not in PartnerRole.values:
        raise ApplicationError(_("Choose one of the partner roles."), field="role")
    membership = _lock_membership(membership)
    if membership.role == role:
        return membership
    if (
        membership.role == PartnerRole.ADMIN
        and membership.is_active
        and _active_admin_count(membership.partner_id) <= 1
    ):
        raise ApplicationError(
            _("%(name)s is the last partner admin; make someone else an admin first.")
            % {"name": membership.user}
        )
    before = audit.snapshot(membership, ["role"])
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        actor=actor.user,
        action="membership.role_changed",
        target=membership,
        before=before,
        after=audit.snapshot(membership, ["role"]),
        partner_id=membership.partner_id,
    )
    notify(
        recipient=membership.user,
        kind="membership.role_changed",
        partner_id=membership.partner_id,
        title=_("Your role is now %(role)s") % {"role": PartnerRole(membership.role).label},
        url=reverse("home"),
    )
    return membership


def membership_deactivate(*, actor: Actor, membership: Membership) -> Membership:
    _require_team_manager(actor, membership.partner)
    membership = _lock_membership(membership)
    if not membership.is_active:
        return membership
    if membership.role == PartnerRole.ADMIN and _active_admin_count(membership.partner_id) <= 1:
        raise ApplicationError(
            _("%(name)s is the last partner admin and cannot be deactivated.") % {"name": membership.user}
        )
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    # The person belongs to this company only, so they can no longer sign in at all.
    membership.user.is_active = False
    membership.user.save(update_fields=["is_active"])
    audit.record(
        actor=actor.user,
        action="membership.deactivated",
        target=membership,
        before={"is_active": True},
        after={"is_active": False},
        partner_id=membership.partner_id,
    )
    return membership


def membership_reactivate(*, actor: Actor, membership: Membership) -> Membership:
    _require_team_manager(actor, membership.partner)
    membership = _lock_membership(membership)
    if membership.is_active:
        return membership
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    membership.user.is_active = True
    membership.user.save(update_fields=["is_active"])
    audit.record(
        actor=actor.user,
        action="membership.reactivated",
        target=membership,
        before={"is_active": False},
        after={"is_active": True},
        partner_id=membership.partner_id,
    )
    return membership


# --- Vendor staff ------------------------------------------------------------------------------
def vendor_user_set_role(*, actor: Actor, user: Any, role: str) -> Any:
    if not (actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN):
        raise PermissionDenied(_("Only program admins change vendor roles."))
    if role and role not in VendorRole.values:
        raise ApplicationError(_("Unknown vendor role."), field="vendor_role")
    if hasattr(user, "membership"):
        raise ApplicationError(_("A partner user cannot also hold a vendor role."))
    user = User.objects.select_for_update().get(pk=user.pk)
    before = audit.snapshot(user, ["vendor_role", "is_staff"])
    user.vendor_role = role
    user.is_staff = bool(role)
    user.save(update_fields=["vendor_role", "is_staff"])
    audit.record(
        actor=actor.user,
        action="user.vendor_role_changed",
        target=user,
        before=before,
        after=audit.snapshot(user, ["vendor_role", "is_staff"]),
    )
    return user
