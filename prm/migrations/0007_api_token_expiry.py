from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone

# Tokens issued before expiry existed get the default lifetime from the day this runs, not from
# their creation: an integration that has used one for months should not stop without warning.
EXISTING_TOKENS_DAYS = 90


def give_existing_tokens_an_expiry(apps, schema_editor):
    ApiToken = apps.get_model("prm", "ApiToken")
    ApiToken.objects.filter(expires_at=None).update(
        expires_at=timezone.now() + timedelta(days=EXISTING_TOKENS_DAYS)
    )


class Migration(migrations.Migration):

    dependencies = [
        ("prm", "0006_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True, verbose_name="expires"),
        ),
        migrations.RunPython(give_existing_tokens_an_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(verbose_name="expires"),
        ),
    ]
