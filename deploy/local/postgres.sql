-- FerretDB 1.24 on PostgreSQL keeps each collection as a table of one jsonb column, indexes
-- a field as a btree on ((_jsonb -> 'field')), and pushes an equality filter down as
-- (_jsonb -> 'field') @> '"value"'. A btree cannot answer @> (only a GIN index can), so
-- every find or update by _id, or by any indexed field, read the whole table: its cost grew
-- with the collection. This adds, beside each such btree index FerretDB makes, a GIN index
-- on the same expression, which the planner uses for those filters (with plans made for the
-- values: the server runs with plan_cache_mode=force_custom_plan, see postgres.py).
-- Run by stack.py at every start of the local PostgreSQL: idempotent.

CREATE OR REPLACE FUNCTION vrac_gin_companions(target oid DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT DISTINCT i.indrelid::regclass AS tab, pg_get_indexdef(i.indexrelid, k.n, true) AS expr
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
        CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k(n)
        WHERE (target IS NULL OR i.indexrelid = target)
          AND pg_get_indexdef(i.indexrelid, k.n, true) LIKE '(_jsonb -> %'
    LOOP
        -- one name per table and expression, within PostgreSQL's 63 characters
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((%s))',
            'vrac_gin_' || md5(found.tab::text || found.expr),
            found.tab,
            found.expr
        );
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION vrac_gin_on_create_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    made record;
BEGIN
    FOR made IN
        SELECT objid FROM pg_event_trigger_ddl_commands()
        WHERE command_tag = 'CREATE INDEX' AND object_type = 'index'
    LOOP
        PERFORM vrac_gin_companions(made.objid);
    END LOOP;
END;
$$;

DROP EVENT TRIGGER IF EXISTS vrac_gin_companions;
CREATE EVENT TRIGGER vrac_gin_companions ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
    EXECUTE FUNCTION vrac_gin_on_create_index();

-- indexes made before this trigger existed (a data folder from an earlier version)
SELECT vrac_gin_companions();
