import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { UsageError } from '../../errors.js';
import type { InputFormat } from '../../ingest/types.js';
import { createLogger } from '../../pipeline/log.js';
import { globalOptions, withDatabase } from '../context.js';
import { parseFormat } from '../output.js';

interface PredictCliOptions {
  run: string;
  model: string;
  format: string;
  out?: string;
  inputFormat: string;
  kind: string;
  unit?: string;
  quiet?: boolean;
}

/** `mhmtl predict --run N FILE...`: score new posts with a stored model; nothing is stored. */
export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description(
      "score posts in files with a run's stored model (same readers, scrubbing, tokenizer, vocabulary): one row per unit, pseudonymous ids, one score per task; nothing is written to the database",
    )
    .argument('<files...>', 'posts files (JSONL, CSV or TSV; .gz accepted)')
    .requiredOption('--run <id>', 'the run whose model and feature space to use')
    .option('--model <name>', 'model name: mtl, mtl_no_aux, stl:<task>, lr:<task>', 'mtl')
    .option('--format <format>', 'output: jsonl or csv', 'jsonl')
    .option('--out <file>', 'write to FILE instead of stdout')
    .option('--input-format <format>', 'input: auto, jsonl, csv or tsv', 'auto')
    .option('--kind <kind>', 'input kind: posts or reddit (a Reddit dump)', 'posts')
    .option('--unit <unit>', "unit of analysis: user or post (default: the run's)")
    .option('--quiet', 'no summary line on stderr')
    .action(async (files: string[], opts: PredictCliOptions, cmd: Command) => {
      const runId = Number(opts.run);
      if (!Number.isInteger(runId) || runId < 1)
        throw new UsageError(`--run must be a positive integer, got '${opts.run}'`);
      const format = parseFormat(opts.format, ['jsonl', 'csv'] as const);
      const inputFormat = parseOption('--input-format', opts.inputFormat, ['auto', 'jsonl', 'csv', 'tsv']);
      const kind = parseOption('--kind', opts.kind, ['posts', 'reddit']);
      const unit = opts.unit === undefined ? undefined : parseOption('--unit', opts.unit, ['user', 'post']);
      const log = createLogger('text', {
        quiet: opts.quiet ?? false,
        verbose: globalOptions(cmd).verbose ?? false,
      });
      const { predictFiles, predictionRecords } = await import('../../pipeline/predict.js');
      const result = await withDatabase(cmd, (backend) =>
        predictFiles(backend, {
          runId,
          model: opts.model,
          files,
          kind: kind as 'posts' | 'reddit',
          format: inputFormat as InputFormat | 'auto',
          ...(unit ? { unit: unit as 'user' | 'post' } : {}),
          log,
        }),
      );
      const records = predictionRecords(result);
      const columns = ['unit_id', 'n_posts', ...result.tasks];
      const text =
        format === 'csv'
          ? stringify(
              records.map((r) => columns.map((c) => r[c])),
              { header: true, columns },
            )
          : records.map((r) => `${JSON.stringify(r)}\n`).join('');
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
      log.info(
        `scored ${result.rows.length} ${result.selection.unit} unit(s) from ${result.posts} post(s) with model ${result.model} of run ${result.runId}` +
          `${result.rejected > 0 ? ` (${result.rejected} row(s) rejected)` : ''}${opts.out ? ` -> ${opts.out}` : ''}`,
      );
    });
}

function parseOption(name: string, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value))
    throw new UsageError(`${name} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value;
}
