import { access, constants, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { cannotRead, MhmtlError, UsageError } from '../../errors.js';
import {
  checkInput,
  type ColumnMapping,
  type IngestKind,
  type IngestSummary,
  ingestFile,
  loadMapping,
  pseudonymizer,
} from '../../ingest/index.js';
import { withDatabase } from '../context.js';
import { createProgressRenderer } from '../progress.js';

interface IngestCliOptions {
  format: string;
  source?: string;
  strict?: boolean;
  quiet?: boolean;
  maxTextLength?: string;
  column?: string[];
  map?: string;
  includeDistinguished?: boolean;
}

const FIELDS = ['user_id', 'post_id', 'created_at', 'text', 'lang', 'task', 'label', 'community'] as const;

function parseColumns(specs: readonly string[] | undefined): ColumnMapping | undefined {
  if (!specs || specs.length === 0) return undefined;
  const columns: ColumnMapping = {};
  for (const spec of specs) {
    const m = /^([a-z_]+)=(.+)$/.exec(spec);
    if (!m || !(FIELDS as readonly string[]).includes(m[1]!)) {
      throw new UsageError(
        `--column must be FIELD=COLUMN with FIELD one of ${FIELDS.join(', ')} (got '${spec}')`,
      );
    }
    columns[m[1] as (typeof FIELDS)[number]] = m[2]!;
  }
  return columns;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function counts(c: Record<string, number>): string {
  return Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** One human-readable line (or a few) for one file's ingest. */
export function formatSummary(s: IngestSummary): string {
  const head = `${s.sourceName} (source ${s.sourceId}, ${s.format}${s.gzip ? '.gz' : ''}, ${s.kind}): ${s.records} records`;
  if (s.strictFailed) {
    return `${head}: --strict and ${s.rejected} rejected (${counts(s.rejectedByReason)}): nothing loaded`;
  }
  const parts: string[] = [];
  if (s.kind !== 'labels') parts.push(`posts ${s.posts.inserted} inserted, ${s.posts.duplicates} duplicates`);
  if (s.kind !== 'posts') {
    parts.push(
      `labels ${s.labels.inserted} inserted, ${s.labels.updated} updated, ${s.labels.unchanged} unchanged`,
    );
  }
  parts.push(`users ${s.users} new`);
  parts.push(s.rejected > 0 ? `rejected ${s.rejected} (${counts(s.rejectedByReason)})` : 'rejected 0');
  const repaired = counts(s.repaired);
  if (repaired) parts.push(`repaired: ${repaired}`);
  const skipped = counts(s.skipped);
  if (skipped) parts.push(`skipped: ${skipped}`);
  if (s.unlabelled > 0) parts.push(`${s.unlabelled} posts in unmapped communities (no labels)`);
  const scrubbed = counts(s.scrubbed as unknown as Record<string, number>);
  if (scrubbed) parts.push(`scrubbed: ${scrubbed}`);
  parts.push(`${Math.round(s.rowsPerSecond)} rows/s`);
  return `${head}\n  ${parts.join('\n  ')}`;
}

async function checkReadable(files: readonly string[]): Promise<void> {
  for (const f of files) {
    try {
      const st = await stat(f);
      if (!st.isFile()) throw new MhmtlError(`cannot read ${f}: not a regular file`);
      await access(f, constants.R_OK);
    } catch (error) {
      if (error instanceof MhmtlError) throw error;
      throw cannotRead(f, error);
    }
  }
}

function addCommon(cmd: Command): Command {
  return cmd
    .argument('<files...>', 'input files (.jsonl, .csv, .tsv, optionally gzip-compressed)')
    .option('--format <format>', 'jsonl, csv, tsv or auto (by extension, then content)', 'auto')
    .option('--source <name>', 'name recorded in mhmtl.sources (default: the file name)')
    .option('--strict', 'load nothing from a file with any rejected row (exit 1)')
    .option('--quiet', 'no progress and no summary')
    .option('--max-text-length <n>', 'cut longer texts (code points) and flag them', '100000')
    .option(
      '--column <field=column>',
      'input column for a field (repeatable), e.g. --column user_id=author',
      collect,
    );
}

async function run(kind: IngestKind, files: string[], opts: IngestCliOptions, cmd: Command): Promise<void> {
  const format = opts.format;
  if (!['jsonl', 'csv', 'tsv', 'auto'].includes(format)) {
    throw new UsageError(`--format must be one of jsonl, csv, tsv, auto (got '${format}')`);
  }
  const maxTextLength = Number(opts.maxTextLength ?? '100000');
  if (!Number.isInteger(maxTextLength) || maxTextLength < 1) {
    throw new UsageError(`--max-text-length must be a positive integer (got '${opts.maxTextLength}')`);
  }
  const columns = parseColumns(opts.column);
  const mapping = kind === 'reddit' ? loadMapping(opts.map ?? '') : undefined;
  if (opts.source && files.length > 1) throw new UsageError('--source names one file; give one file with it');
  await checkReadable(files);
  // Every file's header fits the mapping before any file is loaded.
  for (const file of files)
    await checkInput(file, { kind, format: format as 'auto', ...(columns ? { columns } : {}) });
  let warnings = 0;
  let strictFailures = 0;
  await withDatabase(cmd, async (backend) => {
    const pseudo = await pseudonymizer(backend);
    for (const file of files) {
      const progress = createProgressRenderer({ label: `ingest ${file}`, unit: 'rows', quiet: !!opts.quiet });
      const summary = await ingestFile(backend, file, {
        kind,
        format: format as 'auto',
        ...(opts.source ? { sourceName: opts.source } : {}),
        strict: !!opts.strict,
        maxTextLength,
        ...(columns ? { columns } : {}),
        ...(mapping ? { mapping } : {}),
        includeDistinguished: !!opts.includeDistinguished,
        pseudonymizer: pseudo,
        onProgress: (p) => progress.update(p),
      });
      progress.done();
      if (!opts.quiet) process.stdout.write(`${formatSummary(summary)}\n`);
      warnings += summary.rejected;
      if (summary.strictFailed) strictFailures++;
    }
  });
  if (warnings > 0 && !opts.quiet) {
    process.stderr.write(
      `warning: ${warnings} row(s) rejected; see mhmtl.quarantine (line_number, reason; raw text scrubbed)\n`,
    );
  }
  if (strictFailures > 0) {
    throw new MhmtlError(`--strict: ${strictFailures} file(s) had rejected rows and were not loaded`);
  }
}

/** `mhmtl ingest posts|labels|reddit FILE...`. */
export function registerIngestCommand(program: Command): void {
  const ingest = program
    .command('ingest')
    .description(
      'load posts, labels or Reddit dumps: validate, scrub, pseudonymize, bulk load; bad rows to quarantine',
    );
  addCommon(
    ingest
      .command('posts')
      .description('posts: {post_id?, user_id, created_at, text, lang?} (schemas/post.schema.json)'),
  ).action((files: string[], opts: IngestCliOptions, cmd: Command) => run('posts', files, opts, cmd));
  addCommon(
    ingest
      .command('labels')
      .description(
        'user-level labels, long {user_id, task, label} or wide {user_id, labels: {...}} (schemas/label.schema.json)',
      ),
  ).action((files: string[], opts: IngestCliOptions, cmd: Command) => run('labels', files, opts, cmd));
  addCommon(
    ingest
      .command('reddit')
      .description('Reddit dumps (CSV or JSONL): title + selftext; labels from a community-to-task mapping')
      .requiredOption(
        '--map <mapping>',
        'mapping JSON file, or inline JSON: {"tasks": {"task": ["community"]}, "controls": [...]}',
      )
      .option(
        '--include-distinguished',
        'also load moderator/admin-distinguished posts (skipped by default)',
      ),
  ).action((files: string[], opts: IngestCliOptions, cmd: Command) => run('reddit', files, opts, cmd));
}
