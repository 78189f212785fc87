import { parse as parseCsvSync } from 'csv-parse/sync';
import he from 'he';
import { UsageError } from '../errors.js';
import { type ResolvedMapping, resolveMapping } from './mapping.js';
import type { Pseudonymizer } from './pseudonym.js';
import { readCsv } from './readers/csv.js';
import { detectFormat, type Input, openInput, peekText } from './readers/input.js';
import { readJsonl } from './readers/jsonl.js';
import type { RawRecord } from './readers/record.js';
import {
  bump,
  DEFAULT_MAX_TEXT_LENGTH,
  createdAtProblem,
  parseCreatedAt,
  repairText,
  textHash,
  truncateCodePoints,
} from './repair.js';
import { emptyScrubCounts, scrubText } from './scrub.js';
import type {
  CleanLabel,
  CleanPost,
  CleanRow,
  ColumnMapping,
  CommunityMapping,
  IngestKind,
  InputFormat,
  ReadStats,
  RejectedRow,
  RejectReason,
} from './types.js';
import { describeSchemaError, validators } from './validate.js';

/** Options of the reader + scrub + pseudonymize pipeline. */
export interface CleanOptions {
  kind: IngestKind;
  /** Default 'auto'. */
  format?: InputFormat | 'auto';
  /** Required for kind 'reddit'. */
  mapping?: CommunityMapping;
  /** Input column (or property) for each contract field. */
  columns?: ColumnMapping;
  /** Maximum post length in code points (default 100,000); longer texts are cut and flagged. */
  maxTextLength?: number;
  /** Reddit: load moderator/admin-distinguished posts too (default: skip and count them). */
  includeDistinguished?: boolean;
}

/** A file opened for cleaning: the clean rows, what was read, and the resolved format. */
export interface CleanStream {
  format: InputFormat;
  input: Input;
  stats: ReadStats;
  rows: AsyncGenerator<CleanRow>;
}

/** Fresh zeroed {@link ReadStats}. */
export function emptyReadStats(): ReadStats {
  return { records: 0, repaired: {}, skipped: {}, scrubbed: emptyScrubCounts(), unlabelled: 0 };
}

/**
 * Open `file` and stream its rows through the readers, validation (schemas/), text repair,
 * scrubbing and pseudonymization, without touching a database: what `mhmtl predict` uses for new
 * files, and what the loader stores. Nothing yielded holds a raw id, handle, URL, e-mail or phone
 * number (rejected rows carry scrubbed raw text).
 * @throws MhmtlError when the file cannot be read; UsageError for a bad mapping, or when a CSV/TSV
 *   header lacks a mapped or required column (see {@link checkHeader}).
 */
export async function openClean(
  file: string,
  options: CleanOptions,
  pseudo: Pseudonymizer,
): Promise<CleanStream> {
  const mapping = options.kind === 'reddit' ? resolveMapping(options.mapping ?? { tasks: {} }) : undefined;
  const format = await checkInput(file, options);
  const input = await openInput(file);
  const stats = emptyReadStats();
  const records =
    format === 'jsonl' ? readJsonl(input.stream) : readCsv(input.stream, format === 'tsv' ? '\t' : ',');
  return { format, input, stats, rows: cleanRecords(records, options, pseudo, stats, mapping) };
}

/**
 * Read the start of `file`: its format (`options.format`, or detected when 'auto') and, for CSV
 * and TSV, its header checked against the column mapping ({@link checkHeader}). Cheap (one peek),
 * so that a command can check every file it was given before it loads any.
 * @throws MhmtlError when the file cannot be read; UsageError for a header that does not fit.
 */
export async function checkInput(
  file: string,
  options: Pick<CleanOptions, 'kind' | 'columns' | 'format'>,
): Promise<InputFormat> {
  const requested = options.format ?? 'auto';
  const head = await peekText(file, HEADER_PEEK_BYTES);
  const format = requested === 'auto' ? detectFormat(file, head) : requested;
  if (format !== 'jsonl') checkHeader(file, head, format, options);
  return format;
}

/** How much of a file is read for format detection and its CSV/TSV header. */
const HEADER_PEEK_BYTES = 1 << 16;

/** The contract fields each kind of row cannot do without (schemas/*.schema.json `required`). */
const REQUIRED: Record<IngestKind, readonly string[]> = {
  posts: ['user_id', 'created_at', 'text'],
  labels: ['user_id'],
  reddit: ['id', 'title', 'created_utc'],
};

/**
 * Check a CSV/TSV header against the column mapping before anything is read into the database:
 * every mapped column must be in the header, and every field the kind requires must have a
 * column (its mapped one, else its own name); long-form labels need `task` and `label` together,
 * wide ones at least one task column. An empty file has no header and passes (it loads nothing).
 * @param head the first bytes of the decompressed file (the header is its first line).
 * @throws UsageError (exit 2), one line naming the column and the header's columns.
 */
export function checkHeader(
  file: string,
  head: string,
  format: 'csv' | 'tsv',
  options: Pick<CleanOptions, 'kind' | 'columns'>,
): void {
  const line = (head.replace(/^\uFEFF/, '').split('\n', 1)[0] ?? '').replace(/\r$/, '');
  if (line.trim() === '') return;
  let header: string[];
  try {
    header = (
      parseCsvSync(line, { delimiter: format === 'tsv' ? '\t' : ',', relax_quotes: true }) as string[][]
    )[0]!.map((h) => h.trim());
  } catch {
    return; // a header csv-parse cannot read: the reader reports the records as malformed_csv
  }
  const has = new Set(header);
  const listed = `its columns: ${header.join(', ')}`;
  const columns = options.columns ?? {};
  for (const [field, column] of Object.entries(columns)) {
    if (column && !has.has(column)) {
      throw new UsageError(
        `column mapping ${field}=${column}: ${file} has no column '${column}' (${listed})`,
      );
    }
  }
  const columnOf = (field: string) => (columns as Record<string, string | undefined>)[field] ?? field;
  const missing = (field: string) => !has.has(columnOf(field));
  const required = [...REQUIRED[options.kind]];
  if (options.kind === 'labels') {
    if (!missing('task') || !missing('label')) required.push('task', 'label');
    else if (header.length < 2) required.push('task', 'label');
  }
  for (const field of required) {
    if (missing(field)) {
      throw new UsageError(
        `${file} has no column '${columnOf(field)}' for ${field}, which ${options.kind} need (${listed}); map one with --column ${field}=COLUMN`,
      );
    }
  }
}

/** Turn raw records into clean rows (see {@link openClean}). */
export async function* cleanRecords(
  records: AsyncIterable<RawRecord>,
  options: CleanOptions,
  pseudo: Pseudonymizer,
  stats: ReadStats,
  mapping?: ResolvedMapping,
): AsyncGenerator<CleanRow> {
  const ctx: Ctx = {
    options,
    pseudo,
    stats,
    mapping,
    maxLen: options.maxTextLength ?? DEFAULT_MAX_TEXT_LENGTH,
    csv: false,
  };
  const v = validators();
  for await (const rec of records) {
    stats.records++;
    if (rec.error || !rec.value) {
      yield reject(ctx, rec, rec.error?.reason ?? 'malformed_json', rec.error?.message ?? 'unparseable');
      continue;
    }
    if (rec.invalidUtf8) bump(stats.repaired, 'invalid_utf8');
    const value = rename(rec.value, options.columns);
    if (options.kind === 'posts') {
      if (!v.post(value)) {
        yield reject(ctx, rec, 'schema', describeSchemaError(v.post.errors));
        continue;
      }
      const post = makePost(ctx, rec, value);
      yield post;
    } else if (options.kind === 'labels') {
      yield* labelRows(ctx, rec, value);
    } else {
      yield* redditRows(ctx, rec, value);
    }
  }
}

interface Ctx {
  options: CleanOptions;
  pseudo: Pseudonymizer;
  stats: ReadStats;
  mapping: ResolvedMapping | undefined;
  maxLen: number;
  csv: boolean;
}

/** Optional contract fields where an empty value (an empty CSV cell) means absent. */
const OPTIONAL = new Set([
  'post_id',
  'lang',
  'community',
  'selftext',
  'author',
  'distinguished',
  'subreddit',
]);

/** Map input names to contract names; an empty optional field becomes absent. */
function rename(value: Record<string, unknown>, columns: ColumnMapping | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value };
  if (columns) {
    for (const [field, column] of Object.entries(columns)) {
      if (column && column !== field) {
        const v = value[column];
        if (v === undefined) delete out[field];
        else out[field] = v;
      }
    }
  }
  for (const k of OPTIONAL) if (out[k] === '') delete out[k];
  return out;
}

function reject(ctx: Ctx, rec: RawRecord, reason: RejectReason, detail: string): RejectedRow {
  return {
    type: 'reject',
    line: rec.line,
    reason,
    message: `${reason}: ${detail}`,
    raw: scrubRaw(ctx, rec),
  };
}

/**
 * The raw record as stored in quarantine, never the raw bytes. A record that parsed (a JSON object
 * or a CSV row) is stored as JSON with its id fields (user_id, post_id, author, id, and their
 * mapped columns) replaced by their pseudonyms and every string repaired and scrubbed. An
 * unparseable line is stored with its JSON escapes (\n, \t, \/, \uXXXX) decoded and then
 * scrubbed, so escaping cannot hide a handle or address (raw ids in it cannot be recognized).
 */
function scrubRaw(ctx: Ctx, rec: RawRecord): string {
  const repaired: Record<string, number> = {};
  let text: string;
  if (rec.value) {
    const value: Record<string, unknown> = { ...rec.value };
    const cols = ctx.options.columns ?? {};
    for (const key of new Set(['user_id', 'author', cols.user_id ?? 'user_id'])) {
      if (value[key] !== undefined && value[key] !== null && value[key] !== '')
        value[key] = ctx.pseudo.user(String(value[key]));
    }
    for (const key of new Set(['post_id', 'id', cols.post_id ?? 'post_id'])) {
      if (value[key] !== undefined && value[key] !== null && value[key] !== '')
        value[key] = ctx.pseudo.post(String(value[key]));
    }
    text = JSON.stringify(scrubDeep(value, repaired));
  } else {
    const decoded = rec.raw
      .replace(/\\u([0-9a-fA-F]{4})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
      .replace(/\\[nrt]/g, ' ')
      .replace(/\\\//g, '/');
    text = scrubText(repairText(decoded, repaired));
  }
  return truncateCodePoints(text, ctx.maxLen).text;
}

function scrubDeep(value: unknown, repaired: Record<string, number>): unknown {
  if (typeof value === 'string') return scrubText(repairText(value, repaired));
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, repaired));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[scrubText(repairText(k, repaired))] = scrubDeep(v, repaired);
    return out;
  }
  return value;
}

/** Repair, scrub and cut a text; null when nothing is left. */
function cleanText(ctx: Ctx, text: string, flags: string[]): string | null {
  let t = scrubText(repairText(text, ctx.stats.repaired), ctx.stats.scrubbed);
  const cut = truncateCodePoints(t, ctx.maxLen);
  if (cut.truncated) {
    t = cut.text;
    flags.push('truncated');
    bump(ctx.stats.repaired, 'truncated');
  }
  return t.trim() === '' ? null : t;
}

function makePost(ctx: Ctx, rec: RawRecord, value: Record<string, unknown>): CleanPost | RejectedRow {
  const createdAt = parseCreatedAt(value.created_at);
  if (createdAt === null) {
    return reject(ctx, rec, 'bad_date', `created_at: ${createdAtProblem(value.created_at)}`);
  }
  const flags: string[] = [];
  const text = cleanText(ctx, value.text as string, flags);
  if (text === null) return reject(ctx, rec, 'empty_text', 'text: empty after repair');
  const userId = ctx.pseudo.user(String(value.user_id));
  const hash = textHash(text);
  const rawPost = value.post_id;
  const lang = typeof value.lang === 'string' && value.lang !== '' ? value.lang : null;
  const community = typeof value.community === 'string' && value.community !== '' ? value.community : null;
  return {
    type: 'post',
    line: rec.line,
    userId,
    postId: rawPost === undefined ? hash : ctx.pseudo.post(String(rawPost)),
    createdAt,
    text,
    lang,
    textHash: hash,
    community,
    flags,
  };
}

const NULL_WORDS = new Set(['null', 'na', 'n/a', 'none', 'unknown', '?']);

/** CSV label cells: '1' -> 1, '0' -> 0, 'null'/'NA'/... -> null; anything else left for the schema to name. */
function labelValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (s === '1' || s === '1.0' || s === 'true') return 1;
  if (s === '0' || s === '0.0' || s === 'false') return 0;
  if (s === '' || NULL_WORDS.has(s)) return null;
  return v;
}

function* labelRows(ctx: Ctx, rec: RawRecord, value: Record<string, unknown>): Generator<CleanRow> {
  const v = validators();
  const isCsv = !rec.raw.trimStart().startsWith('{');
  let record = value;
  if (isCsv) {
    if ('task' in value || 'label' in value) {
      record = { ...value, label: labelValue(value.label ?? '') };
    } else {
      const labels: Record<string, unknown> = {};
      for (const [k, cell] of Object.entries(rec.value ?? {})) {
        const field = Object.entries(ctx.options.columns ?? {}).find(([, c]) => c === k)?.[0] ?? k;
        if (field !== 'user_id') labels[k] = labelValue(cell);
      }
      record = { user_id: value.user_id, labels };
    }
  }
  const wide = 'labels' in record;
  const check = wide ? v.labelWide : v.labelLong;
  if (!check(record)) {
    yield reject(ctx, rec, 'schema', describeSchemaError(check.errors));
    return;
  }
  const userId = ctx.pseudo.user(String(record.user_id));
  if (wide) {
    for (const [task, label] of Object.entries(record.labels as Record<string, 0 | 1 | null>)) {
      yield { type: 'label', line: rec.line, userId, task, label } satisfies CleanLabel;
    }
  } else {
    yield {
      type: 'label',
      line: rec.line,
      userId,
      task: record.task as string,
      label: record.label as 0 | 1 | null,
    } satisfies CleanLabel;
  }
}

const PERMALINK_COMMUNITY = /\/r\/([A-Za-z0-9_]+)/;
const NO_BODY = new Set(['[deleted]', '[removed]']);
const NO_AUTHOR = new Set(['[deleted]', '[removed]', '']);

function* redditRows(ctx: Ctx, rec: RawRecord, value: Record<string, unknown>): Generator<CleanRow> {
  const v = validators();
  const record: Record<string, unknown> = { ...value };
  if (typeof record.id === 'number') record.id = String(record.id);
  if (!v.reddit(record)) {
    yield reject(ctx, rec, 'schema', describeSchemaError(v.reddit.errors));
    return;
  }
  const distinguished = typeof record.distinguished === 'string' ? record.distinguished.trim() : '';
  if (distinguished !== '' && !ctx.options.includeDistinguished) {
    bump(ctx.stats.skipped, 'distinguished');
    yield { type: 'skip', line: rec.line, reason: 'distinguished' };
    return;
  }
  const createdAt = parseCreatedAt(record.created_utc);
  if (createdAt === null) {
    yield reject(ctx, rec, 'bad_date', `created_utc: unparseable date ${JSON.stringify(record.created_utc)}`);
    return;
  }
  const community =
    (typeof record.subreddit === 'string' && record.subreddit !== '' ? record.subreddit : undefined) ??
    (typeof record.permalink === 'string' ? PERMALINK_COMMUNITY.exec(record.permalink)?.[1] : undefined) ??
    null;
  const title = decodeEntities(ctx, record.title as string);
  const rawBody = typeof record.selftext === 'string' ? record.selftext : '';
  const body = NO_BODY.has(rawBody.trim()) ? '' : decodeEntities(ctx, rawBody);
  const flags: string[] = [];
  const text = cleanText(ctx, body.trim() === '' ? title : `${title}\n\n${body}`, flags);
  if (text === null) {
    yield reject(ctx, rec, 'empty_text', 'title, selftext: empty after repair');
    return;
  }
  const postId = ctx.pseudo.post(record.id as string);
  const author = typeof record.author === 'string' ? record.author.trim() : '';
  // Without an author, each post is its own unit of analysis: its user is the post pseudonym.
  const userId = NO_AUTHOR.has(author) ? postId : ctx.pseudo.user(author);
  yield {
    type: 'post',
    line: rec.line,
    userId,
    postId,
    createdAt,
    text,
    lang: null,
    textHash: textHash(text),
    community,
    flags,
  } satisfies CleanPost;
  const mapping = ctx.mapping!;
  const key = community?.toLowerCase();
  if (key === undefined || !mapping.communities.has(key)) {
    ctx.stats.unlabelled++;
    return;
  }
  const positive = mapping.communities.get(key) ?? null;
  for (const task of mapping.tasks) {
    yield {
      type: 'label',
      line: rec.line,
      userId,
      task,
      label: task === positive ? 1 : 0,
    } satisfies CleanLabel;
  }
}

function decodeEntities(ctx: Ctx, s: string): string {
  if (!s.includes('&')) return s;
  const out = he.decode(s);
  if (out !== s) bump(ctx.stats.repaired, 'html_entities');
  return out;
}
