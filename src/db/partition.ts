import type { Backend, Session } from './backend.js';
import { SCHEMA } from './migrate.js';

/**
 * The per-user layout of a server database: the tables whose rows belong to one person, each
 * hash-partitioned by the column that names the person (PostgreSQL declarative partitioning,
 * `PARTITION BY HASH`), every table with the same number of partitions so that one user's rows of
 * all of them sit in partitions with the same remainder (co-located). It is the closest form of
 * Citus' `create_distributed_table(table, column)` that one server has; SCALE.md says what it
 * shows and what it does not. Applied after the migrations by `mhmtl db partition`; no migration
 * knows of it.
 */

/** A per-user table and the column it is partitioned (distributed) by. */
export interface UserTable {
  readonly table: string;
  readonly key: string;
}

/**
 * The per-user tables and their partition key. `predictions` and `splits` are keyed by the unit of
 * analysis: the user pseudonym for user units (co-located with the user's posts), `user/post` for
 * post units (distributed by unit, not co-located).
 */
export const USER_TABLES: readonly UserTable[] = [
  { table: 'users', key: 'user_id' },
  { table: 'posts', key: 'user_id' },
  { table: 'labels', key: 'user_id' },
  { table: 'post_tokens', key: 'user_id' },
  { table: 'predictions', key: 'unit_id' },
  { table: 'splits', key: 'unit_id' },
];

/** Most partitions `partitionUserTables` makes per table. */
export const MAX_PARTITIONS = 256;

/** How one per-user table is laid out now. */
export interface TableLayout {
  table: string;
  /** The column it is partitioned by when partitioned, else the column it would be. */
  key: string;
  /** Hash partitions on that key; 0 for a plain table. */
  partitions: number;
}

/** What {@link partitionUserTables} did. */
export interface PartitionSummary {
  partitions: number;
  /** False when every per-user table already had this layout (nothing was rewritten). */
  changed: boolean;
  /** Per table: its key, the partitions it had before (0 = plain) and the rows it holds. */
  tables: { table: string; key: string; before: number; rows: number }[];
  /** Wall time, seconds. */
  seconds: number;
}

const qualified = (table: string) => `${SCHEMA}.${table}`;
const NAMES = USER_TABLES.map((t) => qualified(t.table));

/**
 * The layout of the per-user tables: per table its partition key and count (0 = plain). A table is
 * counted as partitioned only when it is hash-partitioned on its {@link USER_TABLES} key.
 */
export async function userTableLayout(backend: Backend): Promise<TableLayout[]> {
  return backend.transaction((s) => layoutIn(s), { readOnly: true });
}

async function layoutIn(s: Session): Promise<TableLayout[]> {
  const rows = await s.query<{ table: string; strategy: string | null; key: string | null; n: number }>(
    `SELECT c.relname AS table, pt.partstrat::text AS strategy,
            (SELECT a.attname FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND pt.partnatts = 1 AND a.attnum = pt.partattrs[0]) AS key,
            (SELECT count(*) FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid)::int AS n
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = c.oid
      WHERE ns.nspname = $1 AND c.relname = ANY($2::text[])`,
    [SCHEMA, USER_TABLES.map((t) => t.table)],
  );
  const byName = new Map(rows.map((r) => [r.table, r]));
  return USER_TABLES.map(({ table, key }) => {
    const r = byName.get(table);
    const partitioned = r !== undefined && r.strategy === 'h' && r.key === key;
    return { table, key, partitions: partitioned ? Number(r.n) : 0 };
  });
}

/** What is kept of a table across its rewrite: everything LIKE does not copy. */
interface Saved {
  /** PRIMARY KEY, UNIQUE and EXCLUDE constraints: name and definition. */
  keys: { name: string; def: string }[];
  /** CREATE INDEX statements of indexes that back no constraint. */
  indexes: string[];
  /** CREATE TRIGGER statements of the table's own (not internal, not cloned) triggers. */
  triggers: string[];
  comment: string | null;
  owner: string;
  /** GRANT statements reproducing the table-level privileges of roles other than the owner. */
  grants: string[];
}

/**
 * Rewrite the per-user tables ({@link USER_TABLES}) as hash-partitioned tables with `partitions`
 * partitions each, named `<table>_p<remainder>`, in one transaction that holds an ACCESS EXCLUSIVE
 * lock on all of them (concurrent readers and writers wait; a failure leaves the database as it
 * was). Each table is recreated with `CREATE TABLE ... (LIKE ... INCLUDING ALL EXCLUDING INDEXES)
 * PARTITION BY HASH (key)` (columns, defaults, NOT NULL and CHECK constraints, column comments),
 * its rows are copied, the old table is dropped, and then its primary key, unique constraints,
 * other indexes, foreign keys in both directions (e.g. post_tokens -> posts), triggers (the posts
 * source check of migration 0007), table comment, owner and grants are put back under the same
 * names, and the tables are analyzed. Already in this layout: nothing is rewritten. A database
 * partitioned with another count is rewritten to the new one. Costs a full copy of the tables (time
 * and disk space).
 * @throws RangeError when `partitions` is not an integer in 1..{@link MAX_PARTITIONS};
 *   Error naming the view when a view or rule reads a per-user table (it would be dropped), or the
 *   constraint when a primary key or unique constraint lacks the partition key (PostgreSQL
 *   requires it); the database's error otherwise (nothing is changed).
 */
export async function partitionUserTables(backend: Backend, partitions: number): Promise<PartitionSummary> {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new RangeError(`partitions must be an integer in 1..${MAX_PARTITIONS} (got ${partitions})`);
  }
  const started = performance.now();
  return backend.transaction(async (s) => {
    // Every name read from the catalog comes back schema-qualified, and every one written is.
    await s.query('SET LOCAL search_path TO pg_catalog');
    await s.query(`LOCK TABLE ${NAMES.join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const before = await layoutIn(s);
    const summary = (changed: boolean, rows: Map<string, number>): PartitionSummary => ({
      partitions,
      changed,
      tables: before.map((t) => ({
        table: t.table,
        key: t.key,
        before: t.partitions,
        rows: rows.get(t.table) ?? 0,
      })),
      seconds: (performance.now() - started) / 1000,
    });
    if (before.every((t) => t.partitions === partitions)) {
      const rows = new Map<string, number>();
      for (const { table } of USER_TABLES) {
        const r = await s.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${qualified(table)}`);
        rows.set(table, Number(r[0]?.n ?? 0));
      }
      return summary(false, rows);
    }
    await refuseDependentViews(s);
    const foreignKeys = await s.query<{ name: string; on: string; def: string }>(
      `SELECT c.conname AS name, c.conrelid::regclass::text AS on, pg_get_constraintdef(c.oid) AS def
         FROM pg_constraint c
        WHERE c.contype = 'f' AND c.conparentid = 0
          AND (c.conrelid = ANY($1::text[]::regclass[]) OR c.confrelid = ANY($1::text[]::regclass[]))
        ORDER BY c.conrelid::regclass::text, c.conname`,
      [NAMES],
    );
    const saved = new Map<string, Saved>();
    for (const t of USER_TABLES) saved.set(t.table, await save(s, t));
    for (const fk of foreignKeys) await s.query(`ALTER TABLE ${fk.on} DROP CONSTRAINT ${ident(fk.name)}`);

    const rows = new Map<string, number>();
    for (const { table, key } of USER_TABLES) {
      const next = `${table}__by_user`;
      await s.query(
        `CREATE TABLE ${qualified(next)} (LIKE ${qualified(table)} INCLUDING ALL EXCLUDING INDEXES) PARTITION BY HASH (${ident(key)})`,
      );
      for (let i = 0; i < partitions; i++) {
        await s.query(
          `CREATE TABLE ${qualified(`${next}_p${i}`)} PARTITION OF ${qualified(next)} FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${i})`,
        );
      }
      const copied = await s.query<{ n: number }>(
        `WITH c AS (INSERT INTO ${qualified(next)} SELECT * FROM ${qualified(table)} RETURNING 1) SELECT count(*)::int8 AS n FROM c`,
      );
      rows.set(table, Number(copied[0]?.n ?? 0));
      await s.query(`DROP TABLE ${qualified(table)}`);
      await s.query(`ALTER TABLE ${qualified(next)} RENAME TO ${ident(table)}`);
      for (let i = 0; i < partitions; i++) {
        await s.query(`ALTER TABLE ${qualified(`${next}_p${i}`)} RENAME TO ${ident(`${table}_p${i}`)}`);
      }
      await restore(s, table, partitions, saved.get(table)!);
    }
    for (const fk of foreignKeys) {
      await s.query(`ALTER TABLE ${fk.on} ADD CONSTRAINT ${ident(fk.name)} ${fk.def}`);
    }
    for (const { table } of USER_TABLES) await s.query(`ANALYZE ${qualified(table)}`);
    return summary(true, rows);
  });
}

/** A view or rule that reads a per-user table would go with the table's DROP: refuse instead. */
async function refuseDependentViews(s: Session): Promise<void> {
  const views = await s.query<{ view: string; table: string }>(
    `SELECT DISTINCT r.ev_class::regclass::text AS view, d.refobjid::regclass::text AS table
       FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
        AND d.refobjid = ANY($1::text[]::regclass[]) AND r.ev_class <> d.refobjid
      ORDER BY 1, 2`,
    [NAMES],
  );
  if (views.length > 0) {
    const list = views.map((v) => `${v.view} (reads ${v.table})`).join(', ');
    throw new Error(
      `cannot partition the per-user tables: ${list} would be dropped with them; drop it first and create it again after`,
    );
  }
}

async function save(s: Session, { table, key }: UserTable): Promise<Saved> {
  const rel = qualified(table);
  const keys = await s.query<{ name: string; def: string; has_key: boolean }>(
    `SELECT c.conname AS name, pg_get_constraintdef(c.oid) AS def,
            EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) AND a.attname = $2) AS has_key
       FROM pg_constraint c
      WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u', 'x') AND c.conparentid = 0
      ORDER BY c.contype, c.conname`,
    [rel, key],
  );
  const lacking = keys.find((k) => !k.has_key);
  if (lacking) {
    throw new Error(
      `cannot partition ${rel} by ${key}: its constraint ${lacking.name} (${lacking.def}) does not include ${key}, and PostgreSQL requires every primary key and unique constraint of a partitioned table to include the partition key`,
    );
  }
  const indexes = await s.query<{ def: string }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
      WHERE i.indrelid = $1::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                         WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
      ORDER BY i.indexrelid::regclass::text`,
    [rel],
  );
  const triggers = await s.query<{ def: string }>(
    `SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
      WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal AND t.tgparentid = 0 ORDER BY t.tgname`,
    [rel],
  );
  const meta = await s.query<{ comment: string | null; owner: string }>(
    `SELECT obj_description(c.oid, 'pg_class') AS comment, quote_ident(pg_get_userbyid(c.relowner)) AS owner
       FROM pg_class c WHERE c.oid = $1::regclass`,
    [rel],
  );
  const grants = await s.query<{ grant: string }>(
    `SELECT format('GRANT %s ON %s TO %s%s', a.privilege_type, c.oid::regclass,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS grant
       FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = $1::regclass AND a.grantee <> c.relowner
      ORDER BY 1`,
    [rel],
  );
  return {
    keys: keys.map(({ name, def }) => ({ name, def })),
    indexes: indexes.map((r) => r.def),
    triggers: triggers.map((r) => r.def),
    comment: meta[0]?.comment ?? null,
    owner: meta[0]?.owner ?? 'CURRENT_USER',
    grants: grants.map((r) => r.grant),
  };
}

/** Put back on the new (renamed) table and its partitions what {@link save} kept. */
async function restore(s: Session, table: string, partitions: number, saved: Saved): Promise<void> {
  const rel = qualified(table);
  for (const k of saved.keys) await s.query(`ALTER TABLE ${rel} ADD CONSTRAINT ${ident(k.name)} ${k.def}`);
  for (const index of saved.indexes) await s.query(index);
  await s.query(`COMMENT ON TABLE ${rel} IS ${saved.comment === null ? 'NULL' : literal(saved.comment)}`);
  await s.query(`ALTER TABLE ${rel} OWNER TO ${saved.owner}`);
  for (let i = 0; i < partitions; i++) {
    await s.query(`ALTER TABLE ${qualified(`${table}_p${i}`)} OWNER TO ${saved.owner}`);
  }
  for (const grant of saved.grants) await s.query(grant);
  for (const trigger of saved.triggers) await s.query(trigger);
}

/** A quoted SQL identifier. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A quoted SQL string literal. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
