import type { Command } from 'commander';
import { openBackend } from '../../db/open.js';
import { BusyError, UsageError } from '../../errors.js';
import { readRunReport } from '../../evaluate/store.js';
import { createLogger, type LogFormat } from '../../pipeline/log.js';
import type { RunOptions, RunResult } from '../../pipeline/run.js';
import { databaseConfig, globalOptions } from '../context.js';
import { parseFormat } from '../output.js';
import { createProgressRenderer } from '../progress.js';
import { watchNpmWrapper } from '../supervisor.js';
import { reportText } from './report.js';

/** Options shared by `mhmtl run`, `mhmtl train` and `mhmtl retrain`. */
export interface RunCommandOptions {
  wait?: boolean;
  ifChanged?: boolean;
  logFormat: string;
  quiet?: boolean;
  workers?: string;
}

/** Add the options every run-like command has. */
export function runOptions(cmd: Command): Command {
  return cmd
    .option('--wait', 'wait for a run in progress to finish instead of exiting 75')
    .option('--log-format <format>', 'log lines on stderr: text or json (one JSON object per line)', 'text')
    .option('--quiet', 'log only warnings and errors; no progress bars')
    .option('--workers <n>', 'tokenizer worker threads (default: the cores)');
}

/**
 * Open the database, run `fn` with a run's options (logger, signal, progress), print the report
 * table. SIGINT / SIGTERM abort at the next stage boundary (the run is marked failed with the
 * reason); a second signal exits at once. A run started through npm whose npm process is gone
 * (killed by a scheduler) stops the same way, exit 143.
 */
export async function executeRun(
  cmd: Command,
  opts: RunCommandOptions,
  fn: (backend: Awaited<ReturnType<typeof openBackend>>, options: RunOptions) => Promise<RunResult>,
): Promise<void> {
  const logFormat = parseFormat(opts.logFormat, ['text', 'json'] as const) as LogFormat;
  const log = createLogger(logFormat, {
    quiet: opts.quiet ?? false,
    verbose: globalOptions(cmd).verbose ?? false,
  });
  let workers: number | undefined;
  if (opts.workers !== undefined) {
    workers = Number(opts.workers);
    if (!Number.isInteger(workers) || workers < 0) throw new UsageError(`--workers must be an integer >= 0`);
  }
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    log.warn(`${signal} received: stopping at the next stage boundary (again to exit now)`);
    controller.abort(
      Object.assign(new Error(`interrupted by ${signal}`), { exitCode: signal === 'SIGINT' ? 130 : 143 }),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Started through npm (npx, npm start) and npm's process was killed: stop as on SIGTERM, so a
  // scheduler that gave up on the run leaves no orphan holding the lock.
  const unwatch = watchNpmWrapper((why) => {
    if (controller.signal.aborted) return;
    log.warn(`${why}: stopping at the next stage boundary`);
    controller.abort(Object.assign(new Error(`interrupted: ${why}`), { exitCode: 143 }));
  });
  const config = databaseConfig(cmd);
  let backend: Awaited<ReturnType<typeof openBackend>>;
  try {
    backend = await openBackend(config, opts.wait ? { waitMs: 7 * 24 * 3600 * 1000 } : {});
  } catch (error) {
    if (error instanceof BusyError) throw new BusyError(`another run is in progress: ${error.message}`);
    throw error;
  }
  try {
    const result = await fn(backend, {
      log,
      signal: controller.signal,
      ...(opts.wait ? { wait: true } : {}),
      ...(opts.ifChanged ? { ifChanged: true } : {}),
      ...(workers !== undefined ? { workers } : {}),
      ...(logFormat === 'text'
        ? {
            progress: (label: string, unit: string) =>
              createProgressRenderer({ label, unit, quiet: opts.quiet ?? false }),
          }
        : {}),
    });
    if (result.status === 'succeeded') {
      const report = await readRunReport(backend, result.runId);
      process.stdout.write(reportText(report));
    } else {
      process.stdout.write(`run ${result.runId} ${result.status}${result.note ? `: ${result.note}` : ''}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    unwatch();
    await backend.close();
  }
}

/** `mhmtl run PIPELINE`: the whole pipeline, end to end. */
export function registerRunCommand(program: Command): void {
  runOptions(
    program
      .command('run')
      .description(
        'run a pipeline end to end: migrate, ingest, tokenize, features, train MTL and baselines, evaluate, report',
      )
      .argument('<pipeline>', 'pipeline file (JSON), e.g. pipelines/benton2017.json')
      .option(
        '--if-changed',
        'skip training (status skipped) when no post, label or config changed since the last successful run',
      )
      .option(
        '--data-root <dir>',
        "resolve the pipeline's relative input paths against DIR instead of the file's folder",
      ),
  ).action(async (file: string, opts: RunCommandOptions & { dataRoot?: string }, cmd: Command) => {
    // Imported here: the pipeline schema holds the architectures' options, which load TensorFlow.js.
    const { loadPipeline } = await import('../../pipeline/config.js');
    const pipeline = loadPipeline(file, opts.dataRoot ? { dataRoot: opts.dataRoot } : {});
    const { runPipeline } = await import('../../pipeline/run.js');
    await executeRun(cmd, opts, (backend, options) => runPipeline(backend, pipeline, options));
  });
}
