import { type Kysely, sql } from 'kysely';

/**
 * Execute SQL statements one at a time, in order. PGlite's extended protocol accepts one statement
 * per query, so migrations list their statements instead of sending one multi-statement string.
 */
export async function runStatements(db: Kysely<unknown>, statements: readonly string[]): Promise<void> {
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
