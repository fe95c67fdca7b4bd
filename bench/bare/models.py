"""The bare page's table. Not an installed app's model: the explicit app label registers it for
the ORM only (no migrations, no content type, no permissions); bench.bare.table creates and
fills the table."""

from django.db import models


class BareRow(models.Model):
    bucket = models.IntegerField()
    name = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "bench_bare"
        db_table = "bench_bare_row"
        managed = False

    def __str__(self) -> str:
        return self.name
