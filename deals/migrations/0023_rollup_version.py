# The count of the folded figures' changes (deals.rollup.VERSION_TABLE) that keys the vendor
# pipeline's cached figures (deals.pipeline._kept_figures).

from django.db import migrations

from deals import rollup


class Migration(migrations.Migration):
    dependencies = [("deals", "0022_fill_partner_totals")]

    operations = [migrations.RunSQL(rollup.VERSION_TABLE_SQL, f"DROP TABLE {rollup.VERSION_TABLE}")]
