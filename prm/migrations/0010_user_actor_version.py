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

# The numbers come from one sequence, not from ``actor_version + 1``: a sequence never hands out a
# number twice, even to a transaction that rolls back, so a version a rolled-back change used (and
# an actor cached under it in that transaction) can never come back with other rows behind it.
ACTOR_VERSION_SEQUENCE = "CREATE SEQUENCE prm_user_actor_version_seq"
DROP_ACTOR_VERSION_SEQUENCE = "DROP SEQUENCE IF EXISTS prm_user_actor_version_seq"

DROP_KEEP_ACTOR_VERSION = """
DROP TRIGGER IF EXISTS prm_user_keep_actor_version ON prm_user;
DROP FUNCTION IF EXISTS prm_user_keep_actor_version();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("prm", "0009_vendor_role_support"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="actor_version",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.RunSQL(KEEP_ACTOR_VERSION, DROP_KEEP_ACTOR_VERSION),
        migrations.RunSQL(ACTOR_VERSION_SEQUENCE, DROP_ACTOR_VERSION_SEQUENCE),
    ]
