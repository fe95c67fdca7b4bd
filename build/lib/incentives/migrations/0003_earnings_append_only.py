from django.db import migrations


class Migration(migrations.Migration):
    # prm_forbid_change() comes from the kernel's audit-trail migration; the same trigger guards the
    # MDF ledger. Settlement membership lives in SettlementLine, so nothing ever needs an UPDATE here.
    dependencies = [("incentives", "0002_programs_and_settlements"), ("prm", "0002_audit_append_only")]
    operations = [
        migrations.RunSQL(
            """
            CREATE TRIGGER incentives_earningentry_append_only
                BEFORE UPDATE OR DELETE ON incentives_earningentry
                FOR EACH ROW EXECUTE FUNCTION prm_forbid_change();
            """,
            "DROP TRIGGER IF EXISTS incentives_earningentry_append_only ON incentives_earningentry;",
        )
    ]
