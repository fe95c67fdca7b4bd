"""The vendor dashboard counts the submitted deals with a possible conflict (deals.selectors.
review_counts) from this small partial index rather than the whole review queue's."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0019_dealline_product_partner_idx"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                condition=models.Q(("conflict_status", "under_review"), ("status", "submitted")),
                fields=["submitted_at"],
                include=("partner_id",),
                name="deal_conflict_review_idx",
            ),
        ),
    ]
