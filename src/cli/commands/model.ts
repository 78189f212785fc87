import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { TfBackendPreference } from '../../model/backend.js';
import { requireRunModel } from '../../pipeline/runs.js';
import { withDatabase } from '../context.js';

/** `mhmtl doctor` and `mhmtl export-model`. */
export function registerModelCommands(program: Command): void {
  program
    .command('doctor')
    .description(
      'print the TensorFlow.js backend (versions, cores, SIMD, threads), the sparse first-layer kernel and the database backend',
    )
    .option(
      '--tf-backend <name>',
      'try this TensorFlow.js backend first: node, wasm or cpu (env MHMTL_TF_BACKEND)',
    )
    .option('--no-database', 'do not open the database')
    .action(async (opts: { tfBackend?: string; database: boolean }, cmd: Command) => {
      const preferred = opts.tfBackend as TfBackendPreference | undefined;
      if (preferred !== undefined && !['node', 'wasm', 'cpu'].includes(preferred)) {
        throw new UsageError(`--tf-backend must be node, wasm or cpu, got '${preferred}'`);
      }
      // the model modules load TensorFlow.js: imported when a command needs them, not at start-up
      const { tensorflowInfo } = await import('../../model/backend.js');
      const info = await tensorflowInfo(preferred);
      const lines = [
        `tfjs backend:     ${info.backend}`,
        `tfjs versions:    ${Object.entries(info.versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        `cores:            ${info.cores}`,
      ];
      if (info.simd !== null) lines.push(`wasm SIMD:        ${info.simd ? 'on' : 'off'}`);
      if (info.threads !== null) lines.push(`wasm threads:     ${info.threads ? 'on' : 'off'}`);
      const { defaultSparseKernel } = await import('../../model/layers/sparse-dense.js');
      const sparse = defaultSparseKernel();
      lines.push(
        `sparse kernel:    ${sparse.kernel}${sparse.reason === 'default' ? '' : ` (${sparse.reason})`}`,
      );
      lines.push(`node:             ${process.version}`);
      if (opts.database) {
        await withDatabase(cmd, async (backend) => {
          lines.push(`database backend: ${backend.name} (${backend.location})`);
        });
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  program
    .command('export-model')
    .description(
      'write a trained model in the tfjs layers format (model.json, weights.bin) plus features.json',
    )
    .requiredOption('--run <id>', 'the run that trained the model')
    .option('--model <name>', 'model name: mtl, mtl_no_aux, stl:<task>, lr:<task>', 'mtl')
    .requiredOption('--out <dir>', 'output directory (created when missing)')
    .action(async (opts: { run: string; model: string; out: string }, cmd: Command) => {
      const runId = Number(opts.run);
      if (!Number.isInteger(runId) || runId < 1)
        throw new UsageError(`--run must be a positive integer, got '${opts.run}'`);
      await withDatabase(cmd, async (backend) => {
        await requireRunModel(backend, runId, opts.model, '--run');
        const { exportModel } = await import('../../model/export.js');
        const result = await exportModel(backend, runId, opts.model, opts.out);
        process.stdout.write(
          `exported ${result.model} of run ${runId} (tasks: ${result.tasks.join(', ')}):\n${result.files.map((f) => `  ${f}`).join('\n')}\n`,
        );
      });
    });
}
