-- Runs once, as the postgres superuser, when the postgres service initialises an empty data
-- volume (docker-entrypoint-initdb.d). It creates the role the application connects as and the
-- application's database, owned by that role.
--
-- The role is deliberately NOSUPERUSER and NOBYPASSRLS: tenant isolation relies on PostgreSQL
-- row-level security, which a superuser or a BYPASSRLS role silently skips (prm.checks, prm.E001).
-- As the database owner it can still run every migration, including CREATE EXTENSION pg_trgm
-- (a trusted extension).
--
-- The password is for local Docker use only and must match DATABASE_URL in docker-compose.yml.
-- To change it on an existing volume: ALTER ROLE prm_app PASSWORD '...'; (init scripts do not
-- run again once the volume holds data).

CREATE ROLE prm_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION
    PASSWORD 'prm-app-local-password';

CREATE DATABASE prm OWNER prm_app ENCODING 'UTF8' TEMPLATE template0;
