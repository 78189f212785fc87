import path from 'node:path';
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { fixtureInputs } from '../../pipeline/retrain.js';
import { PACKAGE_ROOT } from '../../version.js';
import { executeRun, type RunCommandOptions, runOptions } from './run.js';

/** `mhmtl retrain --fixtures DIR`: ingest new labelled files, then train and evaluate again. */
export function registerRetrainCommand(program: Command): void {
  runOptions(
    program
      .command('retrain')
      .description(
        'ingest new fixture files (posts*, labels*) from a folder, then re-run training and evaluation; optionally warm-start from an earlier run',
      )
      .requiredOption(
        '--fixtures <dir>',
        'folder with the new posts*.jsonl / labels*.jsonl (or .csv, .tsv, .gz) files',
      )
      .addOption(
        new Option('--pipeline <file>', 'pipeline file to train with').default(
          path.join(PACKAGE_ROOT, 'pipelines', 'benton2017.json'),
          "mhmtl's pipelines/benton2017.json",
        ),
      )
      .option(
        '--from-run <n>',
        "warm-start the MTL model's shared layers from run N's model (transfer learning)",
      ),
  ).action(
    async (
      opts: RunCommandOptions & { fixtures: string; pipeline: string; fromRun?: string },
      cmd: Command,
    ) => {
      let fromRun: number | undefined;
      if (opts.fromRun !== undefined) {
        if (!/^[1-9][0-9]*$/.test(opts.fromRun))
          throw new UsageError(`--from-run must be a run id, got '${opts.fromRun}'`);
        fromRun = Number(opts.fromRun);
      }
      // Imported here: the pipeline schema holds the architectures' options, which load TensorFlow.js.
      const { loadPipeline } = await import('../../pipeline/config.js');
      const pipeline = loadPipeline(opts.pipeline);
      const extraInputs = fixtureInputs(opts.fixtures);
      const { runPipeline } = await import('../../pipeline/run.js');
      await executeRun(cmd, opts, (backend, options) =>
        runPipeline(backend, pipeline, {
          ...options,
          skipIngest: true,
          extraInputs,
          ...(fromRun !== undefined ? { fromRun } : {}),
        }),
      );
    },
  );
}
