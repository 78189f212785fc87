import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The two implementations of {@link Backend}: embedded PGlite and a PostgreSQL server via `pg`. */
export type BackendName = 'pglite' | 'postgres';

/**
 * One connection inside one transaction, for the work Kysely does not cover: bulk COPY and
 * hand-written SQL. Every statement runs in the transaction; it commits when the callback
 * resolves and rolls back when it throws.
 */
export interface Session {
  /**
   * Run one SQL statement with `$1`-style parameters and return its rows (objects keyed by column).
   * @throws the server's error (with its SQLSTATE in `code`) when the statement fails.
   */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /**
   * Run one SQL statement and return its column names in order and its rows as arrays, so that
   * two columns of the same name both survive (`select 1 as a, 2 as a`).
   * @throws the server's error (with its SQLSTATE in `code`) when the statement fails.
   */
  queryArrays(sql: string, params?: readonly unknown[]): Promise<{ columns: string[]; rows: unknown[][] }>;
  /**
   * Bulk-load rows with `COPY table (columns) FROM STDIN` in PostgreSQL's text format
   * (see {@link encodeCopyText}). On a server this streams through pg-copy-streams; embedded it
   * copies from an in-memory blob. Returns the number of rows copied.
   */
  copyFrom(table: string, columns: readonly string[], data: string): Promise<number>;
}

/** A held advisory lock. */
export interface AdvisoryLock {
  release(): Promise<void>;
}

/**
 * A database backend, in the manner of a Kysely dialect: one interface, two implementations
 * chosen by configuration alone. Nothing outside `src/db` knows which one it has.
 */
export interface Backend {
  readonly name: BackendName;
  /** Where the data lives, printable (a server URL has its password masked). */
  readonly location: string;
  /** The typed query builder over the `mhmtl` schema. */
  readonly db: Kysely<Database>;
  /**
   * How many transactions may usefully run at once: 1 for PGlite (a single connection that
   * serializes transactions), more for a server pool. Stages bound their writes with it.
   */
  readonly maxConcurrency: number;
  /**
   * Run `fn` in one transaction on one connection (committed when `fn` resolves, rolled back when
   * it throws). With `readOnly`, the transaction is `READ ONLY`: a write fails with PostgreSQL's
   * own error (SQLSTATE 25006).
   */
  transaction<T>(fn: (session: Session) => Promise<T>, options?: { readOnly?: boolean }): Promise<T>;
  /**
   * Take the session-level PostgreSQL advisory lock `key` on a connection held until `release()`.
   * Without `wait`, returns null at once when another session holds it; with `wait`, blocks until
   * it is free. A process that dies loses its lock with its connection (server) or its process
   * (embedded), so a killed run never leaves the lock behind.
   */
  advisoryLock(key: number, options?: { wait?: boolean }): Promise<AdvisoryLock | null>;
  /** Close every connection (and, embedded, flush and release the data directory). */
  close(): Promise<void>;
}

/**
 * Encode rows in PostgreSQL's COPY text format: tab-separated columns, newline-terminated rows,
 * `\N` for NULL, backslash escapes for backslash, tab, newline and carriage return. Arrays
 * (`string[]`) become PostgreSQL array literals; `Date` becomes ISO-8601 with offset.
 */
export function encodeCopyText(rows: Iterable<readonly unknown[]>): string {
  const out: string[] = [];
  for (const row of rows) {
    out.push(row.map(encodeCopyValue).join('\t'));
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function encodeCopyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return escapeCopy(arrayLiteral(value));
  if (typeof value === 'object') return escapeCopy(JSON.stringify(value));
  return escapeCopy(String(value));
}

function escapeCopy(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    const s = String(v);
    return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  });
  return `{${items.join(',')}}`;
}
