import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import type { AdvisoryLock, Backend, Session } from './backend.js';
import type { EmbeddedSettings } from './config.js';
import { type DirectoryLock, lockDirectory } from './directory-lock.js';
import { holdsDatabase, pgliteTemplate } from './pglite-template.js';
import type { Database } from './schema.js';

/**
 * Parse int8 and numeric as JavaScript numbers on both backends (counts stay far below 2^53), and
 * bytea's hex text with Node's native decoder: PGlite's own parser builds the array one
 * `parseInt` call per byte (seconds and hundreds of MB for a model's 20 MB of weights).
 */
const parsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.NUMERIC]: (v: string) => Number(v),
  [types.BYTEA]: (v: string) => hexToBytes(v),
};

/**
 * Send bytea parameters in PostgreSQL's binary format (the raw bytes; PGlite's protocol writer
 * sends a Uint8Array value with format code 1), not as PGlite's default hex text, which it builds
 * with `Array.from(bytes).map(...)`: one JavaScript number and one two-character string per byte,
 * over 1 GB of transient heap for a 20 MB weight matrix. The value is passed through unchanged.
 * @throws TypeError when the value is not a Uint8Array (as PGlite's own serializer).
 */
const serializers = {
  [types.BYTEA]: (v: unknown) => {
    if (!(v instanceof Uint8Array)) throw new TypeError('Invalid input for bytea type');
    return v as unknown as string;
  },
};

/** bytea's text output `\\x<hex>` as bytes (a plain Uint8Array, not a Buffer from the shared pool). */
export function hexToBytes(text: string): Uint8Array {
  if (!text.startsWith('\\x')) throw new Error('bytea: expected the hex output format (\\x...)');
  const buffer = Buffer.from(text.slice(2), 'hex');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * The embedded backend: PGlite (PostgreSQL compiled to WebAssembly, in-process) persisted in a
 * directory, or in memory. Opening a directory takes an exclusive lock file beside it
 * (`<dir>.lock`), because two processes writing one PGlite directory would corrupt it.
 */
export class PGliteBackend implements Backend {
  readonly name = 'pglite' as const;
  readonly maxConcurrency = 1;
  readonly db: Kysely<Database>;
  readonly location: string;
  readonly #pglite: PGlite;
  readonly #lock: DirectoryLock | undefined;

  private constructor(pglite: PGlite, location: string, lock: DirectoryLock | undefined) {
    this.#pglite = pglite;
    this.location = location;
    this.#lock = lock;
    this.db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  }

  /**
   * Open (creating if needed) an embedded database. `dataDir` undefined means in memory.
   * `settings` are PostgreSQL settings passed at start-up (`-c name=value`), for this process only;
   * none by default (PostgreSQL's own; `openBackend` passes `EMBEDDED_DEFAULT_SETTINGS`).
   * @throws BusyError when another live process holds the directory (after `waitMs`, if given);
   *   Error when PostgreSQL refuses a setting (its message names it).
   */
  static async open(
    dataDir: string | undefined,
    options: { waitMs?: number; settings?: EmbeddedSettings } = {},
  ): Promise<PGliteBackend> {
    let lock: DirectoryLock | undefined;
    if (dataDir !== undefined) {
      mkdirSync(path.dirname(dataDir), { recursive: true });
      lock = await lockDirectory(dataDir, options.waitMs ?? 0);
    }
    try {
      const startParams = [
        ...PGlite.defaultStartParams,
        ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
      ];
      // PGlite reports a refused setting (or any start-up failure) only as "failed to initialize":
      // keep PostgreSQL's own FATAL line to name it.
      let fatal: string | undefined;
      // A new database is unpacked from the build's initialized template (./pglite-template.ts).
      const template = holdsDatabase(dataDir) ? null : pgliteTemplate();
      const pglite = await PGlite.create({
        ...(dataDir !== undefined ? { dataDir } : {}),
        ...(template ? { loadDataDir: template } : {}),
        parsers,
        serializers,
        startParams,
        onStderr: (line) => {
          const m = /\b(?:FATAL|PANIC):\s+(.*)$/.exec(line);
          if (m) fatal = m[1];
          return false;
        },
      }).catch((error: unknown) => {
        if (fatal === undefined) throw error;
        const message = error instanceof Error ? error.message : String(error);
        const hint = /\bparameter\b/.test(fatal) ? ' (check MHMTL_PGLITE_SETTINGS)' : '';
        throw new Error(`${message}: ${fatal}${hint}`, { cause: error });
      });
      return new PGliteBackend(pglite, dataDir ?? ':memory:', lock);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  async transaction<T>(
    fn: (session: Session) => Promise<T>,
    options: { readOnly?: boolean } = {},
  ): Promise<T> {
    return this.#pglite.transaction(async (tx) => {
      if (options.readOnly) await tx.query('SET TRANSACTION READ ONLY');
      const session: Session = {
        async query<R>(sql: string, params: readonly unknown[] = []) {
          const result = await tx.query<R>(sql, params as unknown[]);
          return result.rows;
        },
        async queryArrays(sql: string, params: readonly unknown[] = []) {
          const result = await tx.query<unknown[]>(sql, params as unknown[], { rowMode: 'array' });
          return { columns: result.fields.map((f) => f.name), rows: result.rows };
        },
        async copyFrom(table, columns, data) {
          if (data.length === 0) return 0;
          const result = await tx.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], {
            blob: new Blob([data]),
          });
          return result.affectedRows ?? 0;
        },
      };
      return fn(session);
    });
  }

  /**
   * Embedded: the data directory is already held by this process alone (its lock file), so the
   * advisory lock only orders callers inside this process; it is taken on the single connection.
   */
  async advisoryLock(key: number, options: { wait?: boolean } = {}): Promise<AdvisoryLock | null> {
    const pglite = this.#pglite;
    for (;;) {
      const r = await pglite.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      if (r.rows[0]?.ok) break;
      if (!options.wait) return null;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    let released = false;
    return {
      async release() {
        if (released || pglite.closed) return;
        released = true;
        await pglite.query('SELECT pg_advisory_unlock($1)', [key]);
      },
    };
  }

  async close(): Promise<void> {
    try {
      await this.db.destroy();
      if (!this.#pglite.closed) await this.#pglite.close();
    } finally {
      this.#lock?.release();
    }
  }
}
