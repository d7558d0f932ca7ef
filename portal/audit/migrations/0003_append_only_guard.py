"""PostgreSQL triggers that keep the audit tables append-only.

A guard against accidents and application bugs (a stray ``.update()``, an admin action, a data
migration), not against a database superuser, who can disable triggers: that is what the hash
chain and the signed checkpoints are for. What the triggers allow:

- INSERT, always;
- DELETE of events only up to ``audit.purge_through``, a transaction-local setting that only the
  retention purge sets (``SELECT set_config('audit.purge_through', '<seq>', true)``);
- UPDATE of the head row only forwards (its ``seq`` never decreases), never DELETE;
- TRUNCATE only on connections started with ``-c audit.allow_truncate=on``, which the test
  settings use because Django empties test databases with TRUNCATE between transactional tests.

On SQLite (the embedded development mode) this migration does nothing.
"""

from django.db import migrations

GUARD_SQL = """
CREATE OR REPLACE FUNCTION audit_append_only_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF current_setting('audit.allow_truncate', true) = 'on' THEN
            RETURN NULL;
        END IF;
    ELSIF TG_TABLE_NAME = 'audit_auditevent' AND TG_OP = 'DELETE' THEN
        IF OLD.seq <= coalesce(
            nullif(current_setting('audit.purge_through', true), '')::bigint, 0
        ) THEN
            RETURN OLD;
        END IF;
    ELSIF TG_TABLE_NAME = 'audit_audithead' AND TG_OP = 'UPDATE' THEN
        IF NEW.seq >= OLD.seq THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Events are removed only by manage.py audit_purge (README "Audit trail").';
END;
$$;
"""

TABLES = ("audit_auditevent", "audit_audithead", "audit_auditcheckpoint")


def _install(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # params=None: the SQL holds literal % signs (RAISE's placeholders), not query parameters.
    schema_editor.execute(GUARD_SQL, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only_guard()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only_guard()"
        )


def _remove(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_append_only_guard()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_outcome_format_checkpoints")]

    operations = [migrations.RunPython(_install, _remove)]
