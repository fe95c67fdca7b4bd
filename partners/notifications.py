"""The notification kinds the partners app sends (registered in prm.notification_kinds)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from partners.models import PartnerRole
from prm.notification_kinds import PARTNER, VENDOR, kind

PARTNERSHIP = _("Partnership")
PEOPLE = _("People and access")
SUPPORT = _("Support cases")
BOTH = (PARTNER, VENDOR)
# Who at a partner hears about these (the services' recipients).
ADMINS = (PartnerRole.ADMIN,)

KINDS = [
    kind(
        "application.submitted",
        _("New partner application"),
        _("A company applied to become a partner and waits for a program admin's decision."),
        group=PARTNERSHIP,
        audiences=(VENDOR,),
    ),
    kind(
        "partner.onboarding",
        _("Partnership approved, onboarding starts"),
        _("Your company was approved and can now go through onboarding."),
        partner_roles=ADMINS,
        group=PARTNERSHIP,
    ),
    kind(
        "partner.activated",
        _("Partnership active"),
        _("Your company's partnership became active."),
        partner_roles=ADMINS,
        group=PARTNERSHIP,
    ),
    kind(
        "partner.suspended",
        _("Partnership suspended"),
        _("Your company's partnership was suspended, with the reason the vendor gave."),
        partner_roles=ADMINS,
        group=PARTNERSHIP,
        mandatory_reason=_("It changes whether your company can use the portal at all."),
    ),
    kind(
        "partner.reinstated",
        _("Partnership reinstated"),
        _("A suspended partnership was reinstated."),
        partner_roles=ADMINS,
        group=PARTNERSHIP,
    ),
    kind(
        "partner.terminated",
        _("Partnership ended"),
        _("Your company's partnership was ended, with the reason the vendor gave."),
        partner_roles=ADMINS,
        group=PARTNERSHIP,
        mandatory_reason=_("It changes whether your company can use the portal at all."),
    ),
    kind(
        "partner.agreement_accepted",
        _("Partner agreement accepted"),
        _("A partner in your portfolio accepted the partner agreement."),
        group=PARTNERSHIP,
        audiences=(VENDOR,),
    ),
    kind(
        "portfolio.added",
        _("Partner added to your portfolio"),
        _("You became the channel account manager of a partner."),
        group=PARTNERSHIP,
        audiences=(VENDOR,),
    ),
    kind(
        "profile_change.requested",
        _("Profile change requested"),
        _("A partner asks to change its type, country or region; you decide."),
        group=PARTNERSHIP,
        audiences=(VENDOR,),
    ),
    kind(
        "profile_change.approved",
        _("Profile change approved"),
        _("The change of type, country or region you asked for was approved."),
        partner_roles=ADMINS,
        group=PARTNERSHIP,
    ),
    kind(
        "profile_change.rejected",
        _("Profile change rejected"),
        _("The change of type, country or region you asked for was rejected, with the reason."),
        partner_roles=ADMINS,
        group=PARTNERSHIP,
    ),
    kind(
        "invitation.accepted",
        _("Invitation accepted"),
        _("Someone you invited accepted the invitation and joined."),
        group=PEOPLE,
        audiences=BOTH,
    ),
    kind(
        "membership.role_changed",
        _("Your role changed"),
        _("Your role in your company's team was changed, which changes what you may see and do."),
        group=PEOPLE,
        mandatory_reason=_("A security notice: you are always told when your access changes."),
    ),
    kind(
        "support.opened",
        _("Support case opened"),
        _("A support case was opened: yours, with when we answer it, or a new one for support staff."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.replied",
        _("Reply on a support case"),
        _("Someone replied on a support case you follow."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.files_added",
        _("Files added to a support case"),
        _("Someone attached files to a support case you follow."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.assigned",
        _("Support case assigned"),
        _("A support case was assigned to you."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.priority_changed",
        _("Support case priority changed"),
        _("The priority of a support case you follow changed, and with it when it must be answered."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.resolved",
        _("Support case resolved"),
        _("A support case was marked resolved; you can reopen it if the problem is still there."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.reopened",
        _("Support case reopened"),
        _("A resolved support case was reopened."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.closed",
        _("Support case closed"),
        _("A support case was closed."),
        group=SUPPORT,
        audiences=BOTH,
    ),
    kind(
        "support.sla_reminder",
        _("Support case due soon"),
        _("A support case you work on must be answered or resolved soon."),
        group=SUPPORT,
        audiences=(VENDOR,),
    ),
    kind(
        "support.sla_escalated",
        _("Support case overdue"),
        _("A support case missed its answer or resolution target and was escalated to you."),
        group=SUPPORT,
        audiences=(VENDOR,),
    ),
    kind(
        "support.rated",
        _("Support case rated"),
        _("A partner rated how a support case was handled."),
        group=SUPPORT,
        audiences=(VENDOR,),
    ),
]
