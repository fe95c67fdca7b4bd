from django.db import migrations



def install_and_fill(apps, schema_editor):
    # The triggers and the figures of the deals already there, in one transaction: writers wait
    # (deals.rollup.rebuild locks the tables), so no change falls between the two.
    from deals import rollup

    rollup.install()
    rollup.rebuild()


def uninstall(apps, schema_editor):
    from deals import rollup

    rollup.uninstall()


class Migration(migrations.Migration):
    # Apart from 0007: the rollup's unique indexes, which the fold's upserts need, are created at
    # the end of the migration that makes the tables.
    dependencies = [
        ("deals", "0007_pipeline_rollup"),
    ]

    operations = [
        migrations.RunPython(install_and_fill, uninstall),
    ]
