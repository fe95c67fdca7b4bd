"""Writes for market development funds. One function per transition; a fund request's status
changes go through ``prm.transitions`` (lock, allowed move, save, audit) around each service's own
rules, ledger entries are posted with idempotency keys, and e-mails leave after commit. Money moves
only through ``mdf.ledger.post``.

One module per aggregate: ``funds`` (periods, budgets, allocations and their ledger postings),
``requests`` (fund requests) and ``claims`` (claims and their proofs). Callers import from
``mdf.services``; the names below are its public surface."""

from .claims import claim_approve, claim_mark_paid, claim_reject, claim_submit
from .funds import (
    allocation_accrue,
    allocation_add,
    allocation_for,
    approval_limit_remove,
    approval_limit_save,
    budget_save,
    closed_accrual_period,
    period_close,
    period_save,
)
from .requests import (
    REQUEST_FIELDS,
    ApprovalLimitExceeded,
    approval_limit_of,
    request_approve,
    request_approve_or_escalate,
    request_escalate,
    request_expire,
    request_reject,
    request_return,
    request_save_draft,
    request_submit,
)

__all__ = [
    "REQUEST_FIELDS",
    "ApprovalLimitExceeded",
    "allocation_accrue",
    "allocation_add",
    "allocation_for",
    "approval_limit_of",
    "approval_limit_remove",
    "approval_limit_save",
    "budget_save",
    "claim_approve",
    "claim_mark_paid",
    "claim_reject",
    "claim_submit",
    "closed_accrual_period",
    "period_close",
    "period_save",
    "request_approve",
    "request_approve_or_escalate",
    "request_escalate",
    "request_expire",
    "request_reject",
    "request_return",
    "request_save_draft",
    "request_submit",
]
