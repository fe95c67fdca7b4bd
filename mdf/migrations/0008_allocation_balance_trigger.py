# The allocation balances of 0007 (mdf.models.AllocationBalance), kept by PostgreSQL from here on:
# a trigger adds new ledger entries' signed amounts to their allocations' rows, and the rows of the
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

# In the writer's transaction and scope (SECURITY INVOKER): the balance row has the ledger's policy
# (same tenant column, money table), and carries its entries' own partner, so any scope that may
# insert the entries passes the balance's WITH CHECK too (a partner its own rows, a channel account
# manager its portfolio's, program admins, finance and the system scope all).
#
# Once per statement, over its new rows (a transition table): one upsert per allocation however
# many entries a statement brings. A row-level trigger cost ~0.13 ms per entry on top of the
# insert's own (4.5x the time of an INSERT ... SELECT of the 6,339 entries of prm_prof), minutes
# for a benchmark loader that COPYs millions; for the services' one entry at a time both cost
# about the same. Entries that move no available funds ("paid") write nothing. Grouped by partner
# too: an allocation's entries carry its partner (mdf.ledger.post), and a statement that mixed two
# for one allocation fails (ON CONFLICT cannot update a row twice) rather than file it under one.
#
# Concurrent entries of one allocation stay exact (READ COMMITTED, the application's isolation
# level): INSERT ... ON CONFLICT DO UPDATE locks the balance row, so a second writer waits for the first to commit (or roll back) and then adds its
# delta to the committed value (PostgreSQL re-reads the row's latest version for the UPDATE); two
# first entries at once meet on the primary key and the second becomes the update. The rows are
# upserted in allocation order, so two statements that touch the same allocations lock them in
# the same order and never deadlock on one another.
ADD_ENTRIES = f"""
CREATE FUNCTION mdf_ledger_balance_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mdf_allocationbalance (allocation_id, partner_id, available)
    SELECT allocation_id, partner_id, sum({SIGNED_AMOUNT.format(kind="kind", amount="amount")})
      FROM new_entries
     WHERE kind <> 'paid'
     GROUP BY allocation_id, partner_id
     ORDER BY allocation_id
    ON CONFLICT (allocation_id) DO UPDATE
        SET available = mdf_allocationbalance.available + EXCLUDED.available;
    RETURN NULL;
END
$$;
CREATE TRIGGER mdf_ledger_balance_add
    AFTER INSERT ON mdf_ledgerentry REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION mdf_ledger_balance_add();
"""

DROP_ADD_ENTRIES = """
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
            f"LOCK TABLE mdf_ledgerentry IN SHARE ROW EXCLUSIVE MODE; {ADD_ENTRIES} {FILL}",
            DROP_ADD_ENTRIES,
        )
    ]
