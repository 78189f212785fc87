import { type Kysely, sql } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * The foundation tables: sources, users, posts, labels, quarantine, runs. Per-user tables lead
 * their keys with the user pseudonym so they can be hash-distributed by user (Citus) unchanged.
 */
const statements = [
  `CREATE TABLE mhmtl.sources (
    source_id   bigserial PRIMARY KEY,
    name        text NOT NULL,
    file_name   text NOT NULL,
    sha256      text NOT NULL,
    format      text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('posts', 'labels', 'reddit')),
    inserted    integer NOT NULL DEFAULT 0,
    duplicates  integer NOT NULL DEFAULT 0,
    rejected    integer NOT NULL DEFAULT 0,
    details     jsonb NOT NULL DEFAULT '{}',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz
  )`,
  `COMMENT ON TABLE mhmtl.sources IS 'One row per ingest of one input file: its name, sha256, format and what became of its rows.'`,
  `CREATE TABLE mhmtl.users (
    user_id         text PRIMARY KEY,
    first_source_id bigint REFERENCES mhmtl.sources,
    created_at      timestamptz NOT NULL DEFAULT now()
  )`,
  `COMMENT ON TABLE mhmtl.users IS 'Pseudonymous users (HMAC-SHA256 of the raw id). The default unit of analysis.'`,
  `CREATE TABLE mhmtl.posts (
    user_id     text NOT NULL REFERENCES mhmtl.users,
    post_id     text NOT NULL,
    created_at  timestamptz NOT NULL,
    text        text NOT NULL,
    lang        text,
    text_hash   text NOT NULL,
    community   text,
    flags       text[] NOT NULL DEFAULT '{}',
    source_id   bigint REFERENCES mhmtl.sources,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, post_id)
  )`,
  `CREATE INDEX posts_user_text_hash ON mhmtl.posts (user_id, text_hash)`,
  `COMMENT ON TABLE mhmtl.posts IS 'Scrubbed post text keyed by (user pseudonym, post pseudonym). Not readable by mhmtl_reader.'`,
  `CREATE TABLE mhmtl.labels (
    user_id    text NOT NULL REFERENCES mhmtl.users,
    task       text NOT NULL,
    label      smallint CHECK (label IN (0, 1)),
    source_id  bigint REFERENCES mhmtl.sources,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, task)
  )`,
  `COMMENT ON TABLE mhmtl.labels IS 'User-level task labels in long form: 1 positive, 0 negative, NULL unknown. The later file wins.'`,
  `CREATE TABLE mhmtl.quarantine (
    quarantine_id bigserial PRIMARY KEY,
    source_id     bigint REFERENCES mhmtl.sources,
    line_number   bigint NOT NULL,
    reason        text NOT NULL,
    raw           text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
  )`,
  `COMMENT ON TABLE mhmtl.quarantine IS 'Input rows that could not be loaded, with source, line number and reason. Raw text: not readable by mhmtl_reader.'`,
  `CREATE TABLE mhmtl.runs (
    run_id           bigserial PRIMARY KEY,
    pipeline         text NOT NULL,
    config           jsonb NOT NULL,
    status           text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    seed             integer NOT NULL,
    code_version     text NOT NULL,
    backend          text NOT NULL,
    data_fingerprint text,
    stage_durations  jsonb NOT NULL DEFAULT '{}',
    error            text,
    pid              integer,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
  )`,
  `COMMENT ON TABLE mhmtl.runs IS 'One row per pipeline run: pipeline, config, status, seed, code version, backend, data fingerprint, per-stage durations (seconds), error.'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE mhmtl.runs, mhmtl.quarantine, mhmtl.labels, mhmtl.posts, mhmtl.users, mhmtl.sources`.execute(
    db,
  );
}
