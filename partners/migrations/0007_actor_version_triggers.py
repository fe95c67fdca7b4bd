"""Every write to what an actor is made of moves the affected people's ``prm_user.actor_version``
on, in the writing transaction, whoever writes (services, admin, queryset ``update()`` /
``bulk_create()``, raw SQL, a loader): partners.actor_cache keys cached actors by it.

* a membership or a portfolio permission (django-guardian's row): the people of the old and the
  new row;
* a partner (its status, agreement, tier, name, anything an actor carries): its members, when the
  row really changed;
* a tier: the members of its partners, when the row really changed.

The new number comes from a sequence (prm/migrations/0010_user_actor_version.py), never
``actor_version + 1``: a number a rolled-back transaction took is never taken again.

Statement-level triggers with transition tables: one ``UPDATE prm_user`` per statement, however
many rows it wrote.

The partner and tier functions find the members in the vendor-wide scope, set for their one
statement and put back as it was right after (a failed statement aborts the transaction, or the
caller's savepoint, which undoes the settings too): a tier has no row-level security and may be
changed in any scope, yet every member of its partners must be invalidated. They return nothing
and write only the counters (``prm_user`` has no tenant column), so the writer sees no row beyond
its own scope.
"""

from django.db import migrations

BUMP_PEOPLE_OF_ROWS = """
CREATE FUNCTION partners_actor_version_of_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE prm_user SET actor_version = nextval('prm_user_actor_version_seq')
         WHERE id IN (SELECT user_id FROM new_rows);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE prm_user SET actor_version = nextval('prm_user_actor_version_seq')
         WHERE id IN (SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows);
    ELSE
        UPDATE prm_user SET actor_version = nextval('prm_user_actor_version_seq')
         WHERE id IN (SELECT user_id FROM old_rows);
    END IF;
    RETURN NULL;
END
$$;
"""

BUMP_MEMBERS_OF_PARTNERS = """
CREATE FUNCTION partners_actor_version_of_partners() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    caller_scope text := coalesce(current_setting('prm.scope', true), '');
    caller_portfolio text := coalesce(current_setting('prm.portfolio', true), '');
BEGIN
    PERFORM set_config('prm.scope', 'vendor', true), set_config('prm.portfolio', '*', true);
    UPDATE prm_user SET actor_version = nextval('prm_user_actor_version_seq')
     WHERE id IN (
        SELECT m.user_id FROM partners_membership m
         WHERE m.partner_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n IS DISTINCT FROM o
         )
     );
    PERFORM set_config('prm.scope', caller_scope, true), set_config('prm.portfolio', caller_portfolio, true);
    RETURN NULL;
END
$$;
"""

BUMP_MEMBERS_OF_TIERS = """
CREATE FUNCTION partners_actor_version_of_tiers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    caller_scope text := coalesce(current_setting('prm.scope', true), '');
    caller_portfolio text := coalesce(current_setting('prm.portfolio', true), '');
BEGIN
    PERFORM set_config('prm.scope', 'vendor', true), set_config('prm.portfolio', '*', true);
    UPDATE prm_user SET actor_version = nextval('prm_user_actor_version_seq')
     WHERE id IN (
        SELECT m.user_id FROM partners_membership m
          JOIN partners_partner p ON p.id = m.partner_id
         WHERE p.tier_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n IS DISTINCT FROM o
         )
     );
    PERFORM set_config('prm.scope', caller_scope, true), set_config('prm.portfolio', caller_portfolio, true);
    RETURN NULL;
END
$$;
"""


def _row_triggers(table: str) -> str:
    # PostgreSQL allows transition tables only on single-event triggers: one trigger per event.
    function = "partners_actor_version_of_rows()"
    return f"""
CREATE TRIGGER {table}_actor_version_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function};
CREATE TRIGGER {table}_actor_version_upd AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function};
CREATE TRIGGER {table}_actor_version_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function};
"""


INSTALL = (
    BUMP_PEOPLE_OF_ROWS
    + BUMP_MEMBERS_OF_PARTNERS
    + BUMP_MEMBERS_OF_TIERS
    + _row_triggers("partners_membership")
    + _row_triggers("partners_partneruserobjectpermission")
    + """
CREATE TRIGGER partners_partner_actor_version_upd AFTER UPDATE ON partners_partner
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION partners_actor_version_of_partners();
CREATE TRIGGER partners_tier_actor_version_upd AFTER UPDATE ON partners_tier
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION partners_actor_version_of_tiers();
"""
)

UNINSTALL = "".join(
    f"DROP TRIGGER IF EXISTS {table}_actor_version_{event} ON {table};\n"
    for table in ("partners_membership", "partners_partneruserobjectpermission")
    for event in ("ins", "upd", "del")
) + (
    "DROP TRIGGER IF EXISTS partners_partner_actor_version_upd ON partners_partner;\n"
    "DROP TRIGGER IF EXISTS partners_tier_actor_version_upd ON partners_tier;\n"
    "DROP FUNCTION IF EXISTS partners_actor_version_of_rows();\n"
    "DROP FUNCTION IF EXISTS partners_actor_version_of_partners();\n"
    "DROP FUNCTION IF EXISTS partners_actor_version_of_tiers();\n"
)


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0006_performance"),
        ("prm", "0010_user_actor_version"),
    ]

    operations = [
        migrations.RunSQL(INSTALL, UNINSTALL),
    ]
