import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import {
  comparisonRows,
  repeatRows,
  reportHeader,
  reportRows,
  reportSections,
} from '../../evaluate/report.js';
import { TERMS_TITLE, termRows, termTableRows } from '../../evaluate/report-terms.js';
import { SECTION_ROWS } from '../../evaluate/section-rows.js';
import { renderReportHtml } from '../../evaluate/html/index.js';
import { findReportRun, readRunReport, type StoredRunReport } from '../../evaluate/store.js';
import { withDatabase } from '../context.js';
import { parseFormat, renderRows } from '../output.js';

const FORMATS = ['table', 'json', 'csv', 'html'] as const;
const ROWS = [
  'tasks',
  'comparisons',
  'repeats',
  'terms',
  'calibration',
  'subgroups',
  'subgroup_gaps',
] as const;
/** --rows that select a section of their own, in the console table too (src/evaluate/section-rows.ts). */
const SECTIONS = ['calibration', 'subgroups', 'subgroup_gaps'] as const;

/** The console report: the header, then each section's table under its title. */
export function reportText(report: StoredRunReport): string {
  return [
    `${reportHeader(report)}\n`,
    ...reportSections(report).map((s) => `${s.title ? `\n${s.title}:\n` : ''}${renderRows(s.rows, 'table')}`),
  ].join('\n');
}

/** The console table of what each head relies on (`--rows terms`), under the report's header. */
export function termsText(report: StoredRunReport): string {
  const rows = termTableRows(report);
  const body = rows.length
    ? renderRows(rows, 'table')
    : 'no terms stored for this run (evaluation.top_terms was 0, the run used cross-validation, or it predates them)\n';
  return `${reportHeader(report)}\n\n${TERMS_TITLE}:\n${body}`;
}

/** `mhmtl report [RUN]`: a run's evaluation as a console table, JSON, CSV or one HTML file. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'show the evaluation of a run: per-task AUC [95% CI], TPR@10%FPR, F1, deltas vs LR and STL, Δm',
    )
    .argument('[run]', 'run id (default: the latest succeeded run with reports)')
    .option('--pipeline <name>', 'the latest succeeded run of this pipeline')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option(
      '--rows <rows>',
      `which rows, ${ROWS.join(', ')} (csv: per repeat, task and model; every comparison; spread over repeats; top terms per head. table and csv: terms shows the top terms instead of the report; reliability-curve bins; metrics per subgroup value; largest AUC gap per subgroup)`,
      'tasks',
    )
    .option('--out <file>', 'write to this file instead of standard output')
    .action(
      async (
        run: string | undefined,
        opts: { pipeline?: string; format: string; rows: string; out?: string },
        cmd: Command,
      ) => {
        const format = parseFormat(opts.format, FORMATS);
        const rows = parseFormat(opts.rows, ROWS, '--rows');
        let runId: number | undefined;
        if (run !== undefined) {
          if (!/^[1-9][0-9]*$/.test(run))
            throw new UsageError(`RUN must be a run id (a positive integer), got '${run}'`);
          if (opts.pipeline !== undefined) throw new UsageError('give either RUN or --pipeline, not both');
          runId = Number(run);
        }
        const text = await withDatabase(cmd, async (backend) => {
          const id = await findReportRun(backend, {
            ...(runId !== undefined ? { runId } : {}),
            ...(opts.pipeline !== undefined ? { pipeline: opts.pipeline } : {}),
          });
          const report = await readRunReport(backend, id);
          const section = (SECTIONS as readonly string[]).includes(rows)
            ? SECTION_ROWS[rows as (typeof SECTIONS)[number]]
            : null;
          if (section && (format === 'table' || format === 'csv')) {
            const data = section.rows(report);
            if (data.length === 0 && format === 'table') return `run ${id}: ${section.none}\n`;
            return renderRows(format === 'csv' ? data.map((r) => ({ run_id: id, ...r })) : data, format);
          }
          switch (format) {
            case 'html':
              return renderReportHtml(report);
            case 'json':
              return `${JSON.stringify(
                {
                  ...report,
                  rows: reportRows(report),
                  comparison_rows: comparisonRows(report),
                  repeat_rows: repeatRows(report),
                },
                null,
                2,
              )}\n`;
            case 'csv': {
              const data =
                rows === 'comparisons'
                  ? comparisonRows(report)
                  : rows === 'repeats'
                    ? repeatRows(report)
                    : rows === 'terms'
                      ? termRows(report)
                      : reportRows(report);
              return renderRows(
                data.map((r) => ({ run_id: id, ...r })),
                'csv',
              );
            }
            default:
              return rows === 'terms' ? termsText(report) : reportText(report);
          }
        });
        if (opts.out !== undefined) {
          const tmp = `${opts.out}.tmp-${process.pid}`;
          writeFileSync(tmp, text);
          renameSync(tmp, opts.out);
          process.stderr.write(`wrote ${opts.out}\n`);
        } else {
          process.stdout.write(text);
        }
      },
    );
}
