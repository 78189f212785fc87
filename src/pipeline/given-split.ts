import type { Backend } from '../db/backend.js';
import { UsageError } from '../errors.js';
import { SPLIT_DEV, SPLIT_TEST, SPLIT_TRAIN } from '../evaluate/splits.js';
import { pseudonymizer } from '../ingest/pseudonym.js';
import { readCsv } from '../ingest/readers/csv.js';
import { detectFormat, openInput, peekText } from '../ingest/readers/input.js';
import { readJsonl } from '../ingest/readers/jsonl.js';
import type { PipelineConfig } from './config.js';

/**
 * A given split (evaluation.split.kind "given"): a file assigns each raw user id to train, dev or
 * test, so that results can be compared with a published split. The ids are pseudonymized on read
 * with the database's key, as ingest does (src/ingest/pseudonym.ts), so the file's raw ids never
 * reach the database.
 */

/** A given split as read: user pseudonym -> split code, and where it came from. */
export interface GivenSplit {
  /** User pseudonym -> SPLIT_TRAIN, SPLIT_DEV or SPLIT_TEST. */
  assignment: Map<string, number>;
  /** Data rows read. */
  rows: number;
  /** SHA-256 of the file's bytes (recorded instead of its path). */
  sha256: string;
  column: string;
}

const CODES: Record<string, number> = { train: SPLIT_TRAIN, dev: SPLIT_DEV, test: SPLIT_TEST };

/**
 * Check a pipeline's given split options that need no data: `file` is set. (The file itself is
 * read by {@link readGivenSplit}, before the run is recorded.)
 * @throws UsageError naming /evaluation/split/file.
 */
export function checkGivenSplitFile(config: PipelineConfig, origin: string): void {
  const split = config.evaluation?.split;
  if (split?.kind === 'given' && !split.file)
    throw new UsageError(`${origin}: /evaluation/split/file: a given split needs a file`);
}

/**
 * Read a given split file (CSV, TSV or JSON Lines, optionally gzipped): one row per user with the
 * raw user id in `userColumn` and train / dev / test (case-insensitive) in `column`.
 * @throws UsageError (one line, naming the option and the file's line) when the file cannot be
 *   read, a row lacks either column, a value is not train/dev/test, or a user is assigned twice
 *   to different parts.
 */
export async function readGivenSplit(
  backend: Backend,
  file: string,
  options: { userColumn?: string; column?: string } = {},
): Promise<GivenSplit> {
  const userColumn = options.userColumn ?? 'user_id';
  const column = options.column ?? 'split';
  const where = `evaluation.split.file ${file}`;
  let input: Awaited<ReturnType<typeof openInput>>;
  let format: ReturnType<typeof detectFormat>;
  try {
    format = detectFormat(file, await peekText(file));
    input = await openInput(file);
  } catch (error) {
    throw new UsageError(`${where}: ${(error as Error).message}`);
  }
  const pseudo = await pseudonymizer(backend);
  const records =
    format === 'jsonl' ? readJsonl(input.stream) : readCsv(input.stream, format === 'tsv' ? '\t' : ',');
  const assignment = new Map<string, number>();
  let rows = 0;
  for await (const record of records) {
    if (!record.value)
      throw new UsageError(`${where}: line ${record.line}: ${record.error?.message ?? 'unreadable'}`);
    rows++;
    const raw = record.value[userColumn];
    const part = record.value[column];
    if (raw === undefined || raw === null || raw === '')
      throw new UsageError(
        `${where}: line ${record.line}: no '${userColumn}' (evaluation.split.user_column)`,
      );
    const code = typeof part === 'string' ? CODES[part.trim().toLowerCase()] : undefined;
    if (code === undefined)
      throw new UsageError(
        `${where}: line ${record.line}: '${column}' (evaluation.split.column) must be train, dev or test, got ${JSON.stringify(part ?? null)}`,
      );
    const user = pseudo.user(String(raw));
    const before = assignment.get(user);
    if (before !== undefined && before !== code)
      throw new UsageError(`${where}: line ${record.line}: the user is assigned to two parts`);
    assignment.set(user, code);
  }
  if (rows === 0) throw new UsageError(`${where}: no rows`);
  return { assignment, rows, sha256: input.sha256(), column };
}

/**
 * Match a given split to the labelled units: a unit takes its user's part (a post unit, its
 * author's); units whose user the file does not name are left out; users the file names that are
 * among no labelled unit are counted (unknown users).
 * @param unitUsers the user pseudonym of each labelled unit `[units]`.
 * @returns the rows of the units kept (ascending), their codes `[kept]`, and the record.
 */
export function matchGivenSplit(
  given: GivenSplit,
  unitUsers: readonly string[],
): { keep: number[]; codes: Int8Array; record: Record<string, unknown> } {
  const keep: number[] = [];
  const codes: number[] = [];
  const seen = new Set<string>();
  unitUsers.forEach((user, i) => {
    const code = given.assignment.get(user);
    if (code === undefined) return;
    seen.add(user);
    keep.push(i);
    codes.push(code);
  });
  return {
    keep,
    codes: Int8Array.from(codes),
    record: {
      file_sha256: given.sha256,
      column: given.column,
      rows: given.rows,
      users_named: given.assignment.size,
      unknown_users: given.assignment.size - seen.size,
      units_not_named: unitUsers.length - keep.length,
    },
  };
}
