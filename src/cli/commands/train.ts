import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { RunEvaluation } from '../../evaluate/evaluate.js';
import type { TrainOverrides } from '../../pipeline/train.js';
import { modelHelp } from '../model-help.js';
import { checkWeightingConfig } from '../../model/weighting/index.js';
import { renderRows } from '../output.js';
import { executeRun, type RunCommandOptions, runOptions } from './run.js';

interface TrainCliOptions extends RunCommandOptions {
  pipeline?: string;
  tasks?: string;
  auxTasks?: string;
  architecture?: string;
  hidden?: string;
  dropout?: string;
  epochs?: string;
  batchSize?: string;
  learningRate?: string;
  optimizer?: string;
  seed?: string;
  folds?: string;
  modelOption?: string[];
  weighting?: string;
  weightingOption?: string[];
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');
}

function number(name: string, value: string, check: (n: number) => boolean, what: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`${name} must be ${what}, got '${value}'`);
  return n;
}

const int = (min: number) => (n: number) => Number.isInteger(n) && n >= min;

/** The command line as pipeline overrides. @throws UsageError (exit 2) on a malformed value. */
export function parseTrainOverrides(opts: TrainCliOptions): TrainOverrides {
  const o: TrainOverrides = {};
  if (opts.tasks !== undefined) {
    o.tasks = list(opts.tasks);
    if (o.tasks.length === 0) throw new UsageError('--tasks must name at least one task');
  }
  if (opts.auxTasks !== undefined) o.auxTasks = list(opts.auxTasks);
  if (opts.architecture !== undefined) o.architecture = opts.architecture;
  if (opts.hidden !== undefined) {
    o.hidden = opts.hidden
      .split(',')
      .map((h) =>
        number('--hidden', h, int(1), 'positive integers separated by commas (e.g. 256 or 256,128)'),
      );
  }
  if (opts.dropout !== undefined)
    o.dropout = number('--dropout', opts.dropout, (n) => n >= 0 && n < 1, 'a number in [0, 1)');
  if (opts.epochs !== undefined) o.epochs = number('--epochs', opts.epochs, int(1), 'an integer >= 1');
  if (opts.batchSize !== undefined)
    o.batchSize = number('--batch-size', opts.batchSize, int(1), 'an integer >= 1');
  if (opts.learningRate !== undefined)
    o.learningRate = number('--learning-rate', opts.learningRate, (n) => n > 0, 'a number > 0');
  if (opts.optimizer !== undefined) {
    if (!['adam', 'adagrad'].includes(opts.optimizer))
      throw new UsageError(`--optimizer must be adam or adagrad, got '${opts.optimizer}'`);
    o.optimizer = opts.optimizer;
  }
  if (opts.seed !== undefined) o.seed = number('--seed', opts.seed, int(0), 'an integer >= 0');
  if (opts.folds !== undefined) o.folds = number('--folds', opts.folds, int(2), 'an integer >= 2');
  if (opts.modelOption !== undefined && opts.modelOption.length > 0)
    o.modelOptions = keyValueOptions('--model-option', opts.modelOption);
  if (opts.weighting !== undefined) o.weighting = opts.weighting;
  if (opts.weightingOption !== undefined && opts.weightingOption.length > 0)
    o.weightingOptions = keyValueOptions('--weighting-option', opts.weightingOption);
  if (o.weighting !== undefined) {
    // the method and its options now, before a database is opened; without --weighting the
    // options are checked against the pipeline's method by trainPipeline.
    try {
      checkWeightingConfig({ ...o.weightingOptions, method: o.weighting }, '');
    } catch (error) {
      throw new UsageError(
        (error as Error).message
          .replace(/^\/method: /, '--weighting: ')
          .replace(/^\/([^:]+): /, '--weighting-option $1: ')
          .replace(/^: /, '--weighting-option: '),
      );
    }
  }
  return o;
}

/**
 * `--model-option` / `--weighting-option key=value` pairs as options: a value is read as JSON when
 * it is JSON (`temperature=2`, `hidden=[256,128]`, `weights={"gender":0.5}`), else as a string.
 * @throws UsageError for a pair without `=` or an empty or repeated key.
 */
function keyValueOptions(option: string, pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (key === '') throw new UsageError(`${option} must be key=value, got '${pair}'`);
    if (key in out) throw new UsageError(`${option} ${key} given twice`);
    const text = pair.slice(eq + 1).trim();
    try {
      out[key] = JSON.parse(text);
    } catch {
      out[key] = text;
    }
  }
  return out;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** `mhmtl train`: train and evaluate on what the database holds (a pipeline run without ingest). */
export function registerTrainCommand(program: Command): void {
  runOptions(
    program
      .command('train')
      .description(
        'train MTL and baselines on the posts and labels in the database (no ingest), evaluate, print per-task dev/test AUC',
      )
      .option(
        '--pipeline <file>',
        'pipeline file for features, model, training, evaluation (its inputs are not ingested)',
      )
      .option(
        '--tasks <list>',
        'main tasks, comma-separated (default: every labelled task but the auxiliary ones)',
      )
      .option(
        '--aux-tasks <list>',
        "auxiliary tasks, comma-separated, or 'none' (default: gender when labelled)",
      )
      .option('--architecture <name>', 'network architecture (default hard_sharing)')
      .option('--hidden <sizes>', 'shared hidden layer sizes, e.g. 256 or 256,128 (default 256)')
      .option('--dropout <p>', 'dropout after each shared layer (default 0.3)')
      .option('--epochs <n>', 'maximum epochs (early stopping on dev mean AUC; default 30)')
      .option('--batch-size <n>', 'units per batch (default 64)')
      .option('--learning-rate <x>', 'learning rate (default 0.001 adam, 0.05 adagrad)')
      .option('--optimizer <name>', 'adam or adagrad (default adam)')
      .option('--seed <n>', 'seed of the split, initialization and batches (default 42)')
      .option('--folds <k>', 'K-fold cross-validation instead of a train/dev/test split (stores no models)')
      .option(
        '--model-option <key=value>',
        'an option of the architecture, repeatable (the value is JSON, e.g. hidden=[256,128], or a string)',
        collect,
      )
      .option(
        '--weighting <method>',
        "task weighting method (default: the pipeline's training.weighting, else fixed)",
      )
      .option(
        '--weighting-option <key=value>',
        'an option of the task weighting method, repeatable (e.g. temperature=2, weights=\'{"gender":0.5}\')',
        collect,
      )
      .addHelpText('after', () => modelHelp()),
  ).action(async (opts: TrainCliOptions, cmd: Command) => {
    const overrides = parseTrainOverrides(opts);
    // Imported here: the pipeline schema holds the architectures' options, which load TensorFlow.js.
    const { loadPipeline } = await import('../../pipeline/config.js');
    const base = opts.pipeline ? loadPipeline(opts.pipeline) : null;
    const { runPipeline } = await import('../../pipeline/run.js');
    const { devTestAucRows, trainPipeline } = await import('../../pipeline/train.js');
    let evaluation: RunEvaluation | null = null;
    await executeRun(cmd, opts, async (backend, options) => {
      const pipeline = await trainPipeline(backend, base, overrides);
      const result = await runPipeline(backend, pipeline, { ...options, skipIngest: true });
      evaluation = result.evaluation;
      return result;
    });
    const rows = evaluation ? devTestAucRows(evaluation) : [];
    if (rows.length > 0) process.stdout.write(`\nper-task AUC, dev / test:\n${renderRows(rows, 'table')}`);
  });
}
