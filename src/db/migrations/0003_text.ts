import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * Tokens of each post, as stored by `mhmtl tokenize`. One row per post, keyed like the post (user
 * pseudonym first, for distribution by user); the tokenizer signature (name, version, config hash)
 * says which tokenizer made them, so a new version or configuration re-tokenizes.
 */
const statements = [
  `CREATE TABLE mhmtl.post_tokens (
    user_id           text NOT NULL,
    post_id           text NOT NULL,
    tokenizer         text NOT NULL,
    tokenizer_version text NOT NULL,
    config_hash       text NOT NULL,
    tokens            text[] NOT NULL,
    n_tokens          integer NOT NULL CHECK (n_tokens >= 0),
    tokenized_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, post_id),
    FOREIGN KEY (user_id, post_id) REFERENCES mhmtl.posts (user_id, post_id) ON DELETE CASCADE
  )`,
  `COMMENT ON TABLE mhmtl.post_tokens IS 'Tokens of each post (lowercased; placeholders @user, <url>, <email>, <phone> one token each), with the tokenizer name, version and config hash that made them. Derived from post text: not readable by mhmtl_reader.'`,
  `COMMENT ON COLUMN mhmtl.post_tokens.config_hash IS 'First 16 hex digits of the SHA-256 of the tokenizer configuration (canonical JSON).'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['DROP TABLE mhmtl.post_tokens']);
}
