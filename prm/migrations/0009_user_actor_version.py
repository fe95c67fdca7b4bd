from django.db import migrations, models

# A row read before a trigger bumped its actor_version and then saved whole (user.save()) would
# write the old number back, and a cached actor made under it would be valid again. The number
# only ever moves on: an UPDATE that would lower it keeps the stored one.
KEEP_ACTOR_VERSION = """
CREATE FUNCTION prm_user_keep_actor_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.actor_version := OLD.actor_version;
    RETURN NEW;
END
$$;
CREATE TRIGGER prm_user_keep_actor_version
    BEFORE UPDATE OF actor_version ON prm_user
    FOR EACH ROW WHEN (NEW.actor_version < OLD.actor_version)
    EXECUTE FUNCTION prm_user_keep_actor_version();
"""

DROP_KEEP_ACTOR_VERSION = """
DROP TRIGGER IF EXISTS prm_user_keep_actor_version ON prm_user;
DROP FUNCTION IF EXISTS prm_user_keep_actor_version();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("prm", "0008_export_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="actor_version",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.RunSQL(KEEP_ACTOR_VERSION, DROP_KEEP_ACTOR_VERSION),
    ]
