import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { openBackend } from '../../../src/db/open.js';
import type { CsrMatrix } from '../../../src/features/csr.js';
import { ingestFile } from '../../../src/ingest/load.js';
import { pseudonymizer } from '../../../src/ingest/pseudonym.js';
import type {
  Architecture,
  Network,
  NetworkSpec,
  WarmStartSource,
} from '../../../src/model/architectures/architecture.js';
import { hardSharing } from '../../../src/model/architectures/hard-sharing.js';
import type { TowerNetwork } from '../../../src/model/architectures/towers.js';
import type { LayersExport } from '../../../src/model/io/layers-graph.js';
import { namedWeights } from '../../../src/model/io/layers-graph.js';
import { taskColumns } from '../../../src/model/labels.js';
import { resolveTrainingConfig, type TrainingConfig } from '../../../src/model/training-config.js';
import { trainNetwork } from '../../../src/model/trainer.js';
import type { TrainingData } from '../../../src/model/types.js';
import { parsePipeline } from '../../../src/pipeline/config.js';
import { createLogger } from '../../../src/pipeline/log.js';
import { predictFiles } from '../../../src/pipeline/predict.js';
import { runPipeline } from '../../../src/pipeline/run.js';
import { generateCohort } from '../../../src/synth/generate.js';
import { runCli } from '../../helpers/cli.js';
import { createTestDatabase } from '../../helpers/databases.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { densify, sharedSignalCohort } from '../synthetic.js';

/** Shared checks of the tower architectures (soft sharing, cross-stitch, sluice). */

/** A small two-task cohort in feature space, without dev units (training keeps its last epoch). */
export function towerData(): TrainingData {
  const { data } = sharedSignalCohort({
    units: 300,
    features: 120,
    signal: 15,
    noisePerUnit: 10,
    signalStrength: 2,
    commonRate: 0.3,
    rareRate: 0.1,
    unknownRate: 0.2,
    seed: 3,
  });
  return { ...data, dev: new Int32Array(0) };
}

export const TASKS = ['common', 'rare'] as const;

/** Training options of the tests: 3 epochs of 32 units, learning rate 0.01, a little L2. */
export const QUICK: Partial<TrainingConfig> = {
  epochs: 3,
  batchSize: 32,
  learningRate: 0.01,
  l2: 1e-4,
  seed: 5,
};

/** A network spec over `data`'s features. */
export function specOf(
  data: TrainingData,
  tasks: readonly string[],
  config: Record<string, unknown>,
  seed = 5,
): NetworkSpec {
  return {
    inputDim: data.x.cols,
    tasks,
    auxTasks: [],
    config,
    optimizer: { name: 'adam', learningRate: QUICK.learningRate! },
    seed,
  };
}

/** Train a network in place with the shared trainer (fixed weights 1, no dev); checks that no tensor is left behind. */
export async function train(
  network: Network,
  data: TrainingData,
  training: Partial<TrainingConfig> = QUICK,
): Promise<void> {
  const tasks = network.tasks;
  const before = tf.memory().numTensors;
  await trainNetwork(
    network,
    data,
    taskColumns(data.tasks, tasks),
    { training: resolveTrainingConfig(training), tasks, mainTasks: tasks },
    {},
  );
  expect(tf.memory().numTensors).toBe(before);
}

/** Tower t of a tower network as the weights of a one-task hard-sharing network: [W1, b1, ..., heads/kernel, heads/bias]. */
export function towerAsHardSharing(network: TowerNetwork, t: number): Float32Array[] {
  const hidden = network.towerOptions.hidden;
  const h1 = hidden[0]!;
  const out = [network.firstLayerKernel(t), network.first.bias.slice(t * h1, (t + 1) * h1)];
  for (let l = 2; l <= hidden.length; l++)
    out.push(network.towerKernel(t, l), network.params.values(`tower_${t + 1}_${l}/bias`));
  out.push(network.towerKernel(t, hidden.length + 1), network.params.values(`head_${t + 1}/bias`));
  return out;
}

/**
 * Train `network` (fresh) and, for each task, a one-task hard-sharing network started from that
 * task's initial tower, alone, on the same data; the largest absolute difference between each
 * trained tower and its single-task network.
 */
export async function differenceFromIndependentTowers(
  network: TowerNetwork,
  data: TrainingData,
): Promise<number> {
  const hidden = network.towerOptions.hidden;
  const initial = network.tasks.map((_, t) => towerAsHardSharing(network, t));
  await train(network, data);
  let worst = 0;
  for (const [t, task] of network.tasks.entries()) {
    const alone = hardSharing.create(specOf(data, [task], { hidden, dropout: 0 }));
    alone.restore(initial[t]!);
    await train(alone, data);
    const expected = alone.snapshot();
    const got = towerAsHardSharing(network, t);
    expect(got.map((w) => w.length)).toEqual(expected.map((w) => w.length));
    for (const [i, w] of got.entries())
      for (let k = 0; k < w.length; k++) worst = Math.max(worst, Math.abs(w[k]! - expected[i]![k]!));
    alone.dispose();
  }
  return worst;
}

/** Largest |export's tf.loadLayersModel score - network.predict score| over the rows of `x`. */
export async function exportPredictDifference(network: Network, x: CsrMatrix): Promise<number> {
  const exported = await network.exportLayers();
  const model = await loadExport(exported);
  const expected = network.predict(x);
  const got = tf.tidy(() =>
    (model.predict(tf.tensor2d(densify(x), [x.rows, x.cols])) as tf.Tensor).dataSync(),
  );
  model.dispose();
  expect(got.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
  return worst;
}

/** The export loaded by plain tfjs, as a browser would (no custom class registered). */
export function loadExport(exported: LayersExport): Promise<tf.LayersModel> {
  const data = exported.weightData;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: exported.modelTopology,
      weightSpecs: exported.weightSpecs,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    }),
  );
}

/** Rebuild `network` from its export with `architecture.fromWeights`: the same snapshot and predictions. */
export async function expectRoundTrip(
  architecture: Architecture,
  network: Network,
  spec: NetworkSpec,
  x: CsrMatrix,
): Promise<void> {
  const exported = await network.exportLayers();
  const rebuilt = architecture.fromWeights(
    { ...spec, config: network.config },
    namedWeights(exported.weightSpecs, exported.weightData),
  );
  const a = network.snapshot();
  const b = rebuilt.snapshot();
  expect(b.length).toBe(a.length);
  for (const [i, w] of a.entries())
    expect(Buffer.from(b[i]!.buffer).equals(Buffer.from(w.buffer))).toBe(true);
  expect(Array.from(rebuilt.predict(x))).toEqual(Array.from(network.predict(x)));
  expect(rebuilt.relations()).toEqual(network.relations());
  rebuilt.dispose();
}

/**
 * For each network of `networks` (trained one epoch here): its export, loaded by plain tfjs, gives
 * predict's scores within 1e-5, and `architecture.fromWeights` rebuilds it from the export. Also a
 * one-task network of `single` options (the single-task baseline of a run), untrained.
 */
export async function expectExports(
  architecture: Architecture,
  data: TrainingData,
  networks: readonly Network[],
  single: Record<string, unknown>,
): Promise<void> {
  for (const network of networks) {
    await train(network, data, { epochs: 1, batchSize: 32, learningRate: 0.05, seed: 5 });
    expect(await exportPredictDifference(network, data.x)).toBeLessThan(1e-5);
    await expectRoundTrip(architecture, network, specOf(data, network.tasks, {}), data.x);
    network.dispose();
  }
  const one = architecture.create(specOf(data, ['rare'], single));
  expect(await exportPredictDifference(one, data.x)).toBeLessThan(1e-5);
  one.dispose();
}

/** A trained network as an earlier run's model: its export's named weights and a vocabulary `w0, w1, ...`. */
export async function asWarmStartSource(network: Network, architecture: string): Promise<WarmStartSource> {
  const exported = await network.exportLayers();
  return {
    runId: 7,
    architecture,
    config: network.config,
    tasks: network.tasks,
    vocabulary: Array.from({ length: network.inputDim }, (_, i) => `w${i}`),
    weights: namedWeights(exported.weightSpecs, exported.weightData),
  };
}

/**
 * Check the warm start of a tower architecture: a target over a reordered and partly new
 * vocabulary with the source's tasks in another order plus a new one gets each common task's
 * first-layer rows by term and deeper tower layers; heads and the new task's tower stay fresh.
 */
export function expectTowerWarmStart(
  architecture: Architecture,
  source: WarmStartSource,
  sourceNetwork: TowerNetwork,
  spec: NetworkSpec,
): void {
  const V = source.vocabulary.length;
  // target vocabulary: the source's terms reversed, the last 10 replaced by new terms
  const vocabulary = source.vocabulary.map((_, j) => (j < V - 10 ? `w${V - 1 - j}` : `new${j}`));
  const tasks = [source.tasks[1]!, 'other', source.tasks[0]!];
  const plan = architecture.warmStart(source, { config: source.config, tasks, vocabulary });
  expect(plan.ok).toBe(true);
  if (!plan.ok) return;
  expect(plan.sharedTerms).toBe(V - 10);
  expect(plan.copied).toMatch(new RegExp(`^the towers of ${source.tasks[1]}, ${source.tasks[0]}`));
  const target = architecture.create({
    ...spec,
    tasks,
    inputDim: V,
    config: source.config,
    seed: 99,
  }) as TowerNetwork;
  const fresh = target.snapshot();
  const freshHeads = tasks.map((_, t) => target.towerKernel(t, sourceNetwork.towerOptions.hidden.length + 1));
  plan.apply(target);
  const hidden = sourceNetwork.towerOptions.hidden;
  const h1 = hidden[0]!;
  for (const [t, task] of tasks.entries()) {
    const s = source.tasks.indexOf(task);
    const got = target.firstLayerKernel(t);
    const freshRow = (j: number) =>
      Array.from(fresh[0]!.subarray(j * target.firstWidth + t * h1, j * target.firstWidth + (t + 1) * h1));
    const want = s >= 0 ? sourceNetwork.firstLayerKernel(s) : null;
    for (let j = 0; j < V; j++) {
      const row = Array.from(got.subarray(j * h1, (j + 1) * h1));
      if (want && j < V - 10) expect(row).toEqual(Array.from(want.subarray((V - 1 - j) * h1, (V - j) * h1)));
      else expect(row).toEqual(freshRow(j));
    }
    if (s < 0) continue;
    for (let l = 2; l <= hidden.length; l++)
      expect(Array.from(target.towerKernel(t, l))).toEqual(Array.from(sourceNetwork.towerKernel(s, l)));
    expect(Array.from(target.towerKernel(t, hidden.length + 1))).toEqual(Array.from(freshHeads[t]!));
  }
  target.dispose();
}

/**
 * Train `network` one epoch and check the warm start every tower architecture shares from it
 * ({@link expectTowerWarmStart}, {@link expectTowerRefusals} with `otherHidden`); the source.
 */
export async function expectTowerWarmStarts(
  architecture: Architecture,
  network: TowerNetwork,
  data: TrainingData,
  otherHidden: Record<string, unknown>,
): Promise<WarmStartSource> {
  await train(network, data, { epochs: 1, batchSize: 64, learningRate: 0.05, seed: 5 });
  const source = await asWarmStartSource(network, architecture.name);
  expectTowerWarmStart(architecture, source, network, specOf(data, network.tasks, {}));
  expectTowerRefusals(architecture, source, otherHidden);
  return source;
}

/** The refusals every tower architecture shares: other hidden sizes, no task in common, a vocabulary mostly new. */
export function expectTowerRefusals(
  architecture: Architecture,
  source: WarmStartSource,
  otherHidden: Record<string, unknown>,
): void {
  const refuse = (
    config: Record<string, unknown>,
    tasks: readonly string[],
    vocabulary: readonly string[],
  ) => {
    const plan = architecture.warmStart(source, { config, tasks, vocabulary });
    expect(plan.ok).toBe(false);
    return plan.ok ? '' : plan.reason;
  };
  expect(refuse(otherHidden, source.tasks, source.vocabulary)).toMatch(
    /^run 7 has towers of hidden layers \[.*\], this run \[.*\]$/,
  );
  expect(refuse(source.config, ['x', 'y'], source.vocabulary)).toBe(
    `run 7 has no tower of this run's tasks (it trained ${source.tasks.join(', ')})`,
  );
  expect(
    refuse(
      source.config,
      source.tasks,
      source.vocabulary.map((w, i) => (i % 3 === 0 ? w : `new${i}`)),
    ),
  ).toMatch(/^only 3\d\.\d% of the vocabulary is shared with run 7 \(at least 50% needed\)$/);
}

const log = createLogger('text', { quiet: true });

/** A stored prediction. */
interface StoredScore {
  unit_id: string;
  task: string;
  score: number;
}

/** Every stored score equals (as float32) the score by unit and task. */
function expectStoredScores(
  stored: readonly StoredScore[],
  scores: ReadonlyMap<string, Record<string, number>>,
): void {
  for (const s of stored)
    expect(Math.fround(scores.get(s.unit_id)![s.task]!), `${s.unit_id} ${s.task}`).toBe(Math.fround(s.score));
}

/**
 * Train each of `models` (a pipeline's model block each) end to end on one generated cohort in a
 * fresh database of `backendName`: one ingest, then one pipeline run per model (tokens, features,
 * train, evaluation, storage). Five stored users' posts scored from each run's stored model
 * (predictFiles, what `mhmtl predict` runs) give the run's stored predictions; and, database
 * closed, the CLI `mhmtl predict --run N` of the last run gives them too.
 */
export async function expectPipelineRuns(
  backendName: 'pglite' | 'postgres',
  models: readonly Record<string, unknown>[],
): Promise<void> {
  const dir = makeTempDir('mhmtl-arch-');
  const cohort = await generateCohort({
    users: 50,
    seed: 21,
    out: path.join(dir, 'cohort'),
    minPosts: 3,
    maxPosts: 8,
  });
  const database = await createTestDatabase(backendName);
  let backend: Awaited<ReturnType<typeof openBackend>> | null = await openBackend(database.config);
  try {
    await ingestFile(backend, cohort.postsFile, { kind: 'posts' });
    await ingestFile(backend, cohort.labelsFile, { kind: 'labels' });
    const pseudo = await pseudonymizer(backend);
    const known = cohort.manifest.userIds.slice(0, 5);
    const subset = path.join(dir, 'known.jsonl');
    const users = new Set(known);
    writeFileSync(
      subset,
      readFileSync(cohort.postsFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '' && users.has((JSON.parse(l) as { user_id: string }).user_id))
        .map((l) => `${l}\n`)
        .join(''),
    );
    let last: { runId: number; stored: StoredScore[] } | null = null;
    for (const model of models) {
      const result = await runPipeline(
        backend,
        {
          file: null,
          // through the pipeline schema, which takes each architecture's options from its code
          config: parsePipeline(
            {
              name: `arch-${String(model.architecture)}`,
              seed: 5,
              inputs: [],
              tasks: { main: ['anxiety', 'depression'], auxiliary: ['gender'] },
              features: { word_ngrams: [1, 1], min_df: 2 },
              model,
              training: { epochs: 2, patience: 2 },
              evaluation: { bootstrap: 0 },
              baselines: { stl: false, lr: false, mtl_no_aux: false },
            },
            dir,
          ),
        },
        { log, skipIngest: true, workers: 0 },
      );
      expect(result.status, String(model.architecture)).toBe('succeeded');
      const stored = await backend.transaction((s) =>
        s.query<StoredScore & { architecture: string }>(
          `SELECT p.unit_id, p.task, p.score, m.architecture FROM mhmtl.predictions p
           JOIN mhmtl.models m ON m.run_id = p.run_id AND m.model = p.model
           WHERE p.run_id = $1 AND p.model = 'mtl' AND p.fold = 0 AND p.unit_id = ANY($2::text[])`,
          [result.runId, known.map((u) => pseudo.user(u))],
        ),
      );
      expect(stored.length).toBe(5 * 3);
      expect(new Set(stored.map((r) => r.architecture))).toEqual(new Set([model.architecture]));
      const scored = await predictFiles(backend, { runId: result.runId, files: [subset] });
      expectStoredScores(
        stored,
        new Map(
          scored.rows.map((r) => [
            r.unitId,
            Object.fromEntries(scored.tasks.map((t, k) => [t, r.scores[k]!])),
          ]),
        ),
      );
      last = { runId: result.runId, stored };
    }
    // PGlite holds its directory exclusively: the CLI opens it after we close it.
    await backend.close();
    backend = null;
    const out = path.join(dir, 'scores.jsonl');
    const r = await runCli([
      ...database.cliArgs,
      'predict',
      '--run',
      String(last!.runId),
      subset,
      '--out',
      out,
    ]);
    expect(r.stderr).toContain('scored 5 user unit(s)');
    expect(r.code).toBe(0);
    expectStoredScores(
      last!.stored,
      new Map(
        readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, number>)
          .map((row) => [String(row.unit_id), row]),
      ),
    );
  } finally {
    await backend?.close();
    await database.cleanup();
  }
}
