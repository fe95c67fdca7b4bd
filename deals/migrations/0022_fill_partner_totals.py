# Fills the per-partner totals of 0020 from the partners' folded rows (deals.rollup.
# fill_partner_sums), then packs them (fill_pack); the fold keeps them from then on. A migration
# of its own: Django adds a new table's foreign keys at the end of the migration that creates it,
# and that check of existing rows runs in no tenant scope, where row-level security hides every
# partner.

from django.db import migrations


def fill(apps, schema_editor):
    from deals import rollup

    for sums in rollup.PARTNER_SUMS:
        rollup.fill_partner_sums(sums.table)
    rollup.fill_pack()


class Migration(migrations.Migration):
    dependencies = [("deals", "0021_partner_totals")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
