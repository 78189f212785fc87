import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { AdvisoryLock, Backend, Session } from './backend.js';
import { maskUrl } from './config.js';
import type { Database } from './schema.js';

// int8 (counts, ids) and numeric as numbers, as on PGlite.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v: string) => Number(v));

/** The server backend: a `pg` connection pool to PostgreSQL 15 or newer. */
export class PostgresBackend implements Backend {
  readonly name = 'postgres' as const;
  readonly maxConcurrency: number;
  readonly db: Kysely<Database>;
  readonly location: string;
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool, url: string, poolSize: number) {
    this.#pool = pool;
    this.location = maskUrl(url);
    this.maxConcurrency = Math.max(1, poolSize - 2);
    this.db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }

  /**
   * Connect to the server at `url` and check that it answers.
   * @throws Error naming the (masked) URL when the server does not answer.
   */
  static async open(url: string, options: { poolSize?: number } = {}): Promise<PostgresBackend> {
    const poolSize = options.poolSize ?? 6;
    const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
    pool.on('error', () => {
      // An idle client lost its connection; the next checkout reconnects.
    });
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new Error(`cannot connect to ${maskUrl(url)}: ${(error as Error).message}`, { cause: error });
    }
    return new PostgresBackend(pool, url, poolSize);
  }

  async transaction<T>(
    fn: (session: Session) => Promise<T>,
    options: { readOnly?: boolean } = {},
  ): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
      const session: Session = {
        async query<R>(sql: string, params: readonly unknown[] = []) {
          const result = await client.query(sql, params as unknown[]);
          return result.rows as R[];
        },
        async queryArrays(sql: string, params: readonly unknown[] = []) {
          const result = await client.query({ text: sql, values: params as unknown[], rowMode: 'array' });
          return { columns: result.fields.map((f) => f.name), rows: result.rows as unknown[][] };
        },
        async copyFrom(table, columns, data) {
          if (data.length === 0) return 0;
          const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
          await pipeline(Readable.from([data]), stream);
          return Number(stream.rowCount ?? 0);
        },
      };
      const result = await fn(session);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async advisoryLock(key: number, options: { wait?: boolean } = {}): Promise<AdvisoryLock | null> {
    const client = await this.#pool.connect();
    try {
      if (options.wait) {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
      } else {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
        if (!r.rows[0]?.ok) {
          client.release();
          return null;
        }
      }
    } catch (error) {
      client.release();
      throw error;
    }
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        try {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
        } finally {
          client.release();
        }
      },
    };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
