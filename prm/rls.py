"""PostgreSQL row-level security for tenant-owned tables: one mechanism for every app.

A model opts in by declaring the column that holds its tenant::

    class Deal(models.Model):
        TENANT_COLUMN = "partner_id"

A table that only vendor staff may ever read (``RLS_VENDOR_ONLY = True``) gets a policy that admits
the vendor scope alone. A table that holds money (``RLS_MONEY = True``: deal amounts, funds, proofs,
earnings, statements) admits the vendor scope only when it carries ``prm.money`` (content /
training managers' scope does not). In the vendor scope a tenant table admits only the partners in
``prm.portfolio`` (``'*'``: all of them), so a channel account manager is held to the portfolio by
the database as well; rows that belong to no partner (an unassigned lead, a vendor-wide audit
event) stay visible to vendor staff.

After every ``migrate`` the policy below is (re)created on each such table, row-level security is
enabled and *forced* (so it also binds the table owner, which is the application's role), and the
policy fails closed: with no scope set, no row is visible and no row can be written.

The application's database role must be neither superuser nor BYPASSRLS (checked by
``prm.checks``); otherwise PostgreSQL skips every policy.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections, models

POLICY_NAME = "prm_tenant_isolation"


def tenant_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if (getattr(model, "TENANT_COLUMN", None) or getattr(model, "RLS_VENDOR_ONLY", False))
        and not model._meta.proxy
        and model._meta.managed
    ]


def _setting(name: str) -> str:
    # Each setting is read in a scalar subquery so PostgreSQL evaluates it once per query (an
    # InitPlan), not once per row.
    return f"(SELECT coalesce(current_setting('{name}', true), ''))"


IS_VENDOR = f"{_setting('prm.scope')} = 'vendor'"
IS_PARTNER = f"{_setting('prm.scope')} = 'partner'"
HAS_MONEY = f"{_setting('prm.money')} = 'on'"
EVERY_PARTNER = f"{_setting('prm.portfolio')} = '*'"
# The portfolio as a bigint[]; anything but an array literal (unset, '') is NULL, which matches
# no row, so a channel account manager whose portfolio was not written sees nothing.
PORTFOLIO_ARRAY = (
    "(SELECT CASE WHEN current_setting('prm.portfolio', true) LIKE '{%}'"
    " THEN current_setting('prm.portfolio', true)::bigint[] END)"
)
ACTING_PARTNER = "(SELECT NULLIF(current_setting('prm.partner_id', true), '')::bigint)"


def tenant_column(model: type[models.Model]) -> str:
    """The database column named by ``TENANT_COLUMN`` (an attname such as ``partner_id``)."""
    for field in model._meta.concrete_fields:
        if model.TENANT_COLUMN in (field.attname, field.name, field.column):
            return field.column
    raise LookupError(f"{model.__name__}.TENANT_COLUMN names no field: {model.TENANT_COLUMN}")


def policy_expression(column: str | None, *, money: bool = False) -> str:
    """The USING / WITH CHECK expression; ``column`` None: a vendor-only table."""
    # NULLIF(...)::bigint keeps the comparison index-friendly (a stable expression) and turns an
    # empty setting into NULL, which matches nothing.
    vendor = IS_VENDOR
    if column:
        # IN (SELECT unnest(...)), not = ANY(array): PostgreSQL looks a row's partner up in the
        # portfolio through a hash built once per query (a hashed SubPlan), where = ANY compares it
        # with every id of the array in turn: 500 comparisons a row for a large portfolio, which
        # made a channel account manager's reads of ledgers and lines slow at full size.
        vendor += (
            f" AND ({EVERY_PARTNER} OR {column} IS NULL"
            f" OR {column} IN (SELECT unnest({PORTFOLIO_ARRAY}::bigint[])))"
        )
    if money:
        vendor += f" AND {HAS_MONEY}"
    if not column:
        return f"({vendor})"
    return f"(({vendor}) OR ({IS_PARTNER} AND {column} = {ACTING_PARTNER}))"


def is_money_table(model: type[models.Model]) -> bool:
    return bool(getattr(model, "RLS_MONEY", False))


def policy_statements(table: str, column: str | None, *, money: bool = False) -> list[str]:
    """``column`` None: a vendor-only table (e.g. conflict evidence) no partner scope may read."""
    expression = policy_expression(column, money=money)
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"',
        f'CREATE POLICY {POLICY_NAME} ON "{table}" USING {expression} WITH CHECK {expression}',
    ]


def apply_policies(using: str = "default") -> list[str]:
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    applied = []
    with connection.cursor() as cursor:
        for model in tenant_models():
            table = model._meta.db_table
            if table not in existing:
                continue
            column = None if getattr(model, "RLS_VENDOR_ONLY", False) else tenant_column(model)
            for statement in policy_statements(table, column, money=is_money_table(model)):
                cursor.execute(statement)
            applied.append(table)
    return applied


def apply_policies_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # post_migrate fires once per installed app after *all* migrations ran; the work is
    # idempotent, so do it once, for the kernel's own signal.
    if sender.name != "prm":
        return
    apply_policies(using)
