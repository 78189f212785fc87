import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import type { CsrMatrix } from '../../../src/features/csr.js';
import { selectRows } from '../../../src/features/csr.js';
import {
  branchAffinity,
  chooseGrouping,
  errorAffinity,
  type FullyAdaptiveNetwork,
  fullyAdaptive,
} from '../../../src/model/architectures/fully-adaptive.js';
import { hardSharing } from '../../../src/model/architectures/hard-sharing.js';
import { initTensorflow } from '../../../src/model/backend.js';
import { namedWeights } from '../../../src/model/io/layers-graph.js';
import { selectLabels } from '../../../src/model/labels.js';
import { NeuralModel } from '../../../src/model/neural-model.js';
import { Random } from '../../../src/model/random.js';
import { loadPipeline } from '../../../src/pipeline/config.js';
import { modelSpecs } from '../../../src/pipeline/model-specs.js';
import type { TrainingData } from '../../../src/model/types.js';
import { testBackendNames } from '../../helpers/databases.js';
import {
  exportedScores,
  maxAbsDiff,
  networkSpec,
  pipelineRoundTrips,
  train,
  trainWithModelBlock,
} from './helpers.js';

/**
 * Units with two independent latent traits u and v, each written in its own 10 words (counts
 * growing with the trait) among noise words. Tasks: 'a' = u above its median, 'b' = v above its
 * median (built unrelated: independent traits, disjoint words), and exact copies of them
 * ('a_copy', 'b_copy': built identical), in the order given by `tasks`.
 */
function twoTraitCohort(tasks: readonly string[], seed = 11): TrainingData {
  const r = new Random(seed);
  const n = 500;
  const features = 80;
  const u = Float64Array.from({ length: n }, () => r.normal());
  const v = Float64Array.from({ length: n }, () => r.normal());
  const indptr = new Int32Array(n + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < n; i++) {
    const counts = new Map<number, number>();
    const add = (f: number) => counts.set(f, (counts.get(f) ?? 0) + 1);
    const nu = Math.max(0, Math.round(2 * (u[i]! + 1.5) + 0.5 * r.normal()));
    const nv = Math.max(0, Math.round(2 * (v[i]! + 1.5) + 0.5 * r.normal()));
    for (let k = 0; k < nu; k++) add(r.int(10));
    for (let k = 0; k < nv; k++) add(10 + r.int(10));
    for (let k = 0; k < 8; k++) add(20 + r.int(features - 20));
    const keys = [...counts.keys()].sort((a, b) => a - b);
    const norm = Math.sqrt(keys.reduce((s, f) => s + counts.get(f)! ** 2, 0));
    for (const f of keys) {
      idx.push(f);
      val.push(counts.get(f)! / norm);
    }
    indptr[i + 1] = idx.length;
  }
  const x: CsrMatrix = {
    rows: n,
    cols: features,
    indptr,
    indices: Int32Array.from(idx),
    values: Float32Array.from(val),
  };
  const label = (task: string, i: number) => (task.startsWith('a') ? (u[i]! > 0 ? 1 : 0) : v[i]! > 0 ? 1 : 0);
  const y = Float32Array.from({ length: n * tasks.length }, (_, k) =>
    label(tasks[k % tasks.length]!, Math.floor(k / tasks.length)),
  );
  const order = r.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  return { x, y, tasks, train: order.slice(0, 350), dev: order.slice(350) };
}

const training = { epochs: 10, batchSize: 32, learningRate: 0.01, l2: 1e-4, patience: 10, seed: 2 };

/** The branch of each task at each layer, from the `branching` relations: `[layer][task]`. */
function branchingOf(net: FullyAdaptiveNetwork): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (const r of net.relations().filter((q) => q.kind === 'branching')) {
    out[r.layer! - 1] ??= {};
    out[r.layer! - 1]![r.taskA] = r.value;
  }
  return out;
}

describe('fully_adaptive', () => {
  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });

  it('error affinity: P(both hard or both easy) relative to each task mean, by hand', () => {
    // 4 units, 3 tasks, all labels 1 (loss -log p): task 0 hard on units 0,1; task 1 on 0,1; task 2 on 0,2
    const p = Float32Array.from([0.1, 0.2, 0.1, 0.2, 0.3, 0.9, 0.9, 0.9, 0.2, 0.9, 0.95, 0.9]);
    const y = new Float32Array(12).fill(1);
    y[3 * 3 + 2] = Number.NaN; // task 2 unknown on unit 3
    const A = errorAffinity(p, y, new Float32Array([1, 1, 1]), 3);
    expect(A[0 * 3 + 1]).toBe(1); // same on all 4 units
    // tasks 0 and 2 on units 0..2 (unit 3 unknown for 2): task 2's mean over units 0..2 is
    // (-log .1 - log .9 - log .2)/3 = 1.338: hard on 0 and 2; task 0 hard on 0, 1 -> agree on 0 only
    expect(A[0 * 3 + 2]).toBeCloseTo(1 / 3, 12);
    expect(A[2 * 3 + 0]).toBe(A[0 * 3 + 2]);
    expect(A[2 * 3 + 2]).toBe(1);
    // the branch affinity of {0} and {1, 2}: (min(1, 1/3) + mean(1, 1/3)) / 2
    expect(branchAffinity(A, 3, [0], [1, 2])).toBeCloseTo((1 / 3 + 2 / 3) / 2, 12);
  });

  it('grouping minimizes separation loss + complexity_penalty x new branches', () => {
    // tasks 0,1 affine (0.9), 2,3 affine (0.8), across 0.5
    const A = Float64Array.from([1, 0.9, 0.5, 0.5, 0.9, 1, 0.5, 0.5, 0.5, 0.5, 1, 0.8, 0.5, 0.5, 0.8, 1]);
    const children = [[0], [1], [2], [3]];
    const two = chooseGrouping(A, 4, children, 0.5, 4);
    // k = 2: loss 2 (1 - 0.9) + 2 (1 - 0.8) = 0.6, + 0.5 -> 1.1; k = 1: each child's affinity to
    // the rest is (0.5 + (0.9 + 0.5 + 0.5) / 3) / 2 = 0.5667 -> 4 x 0.4333 = 1.733; k = 3: {0,1},{2},{3}
    // 0.2 + 1.0 = 1.2; k = 4: 1.5
    expect(two.group).toEqual([0, 0, 1, 1]);
    expect(two.separationLoss).toBeCloseTo(0.6, 12);
    expect(two.objective).toBeCloseTo(1.1, 12);
    // a large penalty keeps one branch; no penalty separates every task (ties: fewer branches, so
    // equal objectives never split)
    expect(chooseGrouping(A, 4, children, 10, 4).k).toBe(1);
    expect(chooseGrouping(A, 4, children, 0, 4).k).toBe(4);
    // max_branches caps k
    expect(chooseGrouping(A, 4, children, 0, 2).k).toBe(2);
    // identical tasks (A = 1): one branch even without a penalty
    expect(chooseGrouping(new Float64Array(9).fill(1), 3, [[0], [1], [2]], 0, 3).k).toBe(1);
  });

  it('tasks built unrelated end in different branches, tasks built identical in one (every layer)', async () => {
    const tasks = ['a', 'b', 'a_copy', 'b_copy'];
    const data = twoTraitCohort(tasks);
    const net = fullyAdaptive.create(
      networkSpec({ hidden: [16, 8], widen_after: 8, widen_every: 2, dropout: 0.1 }, tasks, data.x.cols),
    ) as FullyAdaptiveNetwork;
    const result = await train(net, data, training);
    expect(result.history.filter((h) => h.structureChanged).map((h) => h.epoch)).toEqual([8, 10]);
    expect(net.structure).toEqual([
      [0, 1, 0, 1],
      [0, 1, 0, 1],
    ]);
    const branching = branchingOf(net);
    expect(branching).toEqual([
      { a: 1, b: 2, a_copy: 1, b_copy: 2 },
      { a: 1, b: 2, a_copy: 1, b_copy: 2 },
    ]);
    const affinity = net.relations().filter((r) => r.kind === 'error_affinity');
    const A = (p: string, q: string) => affinity.find((r) => r.taskA === p && r.taskB === q)!.value;
    expect(A('a', 'a_copy')).toBeGreaterThan(0.9);
    expect(A('a', 'b')).toBeLessThan(0.7);
    expect(net.config).toMatchObject({
      branches: [
        [0, 1, 0, 1],
        [0, 1, 0, 1],
      ],
      widened_layers: 2,
    });
    // selection restarted at the last change: the kept epoch is not before it
    expect(result.bestEpoch).toBe(10);
    expect(net.firstWidth).toBe(32);
    // the layer-2 split at epoch 8 trained on for 2 epochs with new optimizers: its two copies moved apart
    expect(
      maxAbsDiff(net.params.values('branch_2_1/kernel'), net.params.values('branch_2_2/kernel')),
    ).toBeGreaterThan(1e-3);
    net.dispose();

    const same = ['a', 'a_copy', 'a_copy2'];
    const identical = twoTraitCohort(same);
    const one = fullyAdaptive.create(
      networkSpec({ hidden: [16, 8], widen_after: 8, widen_every: 2 }, same, identical.x.cols),
    ) as FullyAdaptiveNetwork;
    const r1 = await train(one, identical, training);
    expect(r1.history.some((h) => h.structureChanged)).toBe(false);
    expect(one.structure).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    // the round at the top kept one branch: widening is over (nothing below to split)
    expect(one.config.widened_layers).toBe(2);
    one.dispose();
  });

  it('a split copies the branch it came from: the same function right after, new parameter names', () => {
    const tasks = ['a', 'b', 'a_copy'];
    const data = twoTraitCohort(tasks);
    const net = fullyAdaptive.create(
      networkSpec({ hidden: [6], widen_after: 1, complexity_penalty: 0 }, tasks, data.x.cols),
    ) as FullyAdaptiveNetwork;
    const before = net.predict(data.x);
    const W = net.first.weights.slice();
    const changed = net.adaptStructure(1, () => ({
      x: selectRows(data.x, data.train),
      y: selectLabels(data.y, 3, data.train, [0, 1, 2]),
      posWeight: new Float32Array([1, 1, 1]),
    }));
    expect(changed).toBe(true);
    const k = Math.max(...net.structure[0]!) + 1;
    expect(k).toBeGreaterThan(1);
    expect(net.firstWidth).toBe(6 * k);
    // every block of the new first layer is the old layer
    for (let b = 0; b < k; b++)
      for (const row of [0, 17, 79])
        expect([...net.first.weights.subarray(row * 6 * k + b * 6, row * 6 * k + b * 6 + 6)]).toEqual([
          ...W.subarray(row * 6, row * 6 + 6),
        ]);
    expect(maxAbsDiff(net.predict(data.x), before)).toBeLessThan(1e-6);
    expect(net.params.all.map((p) => p.name)).toEqual([
      'head_1/kernel',
      'head_1/bias',
      'head_2/kernel',
      'head_2/bias',
      'head_3/kernel',
      'head_3/bias',
    ]);
    // no layer is left: no further change
    expect(net.adaptStructure(2, () => ({ x: data.x, y: data.y, posWeight: new Float32Array(3) }))).toBe(
      false,
    );
    net.dispose();
  });

  it('the trainer restarts model selection at a structure change (any architecture: the Network hook)', async () => {
    const tasks = ['a', 'b'];
    const data = twoTraitCohort(tasks);
    const net = hardSharing.create(networkSpec({ hidden: [8] }, tasks, data.x.cols));
    let epoch = 0;
    const predict = net.predict.bind(net);
    // dev scores: the network's after epoch 1, then a constant 0.01 (a far worse dev loss)
    net.predict = (x) => (epoch <= 1 ? predict(x) : new Float32Array(x.rows * 2).fill(0.01));
    net.adaptStructure = (e) => {
      epoch = e;
      return e === 2;
    };
    const result = await train(net, data, { ...training, epochs: 4 });
    const devLoss = result.history.map((h) => h.devMeanLoss!);
    expect(devLoss[0]).toBeLessThan(devLoss[1]!);
    // without the restart epoch 1 would be selected; epochs 2-4 score alike, the first of them is kept
    expect(result.bestEpoch).toBe(2);
    expect(result.history.map((h) => h.structureChanged ?? false)).toEqual([false, true, false, false]);
    net.dispose();
  });

  it('trains with a representation-level weighting method (PCGrad) across a split of the first layer', async () => {
    const tasks = ['a', 'b', 'a_copy'];
    const data = twoTraitCohort(tasks);
    const net = fullyAdaptive.create(
      networkSpec({ hidden: [8], widen_after: 2, complexity_penalty: 0 }, tasks, data.x.cols),
    ) as FullyAdaptiveNetwork;
    const before = net.firstWidth;
    const result = await train(net, data, { ...training, epochs: 4, weighting: { method: 'pcgrad' } });
    expect(result.history.map((h) => h.structureChanged ?? false)).toEqual([false, true, false, false]);
    expect(before).toBe(8);
    expect(net.firstWidth).toBeGreaterThan(8);
    // the first layer's blocks were copies at epoch 2 and trained apart after
    const W = net.first.weights;
    const w = net.firstWidth;
    let diff = 0;
    for (let r = 0; r < data.x.cols; r++)
      for (let j = 0; j < 8; j++) diff = Math.max(diff, Math.abs(W[r * w + j]! - W[r * w + 8 + j]!));
    expect(diff).toBeGreaterThan(1e-4);
    for (const h of result.history) for (const t of tasks) expect(Number.isFinite(h.loss[t])).toBe(true);
    net.dispose();
  });

  it('exports to plain tfjs layers with the scores of predict (within 1e-5); the stored config and weights rebuild it', async () => {
    const tasks = ['a', 'b', 'a_copy', 'b_copy'];
    const data = twoTraitCohort(tasks);
    const model = new NeuralModel({
      architecture: 'fully_adaptive',
      architectureConfig: { hidden: [12, 6], widen_after: 1, widen_every: 1, activation: 'elu' },
      tasks,
      training: { ...training, epochs: 3 },
    });
    await model.fit(data);
    const net = model.trainedNetwork as FullyAdaptiveNetwork;
    expect(Math.max(...net.structure[0]!)).toBeGreaterThan(0);
    const scores = net.predict(data.x);
    const exported = await net.exportLayers();
    expect(JSON.stringify(exported.modelTopology)).not.toMatch(/Lambda|Custom/);
    expect(maxAbsDiff(await exportedScores(net, data.x), scores)).toBeLessThan(1e-5);
    const artifact = await model.toArtifact();
    expect((artifact.config as { architecture: Record<string, unknown> }).architecture.branches).toEqual(
      net.structure,
    );
    const again = NeuralModel.fromArtifact(artifact);
    expect(again.predict(data.x)).toEqual(scores);
    const rebuilt = fullyAdaptive.fromWeights(
      networkSpec(net.config, tasks, data.x.cols),
      namedWeights(exported.weightSpecs, exported.weightData),
    );
    const [a, b] = [net.snapshot(), rebuilt.snapshot()];
    expect(b.length).toBe(a.length);
    for (const [i, w] of a.entries()) expect(b[i]).toEqual(w);
    model.dispose();
    again.dispose();
    rebuilt.dispose();
  });

  it('warm start: the same structure copies every branch (rows by term); another structure is refused', async () => {
    const tasks = ['a', 'b'];
    const V = 30;
    const config = {
      hidden: [4, 3],
      branches: [
        [0, 0],
        [0, 1],
      ],
      widened_layers: 1,
    };
    const source = fullyAdaptive.create(networkSpec(config, tasks, V, 1));
    const exported = await source.exportLayers();
    const weights = namedWeights(exported.weightSpecs, exported.weightData);
    const vocabulary = Array.from({ length: V }, (_, i) => `t${i}`);
    const target = [...vocabulary].reverse();
    const src = { runId: 4, architecture: 'fully_adaptive', config, tasks, vocabulary, weights };
    const plan = fullyAdaptive.warmStart(src, { config, tasks, vocabulary: target });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    const net = fullyAdaptive.create(networkSpec(config, tasks, V, 9));
    plan.apply(net);
    // target row 0 is source row V-1
    expect([...net.first.weights.subarray(0, 4)]).toEqual([
      ...weights.get('branch_1_1/kernel')!.subarray((V - 1) * 4, V * 4),
    ]);
    expect(net.params.values('branch_2_2/kernel')).toEqual(weights.get('branch_2_2/kernel'));
    expect(net.params.values('head_2/bias')).toEqual(weights.get('head_2/bias'));
    const refused = fullyAdaptive.warmStart(src, { config: { hidden: [4, 3] }, tasks, vocabulary });
    expect(refused).toEqual({
      ok: false,
      reason:
        'run 4 has the structure [4, 3] layer 1: a=1 b=1; layer 2: a=1 b=2, this run [4, 3] layer 1: a=1 b=1; layer 2: a=1 b=1 (a warm start needs the same tasks and structure)',
    });
    source.dispose();
    net.dispose();
  });

  it('rejects options out of range with one line naming the option', () => {
    const resolve = (c: Record<string, unknown>) => () => fullyAdaptive.resolveConfig(c);
    expect(resolve({ complexity_penalty: -0.1 })).toThrow(
      new UsageError('complexity_penalty must be a number >= 0, got -0.1'),
    );
    expect(resolve({ widen_every: 0 })).toThrow(/^widen_every must be an integer >= 1, got 0$/);
    expect(resolve({ widen_after: 1.5 })).toThrow(/^widen_after must be an integer >= 1, got 1.5$/);
    expect(resolve({ max_branches: 0 })).toThrow(/^max_branches must be/);
    expect(resolve({ hidden: [] })).toThrow(/^hidden must be/);
    expect(resolve({ widened_layers: 3, hidden: [4, 2] })).toThrow(
      /^widened_layers must be an integer from 0 to 2/,
    );
    expect(resolve({ branches: [[0, 0]], hidden: [4, 2] })).toThrow(/^branches must be 2 lists/);
    // a branch at layer 2 whose tasks are in two branches at layer 1 is no tree
    expect(
      resolve({
        branches: [
          [0, 1],
          [0, 0],
        ],
        hidden: [4, 2],
      }),
    ).toThrow(/^branches: tasks in one branch at layer 2 are in different branches at layer 1$/);
    expect(resolve({ splits: 2 })).toThrow(/^fully_adaptive has no option 'splits'/);
    expect(() =>
      fullyAdaptive.resolveConfig(
        { branches: [[0, 0, 0]], hidden: [4] },
        { tasks: ['a', 'b'], auxTasks: [] },
      ),
    ).toThrow(/^branches has 3 tasks per layer, the model 2$/);
    // a model training a subset of the run's tasks keeps their columns, renumbered
    expect(
      fullyAdaptive.resolveConfig(
        { branches: [[0, 1, 1]], hidden: [4] },
        { tasks: ['b', 'c'], auxTasks: [], runTasks: ['a', 'b', 'c'] },
      ).branches,
    ).toEqual([[0, 0]]);
    expect(fullyAdaptive.resolveConfig({})).toEqual({
      hidden: [64, 32],
      activation: 'relu',
      dropout: 0.3,
      complexity_penalty: 0.5,
      widen_after: 5,
      widen_every: 2,
      max_branches: null,
      branches: null,
      widened_layers: 0,
    });
  });

  it('the CLI refuses a negative complexity penalty with exit 2 and one line naming /model/complexity_penalty', async () => {
    const r = await trainWithModelBlock({ architecture: 'fully_adaptive', complexity_penalty: -1 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/\/model\/complexity_penalty: must be >= 0, got -1$/m);
  });

  it('pipelines/architectures.json loads with fully_adaptive as a named model compared with hard sharing, LR and STL', () => {
    const { config } = loadPipeline(path.resolve('pipelines/architectures.json'));
    const spec = modelSpecs(config).find((m) => m.name === 'fully_adaptive')!;
    expect(spec.kind).toBe('mtl');
    expect(spec.architecture).toBe('fully_adaptive');
    expect(fullyAdaptive.resolveConfig(spec.architectureConfig).hidden).toEqual([64, 32]);
    for (const other of ['hard_sharing', 'lr', 'stl'])
      expect(config.evaluation?.compare).toContainEqual(['fully_adaptive', other]);
  });

  for (const name of testBackendNames()) {
    it(`trains in a pipeline run, stores its structure and branching, and predicts (mhmtl predict = stored scores) [${name}]`, async () => {
      await pipelineRoundTrips(
        name,
        [{ architecture: 'fully_adaptive', hidden: [8, 4], widen_after: 1, widen_every: 1, dropout: 0.1 }],
        async (backend, runId) => {
          const rows = await backend.transaction((s) =>
            s.query<{ layer: number; task_a: string; task_b: string | null; value: number }>(
              `SELECT layer, task_a, task_b, value FROM mhmtl.task_relations
               WHERE run_id = $1 AND model = 'mtl' AND kind = 'branching' ORDER BY layer, task_a`,
              [runId],
            ),
          );
          const [model] = await backend.transaction((s) =>
            s.query<{ config: { architecture: { branches: number[][]; widened_layers: number } } }>(
              `SELECT config FROM mhmtl.models WHERE run_id = $1 AND model = 'mtl' LIMIT 1`,
              [runId],
            ),
          );
          // the stored configuration records the structure the relations describe (tasks in output
          // order: anxiety, depression, gender)
          const branches = model!.config.architecture.branches;
          expect(model!.config.architecture.widened_layers).toBeGreaterThanOrEqual(1);
          expect(rows.map((r) => [r.layer, r.task_a, r.task_b, Number(r.value)])).toEqual(
            [1, 2].flatMap((l) =>
              ['anxiety', 'depression', 'gender'].map((t, k) => [l, t, null, branches[l - 1]![k]! + 1]),
            ),
          );
        },
      );
    }, 180_000);
  }
});
