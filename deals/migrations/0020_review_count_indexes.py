"""The vendor dashboard's review figures (deals.selectors.review_counts): the submitted deals with
a possible conflict, and a portfolio's overdue reviews, each counted from a small partial index
rather than the whole review queue's."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0019_dealline_product_partner_idx"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                condition=models.Q(("status", "submitted")),
                fields=["partner", "review_due_at"],
                name="deal_partner_review_due_idx",
            ),
        ),
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
