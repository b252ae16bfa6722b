"""transit (PostgreSQL): the feed_version key of the transit tables checked once per statement

A foreign key is checked row by row: PostgreSQL queues one trigger event per inserted row and
runs ``SELECT 1 FROM feed_version WHERE id = $1 FOR KEY SHARE`` for each (about 9 µs a row on
these machines: 140 ms of NYC subway's 15,911 trips, 45 ms of its 4,509 pattern stops), while
every row of one import carries the same version id. Here each transit table's
``feed_version_id`` key becomes two statement-level triggers with transition tables, the
bulk check PostgreSQL's docs recommend for loading ("Populating a Database"):

- ``AFTER INSERT OR UPDATE … FOR EACH STATEMENT`` on the table: the versions the new rows name
  are locked ``FOR KEY SHARE`` (as the key's own check locks them, so a concurrent delete waits
  for this transaction) and a row naming a version that does not exist fails the statement
  with SQLSTATE 23503 (foreign_key_violation), as the key would;
- ``AFTER DELETE … FOR EACH STATEMENT`` on feed_version deletes the deleted versions' rows
  from every transit table (the key's ON DELETE CASCADE); a version's id never changes
  (``BEFORE UPDATE OF id`` refuses it, where the key would have refused it with rows left).

SQLite keeps the declared keys: its check is an index probe, no slower than this. The models
still declare the keys, marked ``PER_STATEMENT_ON_POSTGRESQL`` (``app.db``), and the
comparison of models and database (``app.migrate.include_object``) skips them on PostgreSQL.

Revision ID: 0010_transit_version_key
Revises: 0009_transit_realtime_journal
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0010_transit_version_key'
down_revision: str | Sequence[str] | None = '0009_transit_realtime_journal'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every transit table that holds a version's records.
VERSION_KEYED_PER_STATEMENT = (
    'transit_agency', 'transit_stop', 'transit_route', 'transit_trip', 'transit_pattern',
    'transit_pattern_stop', 'transit_calendar', 'transit_calendar_date', 'transit_frequency',
    'transit_transfer', 'transit_shape', 'transit_feed_info')

_CHECK = """
CREATE FUNCTION feed_version_key_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    locked bigint;
    missing bigint;
BEGIN
    SELECT count(DISTINCT feed_version_id) INTO wanted FROM new_rows;
    SELECT count(*) INTO locked FROM (
        SELECT 1 FROM feed_version v
        WHERE v.id IN (SELECT feed_version_id FROM new_rows)
        FOR KEY SHARE OF v) AS versions;
    IF locked < wanted THEN
        SELECT min(n.feed_version_id) INTO missing FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM feed_version v WHERE v.id = n.feed_version_id);
        RAISE foreign_key_violation USING
            MESSAGE = format('insert or update on table "%s" violates foreign key '
                             '"fk_%s_feed_version_id_feed_version"', TG_TABLE_NAME,
                             TG_TABLE_NAME),
            DETAIL = format('Key (feed_version_id)=(%s) is not present in table '
                            '"feed_version".', missing),
            TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$
"""

_ID_FIXED = """
CREATE FUNCTION feed_version_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE foreign_key_violation USING
            MESSAGE = 'a feed version''s id cannot change: transit rows refer to it',
            TABLE = 'feed_version';
    END IF;
    RETURN NEW;
END
$$
"""


def _cascade() -> str:
    deletes = "\n".join(  # the fixed table names above
        f"    DELETE FROM {table} WHERE feed_version_id IN (SELECT id FROM gone);"  # noqa: S608
        for table in VERSION_KEYED_PER_STATEMENT)
    return f"""
CREATE FUNCTION feed_version_cascade_transit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{deletes}
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_CHECK)
    op.execute(_ID_FIXED)
    op.execute(_cascade())
    for table in VERSION_KEYED_PER_STATEMENT:
        op.drop_constraint(f'fk_{table}_feed_version_id_feed_version', table, type_='foreignkey')
        for event in ('INSERT', 'UPDATE'):
            op.execute(f'CREATE TRIGGER {table}_version_key_{event.lower()} AFTER {event} ON '
                       f'{table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION feed_version_key_check()')
    op.execute('CREATE TRIGGER feed_version_cascade_transit AFTER DELETE ON feed_version '
               'REFERENCING OLD TABLE AS gone FOR EACH STATEMENT '
               'EXECUTE FUNCTION feed_version_cascade_transit()')
    op.execute('CREATE TRIGGER feed_version_id_fixed BEFORE UPDATE OF id ON feed_version '
               'FOR EACH ROW EXECUTE FUNCTION feed_version_id_fixed()')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP TRIGGER feed_version_id_fixed ON feed_version')
    op.execute('DROP TRIGGER feed_version_cascade_transit ON feed_version')
    for table in VERSION_KEYED_PER_STATEMENT:
        for event in ('insert', 'update'):
            op.execute(f'DROP TRIGGER {table}_version_key_{event} ON {table}')
        op.create_foreign_key(f'fk_{table}_feed_version_id_feed_version', table,
                              'feed_version', ['feed_version_id'], ['id'], ondelete='CASCADE')
    for function in ('feed_version_cascade_transit', 'feed_version_id_fixed',
                     'feed_version_key_check'):
        op.execute(f'DROP FUNCTION {function}()')
