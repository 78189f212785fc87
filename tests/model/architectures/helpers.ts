import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { Backend, BackendName } from '../../../src/db/backend.js';
import { openBackend } from '../../../src/db/open.js';
import type { CsrMatrix } from '../../../src/features/csr.js';
import { ingestFile } from '../../../src/ingest/load.js';
import type { Network, NetworkSpec } from '../../../src/model/architectures/architecture.js';
import { taskColumns } from '../../../src/model/labels.js';
import { resolveTrainingConfig, type TrainingConfig } from '../../../src/model/training-config.js';
import { trainNetwork } from '../../../src/model/trainer.js';
import type { TrainingData, TrainingResult } from '../../../src/model/types.js';
import { createLogger } from '../../../src/pipeline/log.js';
import { runPipeline } from '../../../src/pipeline/run.js';
import { generateCohort } from '../../../src/synth/generate.js';
import { runCli } from '../../helpers/cli.js';
import { createTestDatabase } from '../../helpers/databases.js';
import { densify } from '../synthetic.js';

/** The spec of a network over `inputDim` features (Adam at 0.01 for the sparse layer). */
export function networkSpec(
  config: Record<string, unknown>,
  tasks: readonly string[],
  inputDim: number,
  seed = 3,
): NetworkSpec {
  return { inputDim, tasks, auxTasks: [], config, optimizer: { name: 'adam', learningRate: 0.01 }, seed };
}

/** Train `network` with the shared loop on `data` (its tasks by name). */
export function train(
  network: Network,
  data: TrainingData,
  training: Partial<TrainingConfig>,
): Promise<TrainingResult> {
  const cfg = resolveTrainingConfig(training);
  return trainNetwork(
    network,
    data,
    taskColumns(data.tasks, network.tasks),
    {
      training: cfg,
      tasks: network.tasks,
      mainTasks: network.tasks,
    },
    {},
  );
}

/** The scores of the network's export loaded in plain tfjs (tf.loadLayersModel), `[rows x tasks]`. */
export async function exportedScores(network: Network, x: CsrMatrix): Promise<Float32Array> {
  const exported = await network.exportLayers();
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: exported.modelTopology,
      weightSpecs: exported.weightSpecs,
      weightData: exported.weightData.slice().buffer,
    }),
  );
  const input = tf.tensor2d(densify(x), [x.rows, x.cols]);
  const out = model.predict(input) as tf.Tensor;
  const scores = (await out.data()) as Float32Array;
  input.dispose();
  out.dispose();
  model.dispose();
  return scores;
}

/** Largest absolute difference of two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * End to end on one database: a small generated cohort ingested once, then for each model block a
 * pipeline run whose MTL model it is (runPipeline, as `mhmtl run` does after validating the file),
 * and `mhmtl predict` on the run's stored model (the CLI, a child process) giving exactly the
 * scores the run stored. `afterRun` may check more of each run's stored rows.
 */
export async function pipelineRoundTrips(
  name: BackendName,
  models: readonly Record<string, unknown>[],
  afterRun?: (backend: Backend, runId: number) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-arch-'));
  const database = await createTestDatabase(name);
  const log = createLogger('text', { quiet: true });
  try {
    const cohort = await generateCohort({
      users: 50,
      seed: 21,
      out: path.join(dir, 'cohort'),
      minPosts: 3,
      maxPosts: 6,
    });
    const runs: {
      runId: number;
      architecture: unknown;
      stored: { unit_id: string; task: string; score: number }[];
    }[] = [];
    const backend = await openBackend(database.config);
    try {
      await ingestFile(backend, cohort.postsFile, { kind: 'posts' });
      await ingestFile(backend, cohort.labelsFile, { kind: 'labels' });
      for (const model of models) {
        const result = await runPipeline(
          backend,
          {
            file: null,
            config: {
              name: 'architecture-test',
              seed: 5,
              inputs: [],
              tasks: { main: ['anxiety', 'depression'], auxiliary: ['gender'] },
              features: { word_ngrams: [1, 1], min_df: 2 },
              model,
              training: { epochs: 2, patience: 2 },
              evaluation: { bootstrap: 0 },
              baselines: { stl: false, lr: false, mtl_no_aux: false },
            },
          },
          { log, skipIngest: true, workers: 0 },
        );
        expect(result.status).toBe('succeeded');
        const stored = await backend.transaction((s) =>
          s.query<{ unit_id: string; task: string; score: number; architecture: string }>(
            `SELECT p.unit_id, p.task, p.score, m.architecture FROM mhmtl.predictions p
             JOIN mhmtl.models m ON m.run_id = p.run_id AND m.model = p.model
             WHERE p.run_id = $1 AND p.model = 'mtl' AND p.fold = 0`,
            [result.runId],
          ),
        );
        expect(stored.length).toBeGreaterThan(0);
        expect(stored[0]!.architecture).toBe(model.architecture);
        runs.push({ runId: result.runId, architecture: model.architecture, stored });
        await afterRun?.(backend, result.runId);
      }
    } finally {
      // PGlite holds its directory exclusively: the CLI opens it after we close it.
      await backend.close();
    }
    for (const run of runs) {
      const out = path.join(dir, `scores-${run.runId}.jsonl`);
      const r = await runCli([
        ...database.cliArgs,
        'predict',
        '--run',
        String(run.runId),
        cohort.postsFile,
        '--out',
        out,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const rows = new Map(
        readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, number | string>)
          .map((row) => [row.unit_id as string, row]),
      );
      for (const s of run.stored) {
        const row = rows.get(s.unit_id);
        expect(row, `${run.architecture}: ${s.unit_id}`).toBeDefined();
        expect(Math.fround(row![s.task] as number), `${run.architecture}: ${s.unit_id} ${s.task}`).toBe(
          Math.fround(s.score),
        );
      }
    }
  } finally {
    await database.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `mhmtl train --pipeline` on a pipeline file whose model block is `model`: the CLI's exit code and
 * standard error (a fresh data directory, removed after).
 */
export async function trainWithModelBlock(
  model: Record<string, unknown>,
): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-model-block-'));
  try {
    const file = path.join(dir, 'p.json');
    writeFileSync(file, JSON.stringify({ name: 'bad', inputs: [], tasks: { main: ['anxiety'] }, model }));
    const r = await runCli(['train', '--data-dir', path.join(dir, 'data'), '--pipeline', file]);
    return { code: r.code, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
