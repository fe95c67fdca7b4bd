from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS deals_reference_seq START 1001",
            "DROP SEQUENCE IF EXISTS deals_reference_seq",
        )
    ]
