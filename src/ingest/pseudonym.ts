import { createHmac } from 'node:crypto';
import type { Backend } from '../db/backend.js';

/** Environment variable whose value, when set, replaces the database's stored pseudonym key. */
export const PSEUDONYM_KEY_ENV = 'MHMTL_PSEUDONYM_KEY';

/**
 * Keyed pseudonyms of raw ids: HMAC-SHA256(key, "<kind>:<raw id>"), the first 128 bits as 32 hex
 * characters. The same raw id always maps to the same pseudonym under one key, so re-ingests and
 * label files join their posts; without the key a pseudonym cannot be tested against a guess.
 */
export interface Pseudonymizer {
  /** The pseudonym of a raw user id (`user:<id>`). */
  user(rawId: string): string;
  /** The pseudonym of a raw post id (`post:<id>`). */
  post(rawId: string): string;
  /** Where the key came from. */
  readonly keySource: 'environment' | 'database';
}

/** Build a {@link Pseudonymizer} from a key (any non-empty string). @throws Error on an empty key. */
export function createPseudonymizer(key: string, keySource: Pseudonymizer['keySource']): Pseudonymizer {
  if (key.length === 0) throw new Error('the pseudonym key is empty');
  const hmac = hmacSha256(key);
  // Users recur on many posts: remember recent pseudonyms instead of re-hashing, at most 50,000
  // (about 7 MB; a file grouped by user hits it on all but its first post per user).
  const users = new Map<string, string>();
  return {
    keySource,
    user: (raw) => {
      let p = users.get(raw);
      if (p === undefined) {
        p = hmac(`user:${raw}`);
        if (users.size >= 50_000) users.clear();
        users.set(raw, p);
      }
      return p;
    },
    post: (raw) => hmac(`post:${raw}`),
  };
}

/**
 * The pseudonymizer of a database: keyed by MHMTL_PSEUDONYM_KEY when set (non-empty), else by the
 * key the ingest migration stored in `mhmtl.pseudonym_key`.
 * @throws Error when neither exists (the database was not migrated).
 */
export async function pseudonymizer(
  backend: Backend,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Pseudonymizer> {
  const fromEnv = env[PSEUDONYM_KEY_ENV];
  if (fromEnv) return createPseudonymizer(fromEnv, 'environment');
  const rows = await backend.transaction((s) =>
    s.query<{ key: string }>('SELECT key FROM mhmtl.pseudonym_key'),
  );
  const key = rows[0]?.key;
  if (!key) throw new Error('no pseudonym key in mhmtl.pseudonym_key (is the database migrated?)');
  return createPseudonymizer(key, 'database');
}

/**
 * HMAC-SHA256 (RFC 2104, node:crypto createHmac) of each message, the first 128 bits as hex.
 * One createHmac per message: on Node 20 this measured 3-5 us against 8-10 us for copying
 * precomputed padded-key hash states (Hash.copy), so no state is kept but the key.
 */
function hmacSha256(key: string): (message: string) => string {
  const k = Buffer.from(key, 'utf8');
  return (message) => createHmac('sha256', k).update(message).digest('hex').slice(0, 32);
}
