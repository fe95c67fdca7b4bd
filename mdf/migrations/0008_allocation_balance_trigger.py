# The allocation balances of 0007 (mdf.models.AllocationBalance), kept by PostgreSQL from here on:
# a trigger adds each new ledger entry's signed amount to its allocation's row, and the rows of the
# entries already there are filled once. A migration of its own: Django adds a new table's foreign
# keys at the end of the migration that creates it, and that check of existing rows runs in no
# tenant scope, where row-level security hides every partner (as deals 0022).
#
# The sign of each kind is mdf.ledger's definition of "available" (allocated + accrued + released
# - forfeited - committed - claimed; "paid" moves no available funds); mdf.balances.mismatches()
# checks the maintained rows against the ledger's sums.

from django.db import migrations

SIGNED_AMOUNT = """CASE {kind}
    WHEN 'allocated' THEN {amount} WHEN 'accrued' THEN {amount} WHEN 'released' THEN {amount}
    WHEN 'forfeited' THEN -{amount} WHEN 'committed' THEN -{amount} WHEN 'claimed' THEN -{amount}
    ELSE 0 END"""

# Row level, in the writer's transaction and scope (SECURITY INVOKER): the balance row has the
# ledger's policy (same tenant column, money table), and carries the entry's own partner, so any
# scope that may insert the entry passes the balance's WITH CHECK too (a partner its own rows, a
# channel account manager its portfolio's, program admins, finance and the system scope all).
#
# Concurrent entries of one allocation stay exact: INSERT ... ON CONFLICT DO UPDATE locks the
# balance row, so a second writer waits for the first to commit (or roll back) and then adds its
# delta to the committed value (PostgreSQL re-reads the row's latest version for the UPDATE); two
# first entries at once meet on the primary key and the second becomes the update. Entries that
# move no available funds ("paid") write nothing.
ADD_ENTRY = f"""
CREATE FUNCTION mdf_ledger_balance_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta numeric(16, 2) := {SIGNED_AMOUNT.format(kind="NEW.kind", amount="NEW.amount")};
BEGIN
    IF delta <> 0 THEN
        INSERT INTO mdf_allocationbalance (allocation_id, partner_id, available)
        VALUES (NEW.allocation_id, NEW.partner_id, delta)
        ON CONFLICT (allocation_id) DO UPDATE
            SET available = mdf_allocationbalance.available + EXCLUDED.available;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER mdf_ledger_balance_add
    AFTER INSERT ON mdf_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION mdf_ledger_balance_add();
"""

DROP_ADD_ENTRY = """
DROP TRIGGER IF EXISTS mdf_ledger_balance_add ON mdf_ledgerentry;
DROP FUNCTION IF EXISTS mdf_ledger_balance_add();
"""

# The entries already there, summed once, read vendor-wide (the system scope's settings, local to
# this transaction): row-level security hides every row from no scope.
FILL = f"""
SELECT set_config('prm.scope', 'vendor', true), set_config('prm.partner_id', '', true),
       set_config('prm.portfolio', '*', true), set_config('prm.money', 'on', true);
DELETE FROM mdf_allocationbalance;
INSERT INTO mdf_allocationbalance (allocation_id, partner_id, available)
SELECT allocation_id, partner_id, sum({SIGNED_AMOUNT.format(kind="kind", amount="amount")})
  FROM mdf_ledgerentry
 WHERE kind <> 'paid'
 GROUP BY allocation_id, partner_id;
SELECT set_config('prm.scope', '', true), set_config('prm.portfolio', '', true),
       set_config('prm.money', '', true);
"""


class Migration(migrations.Migration):
    dependencies = [("mdf", "0007_allocation_balance")]

    operations = [
        # SHARE ROW EXCLUSIVE first: no entry is written between the trigger's creation and the
        # fill's sums (each would be counted twice) or before the trigger (missed) until commit.
        migrations.RunSQL(
            f"LOCK TABLE mdf_ledgerentry IN SHARE ROW EXCLUSIVE MODE; {ADD_ENTRY} {FILL}",
            DROP_ADD_ENTRY,
        )
    ]
