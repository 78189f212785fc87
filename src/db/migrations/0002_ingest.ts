import { type Kysely, sql } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * Ingest: the per-database pseudonym secret. One row, a random 256-bit key (hex) made by the
 * migration itself from gen_random_uuid() (a strong random source on PostgreSQL 13+ and PGlite)
 * hashed with sha256(). Ingest keys HMAC-SHA256 user and post pseudonyms with it unless
 * MHMTL_PSEUDONYM_KEY is set. Staging uses temporary tables inside each load transaction, so
 * nothing else is created here. The evaluation migration keeps mhmtl_reader away from this table.
 */
const statements = [
  `CREATE TABLE mhmtl.pseudonym_key (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    key        text NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `COMMENT ON TABLE mhmtl.pseudonym_key IS 'The secret key (one row) of the HMAC-SHA256 pseudonyms of user and post ids. Whoever reads it can test guesses of raw ids: never grant it to mhmtl_reader. MHMTL_PSEUDONYM_KEY overrides it.'`,
  `INSERT INTO mhmtl.pseudonym_key (key)
    SELECT encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex')`,
  `CREATE INDEX quarantine_source ON mhmtl.quarantine (source_id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX mhmtl.quarantine_source`.execute(db);
  await sql`DROP TABLE mhmtl.pseudonym_key`.execute(db);
}
