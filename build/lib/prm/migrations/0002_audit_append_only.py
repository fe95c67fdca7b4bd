from django.db import migrations

# The audit trail is evidence: the database itself refuses to change or delete it.
FORBID = """
CREATE OR REPLACE FUNCTION prm_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER prm_auditevent_append_only
    BEFORE UPDATE OR DELETE ON prm_auditevent
    FOR EACH ROW EXECUTE FUNCTION prm_forbid_change();
"""
ALLOW = """
DROP TRIGGER IF EXISTS prm_auditevent_append_only ON prm_auditevent;
"""


class Migration(migrations.Migration):
    dependencies = [("prm", "0001_initial")]
    operations = [migrations.RunSQL(FORBID, ALLOW)]
