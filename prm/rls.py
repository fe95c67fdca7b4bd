"""PostgreSQL row-level security for tenant-owned tables: one mechanism for every app.

A model opts in by declaring the column that holds its tenant::

    class Deal(models.Model):
        TENANT_COLUMN = "partner_id"

A table that only vendor staff may ever read (``RLS_VENDOR_ONLY = True``) gets a policy that admits
the vendor scope alone.

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


VENDOR_ONLY_EXPRESSION = "((SELECT coalesce(current_setting('prm.scope', true), '')) = 'vendor')"


def tenant_column(model: type[models.Model]) -> str:
    """The database column named by ``TENANT_COLUMN`` (an attname such as ``partner_id``)."""
    for field in model._meta.concrete_fields:
        if model.TENANT_COLUMN in (field.attname, field.name, field.column):
            return field.column
    raise LookupError(f"{model.__name__}.TENANT_COLUMN names no field: {model.TENANT_COLUMN}")


def policy_expression(column: str) -> str:
    # NULLIF(...)::bigint keeps the comparison index-friendly (a stable expression) and turns an
    # empty setting into NULL, which matches nothing.
    # Each setting is read in a scalar subquery so PostgreSQL evaluates it once per query (an
    # InitPlan), not once per row.
    return (
        "((SELECT coalesce(current_setting('prm.scope', true), '')) = 'vendor'"
        " OR ((SELECT coalesce(current_setting('prm.scope', true), '')) = 'partner'"
        f" AND {column} = (SELECT NULLIF(current_setting('prm.partner_id', true), '')::bigint)))"
    )


def policy_statements(table: str, column: str | None) -> list[str]:
    """``column`` None: a vendor-only table (e.g. conflict evidence) no partner scope may read."""
    expression = policy_expression(column) if column else VENDOR_ONLY_EXPRESSION
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
            for statement in policy_statements(table, column):
                cursor.execute(statement)
            applied.append(table)
    return applied


def apply_policies_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # post_migrate fires once per installed app after *all* migrations ran; the work is
    # idempotent, so do it once, for the kernel's own signal.
    if sender.name != "prm":
        return
    apply_policies(using)
