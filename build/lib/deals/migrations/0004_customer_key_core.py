import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models


def split_existing_keys(apps, schema_editor):
    # The same function the application uses, so stored cores and query cores always agree.
    from deals.names import split_company_key

    CustomerKey = apps.get_model("deals", "CustomerKey")
    batch = []
    for row in CustomerKey.objects.only("id", "key").iterator(chunk_size=5000):
        row.core, row.descriptors = split_company_key(row.key)
        batch.append(row)
        if len(batch) == 5000:
            CustomerKey.objects.bulk_update(batch, ["core", "descriptors"])
            batch = []
    CustomerKey.objects.bulk_update(batch, ["core", "descriptors"])


class Migration(migrations.Migration):
    dependencies = [("deals", "0003_customer_keys")]

    operations = [
        migrations.AddField(
            model_name="customerkey",
            name="core",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AddField(
            model_name="customerkey",
            name="descriptors",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=40), blank=True, default=list, size=None
            ),
        ),
        migrations.RunPython(split_existing_keys, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="customerkey", name="customerkey_trgm_idx"),
        # Similar names are found in deals_customerkey; PostgreSQL cannot use a trigram index on the
        # row-level-secured deals table anyway (the operator is not leakproof).
        migrations.RemoveIndex(model_name="deal", name="deal_customer_trgm_idx"),
        migrations.AddIndex(
            model_name="customerkey",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["core"], name="customerkey_core_trgm_idx", opclasses=["gin_trgm_ops"]
            ),
        ),
    ]
