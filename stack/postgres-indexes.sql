-- FerretDB 1.24 pushes an equality filter down to PostgreSQL as `_jsonb->'field' @> '"value"'`, and
-- indexes a MongoDB index as a btree on `(_jsonb->'field')`. A btree cannot answer `@>`, so every
-- find, update and delete scanned the whole table. A GIN index on the same expression can: this file
-- gives every btree FerretDB creates a GIN twin, in the database itself (an event trigger), so
-- collections and indexes created later (a new database per test file, a migration) get theirs too.
-- fastupdate off: GIN's pending list, which every read scans whole until a vacuum, made a read at
-- 100,000 documents 6x slower than at 1,000 while inserts poured in.
-- Run before every start in single-user mode (statements end with a semicolon and a blank line);
-- everything here is idempotent.

CREATE OR REPLACE FUNCTION throughline_mirror_index(btree oid) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  target regclass;
  table_name text;
  columns int;
  expression text;
  parts text[];
BEGIN
  SELECT i.indrelid::regclass, t.relname, i.indnatts INTO target, table_name, columns
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    JOIN pg_class t ON t.oid = i.indrelid
    WHERE i.indexrelid = btree AND am.amname = 'btree';
  IF target IS NULL THEN
    RETURN;
  END IF;
  FOR k IN 1..columns LOOP
    expression := pg_get_indexdef(btree, k, false);
    -- Only FerretDB's document column; its own metadata tables use the same column name.
    CONTINUE WHEN expression NOT LIKE '%_jsonb %' OR table_name LIKE '\_ferretdb\_%';
    -- A dotted key is indexed as `(_jsonb -> 'a') -> 'b'` but queried as `_jsonb #> '{a,b}'`: the
    -- twin takes the query's form.
    SELECT array_agg(replace(m[1], '''''', '''')) INTO parts
      FROM regexp_matches(expression, '''((?:[^'']|'''')*)''::text', 'g') AS m;
    IF array_length(parts, 1) > 1 THEN
      expression := format('_jsonb #> %L::text[]', parts);
    END IF;
    EXECUTE format(
      'CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((%s) jsonb_path_ops) WITH (fastupdate = off)',
      table_name || '_gin_' || left(md5(expression), 12), target, expression
    );
  END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION throughline_mirror_new_indexes() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
  created record;
BEGIN
  FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
    PERFORM throughline_mirror_index(created.objid);
  END LOOP;
END
$fn$;

DROP EVENT TRIGGER IF EXISTS throughline_mirror_indexes;

CREATE EVENT TRIGGER throughline_mirror_indexes ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION throughline_mirror_new_indexes();

-- Indexes made before this file changed (or before it existed) get their twins now.
DO $do$
DECLARE
  existing record;
BEGIN
  FOR existing IN
    SELECT i.indexrelid FROM pg_index i
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace ns ON ns.oid = t.relnamespace
      WHERE ns.nspname NOT IN ('pg_catalog', 'information_schema') AND ns.nspname NOT LIKE 'pg\_toast%'
  LOOP
    PERFORM throughline_mirror_index(existing.indexrelid);
  END LOOP;
END
$do$;

