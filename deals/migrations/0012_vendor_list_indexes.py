# The vendor side at a million deals (issue 11): the all-deals list and the admin changelist order
# every non-draft deal newest first, which PostgreSQL sorted in full for each page (4-5 s); with
# (created_at, id) and (status, created_at, id) a page is the first rows of an index. The review
# queue's index gets the id that completes its order (submitted_at, id). The vendor's deal search
# finds customer names through a trigram index on the name table (deals.selectors.vendor_search).

import django.contrib.postgres.indexes
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0011_closed_deal_stage"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="deal",
            name="deal_review_queue_idx",
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["-created_at", "-id"], name="deal_recent_idx", include=["partner_id"]),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["status", "-created_at", "-id"], name="deal_status_recent_idx", include=["partner_id"]
            ),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["status", "submitted_at", "id"],
                name="deal_review_queue_idx",
                include=["partner_id", "review_due_at", "conflict_status"],
            ),
        ),
        migrations.AddIndex(
            model_name="customerkey",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["key"], name="customerkey_key_trgm_idx", opclasses=["gin_trgm_ops"]
            ),
        ),
    ]
