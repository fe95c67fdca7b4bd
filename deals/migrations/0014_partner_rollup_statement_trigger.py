# The partner trigger of the pipeline roll-up becomes a statement trigger (issue 12): moving many
# partners' tiers in one UPDATE (the tier evaluation) reads their deals in one pass, not one
# pass per partner. The figures do not change, so nothing is rebuilt.

from django.db import migrations


def install(apps, schema_editor):
    from deals import rollup

    rollup.install()


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0013_pipeline_totals"),
    ]

    # Backwards: the statement trigger stays, it keeps the figures of the older schema exact too.
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
