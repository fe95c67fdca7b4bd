from django.db import migrations


class Migration(migrations.Migration):
    # prm_forbid_change() comes from the kernel's audit-trail migration.
    dependencies = [("mdf", "0001_initial"), ("prm", "0002_audit_append_only")]
    operations = [
        migrations.RunSQL(
            """
            CREATE TRIGGER mdf_ledgerentry_append_only
                BEFORE UPDATE OR DELETE ON mdf_ledgerentry
                FOR EACH ROW EXECUTE FUNCTION prm_forbid_change();
            CREATE SEQUENCE IF NOT EXISTS mdf_request_reference_seq START 1001;
            """,
            """
            DROP TRIGGER IF EXISTS mdf_ledgerentry_append_only ON mdf_ledgerentry;
            DROP SEQUENCE IF EXISTS mdf_request_reference_seq;
            """,
        )
    ]
