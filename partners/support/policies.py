"""Who sees which support case and who may do what with it.

* A partner's people see their own company's cases (any role may open one: a learner with a
  problem is a partner with a problem); they reply, add files, close and rate.
* Vendor staff who work cases ("triage": program admins, support staff, and channel account
  managers for their portfolio) see the cases, reply, write internal notes, assign, change the
  priority, resolve and reopen. Finance and content / training managers do not work cases.
* Internal notes are the triage roles' alone; a partner never reads one (and the database would
  not give it one: ``CaseNote`` is ``RLS_VENDOR_ONLY``).

Everything goes through ``partners.policies.partner_scope_q``, except that support staff see every
partner's cases (their role sees nothing else).
"""

from __future__ import annotations

from django.db.models import Q

from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from ..models import CaseAttachment, CaseStatus, SupportCase
from ..policies import partner_scope_q, portfolio_partner_ids

TRIAGE_ROLES = frozenset({VendorRole.PROGRAM_ADMIN, VendorRole.SUPPORT, VendorRole.CHANNEL_ACCOUNT_MANAGER})
PARTNER_ACTIONS = frozenset({"reply", "add_files", "close", "rate"})
VENDOR_ACTIONS = frozenset(
    {"reply", "add_files", "note", "assign", "change_priority", "resolve", "reopen", "close"}
)


def works_cases(actor: Actor) -> bool:
    return actor.is_vendor and actor.vendor_role in TRIAGE_ROLES


def case_scope_q(actor: Actor, prefix: str = "") -> Q:
    """Cases (``prefix``: the path to the case from another model) this actor may see."""
    if actor.is_vendor and actor.vendor_role == VendorRole.SUPPORT:
        return Q()
    if actor.is_partner or works_cases(actor):
        return partner_scope_q(actor, f"{prefix}partner")
    return NOTHING


def _in_scope(actor: Actor, case: SupportCase) -> bool:
    """The object check without a query where the actor already says it."""
    if actor.is_partner:
        return case.partner_id == actor.partner_id
    if not works_cases(actor):
        return False
    if actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER:
        if actor.portfolio is not None:
            return case.partner_id in actor.portfolio
        return portfolio_partner_ids(actor).filter(content_object_id=case.partner_id).exists()
    return True


class SupportCasePolicy(Policy[SupportCase]):
    model = SupportCase

    def visible(self, actor: Actor) -> Q:
        return case_scope_q(actor)

    def can(self, actor: Actor, action: str, obj: SupportCase | None = None) -> bool:
        if action == "open":
            return actor.is_partner
        if action in {"queue", "report"}:
            return works_cases(actor)
        if obj is None or not _in_scope(actor, obj):
            return False
        if action == "view":
            return True
        if action == "view_notes":
            return works_cases(actor)
        if obj.status == CaseStatus.CLOSED and action in {"reply", "add_files", "close"}:
            return False
        if actor.is_partner:
            return action in PARTNER_ACTIONS
        return works_cases(actor) and action in VENDOR_ACTIONS


class CaseAttachmentPolicy(Policy[CaseAttachment]):
    """A file is visible to whoever sees its case."""

    model = CaseAttachment

    def visible(self, actor: Actor) -> Q:
        return case_scope_q(actor, "case__")


case_policy = SupportCasePolicy()
attachment_policy = CaseAttachmentPolicy()
