import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/db/backend.js';
import { openBackend } from '../../../src/db/open.js';
import { UsageError } from '../../../src/errors.js';
import { selectRows } from '../../../src/features/csr.js';
import { ingestFile } from '../../../src/ingest/load.js';
import type { NetworkSpec, WarmStartSource } from '../../../src/model/architectures/architecture.js';
import { getArchitecture } from '../../../src/model/architectures/index.js';
import { taskDepth } from '../../../src/model/architectures/task-depth.js';
import { gradients } from '../../../src/model/autodiff.js';
import { initTensorflow } from '../../../src/model/backend.js';
import { namedWeights } from '../../../src/model/io/layers-graph.js';
import { ForwardContext } from '../../../src/model/layers/forward-context.js';
import { maskedBinaryCrossEntropy, maskLabels } from '../../../src/model/losses.js';
import { NeuralModel } from '../../../src/model/neural-model.js';
import { loadModel } from '../../../src/model/store.js';
import { createLogger } from '../../../src/pipeline/log.js';
import { modelSpecs } from '../../../src/pipeline/model-specs.js';
import { planModels } from '../../../src/pipeline/models.js';
import { runPipeline } from '../../../src/pipeline/run.js';
import { generateCohort } from '../../../src/synth/generate.js';
import { runCli } from '../../helpers/cli.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from '../../helpers/databases.js';
import { densify, sharedSignalCohort } from '../synthetic.js';

/** Two tasks over shared signal features: `common` (30% positive) and `rare` (10%). */
const { data, test } = sharedSignalCohort({
  units: 500,
  features: 120,
  signal: 15,
  noisePerUnit: 12,
  signalStrength: 2,
  commonRate: 0.3,
  rareRate: 0.1,
  unknownRate: 0.1,
  seed: 31,
});
const TASKS = ['common', 'rare'];
const quick = { epochs: 3, batchSize: 32, learningRate: 0.01, seed: 7, l2: 1e-4 };

function spec(config: Record<string, unknown>, seed = 3): NetworkSpec {
  return {
    inputDim: data.x.cols,
    tasks: TASKS,
    auxTasks: [],
    config,
    optimizer: { name: 'adam', learningRate: 0.01 },
    seed,
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function squaredDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

/** The thrown error of `f`. */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('did not throw');
}

beforeAll(async () => {
  expect(await initTensorflow()).toBe('wasm');
});

describe('task_depth', () => {
  it('with every task at the top layer and no shortcut equals hard_sharing of the same seed (weights and scores)', async () => {
    const trainOne = async (architecture: string, config: Record<string, unknown>) => {
      const m = new NeuralModel({
        architecture,
        architectureConfig: config,
        tasks: TASKS,
        auxTasks: ['common'],
        training: quick,
      });
      await m.fit(data);
      const out = { weights: m.weights(), scores: m.predict(data.x) };
      m.dispose();
      return out;
    };
    const base = { hidden: [16, 8], dropout: 0.2 };
    const hard = await trainOne('hard_sharing', base);
    for (const config of [
      { ...base },
      { ...base, task_layers: { common: 2, rare: 2 }, shortcut: 'none', successive_regularization: 0 },
    ]) {
      const depth = await trainOne('task_depth', config);
      expect(depth.weights.length).toBe(hard.weights.length);
      for (const [i, w] of hard.weights.entries()) expect(sameBits(depth.weights[i]!, w)).toBe(true);
      expect(sameBits(depth.scores, hard.scores)).toBe(true);
    }
  });

  it('a head at layer 1 receives no gradient from the layers above it (gradients computed)', () => {
    for (const shortcut of ['none', 'pre_activation', 'activation']) {
      // common reads layer 1, rare the top (3).
      const network = taskDepth.create(
        spec({ hidden: [8, 6, 5], dropout: 0, task_layers: { common: 1 }, shortcut }),
      );
      const ids = data.train.subarray(0, 64);
      const x = selectRows(data.x, ids);
      const y = new Float32Array(ids.length * 2);
      ids.forEach((r, i) => {
        y[2 * i] = data.y[2 * r]! === 1 ? 1 : 0;
        y[2 * i + 1] = data.y[2 * r + 1]! === 1 ? 1 : 0;
      });
      const labels = maskLabels(y, 2);
      const z1 = network.first.forward(x);
      const names = network.params.all.map((p) => p.name);
      expect(names).toEqual([
        'shared_2/kernel',
        'shared_2/bias',
        'shared_3/kernel',
        'shared_3/bias',
        'heads_1/kernel',
        'heads_1/bias',
        'heads_3/kernel',
        'heads_3/bias',
      ]);
      const norms = (task: number): Record<string, number> =>
        tf.tidy(() => {
          const z = tf.tensor2d(z1, [x.rows, network.firstWidth]);
          const oneHot = tf.tensor1d(task === 0 ? [1, 0] : [0, 1]);
          const { grads } = gradients(
            () =>
              tf.sum(
                tf.mul(
                  maskedBinaryCrossEntropy(
                    network.forward(z, ForwardContext.inference()),
                    labels,
                    new Float32Array([1, 1]),
                  ),
                  oneHot,
                ),
              ),
            [z, ...network.params.variables],
          );
          return Object.fromEntries(
            ['z1', ...names].map((n, i) => [n, grads[i] ? tf.max(tf.abs(grads[i]!)).dataSync()[0]! : 0]),
          );
        });
      const low = norms(0);
      for (const n of [
        'shared_2/kernel',
        'shared_2/bias',
        'shared_3/kernel',
        'shared_3/bias',
        'heads_3/kernel',
      ])
        expect(low[n], `${shortcut}: ${n}`).toBe(0);
      expect(low.z1).toBeGreaterThan(0);
      expect(low['heads_1/kernel']).toBeGreaterThan(0);
      // The top task's loss reaches every layer below it, and not the layer-1 head.
      const top = norms(1);
      for (const n of ['z1', 'shared_2/kernel', 'shared_3/kernel', 'heads_3/kernel'])
        expect(top[n]).toBeGreaterThan(0);
      expect(top['heads_1/kernel']).toBe(0);
      network.dispose();
    }
  });

  it('trained with only the layer-1 task labelled, the layers above layer 1 do not move; layer 1 does', async () => {
    const y = data.y.slice();
    for (let i = 1; i < y.length; i += 2) y[i] = Number.NaN; // no label for rare (top layer)
    const m = new NeuralModel({
      architecture: 'task_depth',
      architectureConfig: {
        hidden: [8, 6],
        dropout: 0.1,
        task_layers: { common: 1 },
        shortcut: 'pre_activation',
      },
      tasks: TASKS,
      training: { ...quick, l2: 0, epochs: 2 },
    });
    await m.fit({ ...data, y });
    const trained = m.weights();
    // The initial weights: a network of the same configuration and seed.
    const fresh = taskDepth.create({
      inputDim: data.x.cols,
      tasks: TASKS,
      auxTasks: [],
      config: m.architectureConfig,
      optimizer: { name: 'adam', learningRate: 0.01 },
      seed: quick.seed,
    });
    const initial = fresh.snapshot();
    fresh.dispose();
    // snapshot order: W1, b1, shared_2 kernel, bias, heads_1 kernel, bias, heads_2 kernel, bias
    expect(trained.length).toBe(8);
    for (const i of [2, 3, 6, 7]) expect(sameBits(trained[i]!, initial[i]!), `weight ${i}`).toBe(true);
    for (const i of [0, 1, 4, 5])
      expect(maxAbsDiff(trained[i]!, initial[i]!), `weight ${i}`).toBeGreaterThan(1e-3);
    m.dispose();
  });

  it("successive regularization: 0 penalty right after the reference is taken, delta |theta - theta'|^2 after a change", () => {
    const delta = 0.5;
    const network = taskDepth.create(
      spec({ hidden: [6, 5, 4], task_layers: { common: 1 }, successive_regularization: delta }),
    );
    const penalty = () => tf.tidy(() => network.penalty()!.dataSync()[0]!);
    expect(penalty()).toBe(0); // the first call takes the reference
    const reg = network.firstLayerRegularization(0.001);
    expect(reg.decay).toBeCloseTo(0.002, 9);
    expect(reg.reference!.strength).toBe(2 * delta);
    expect(sameBits(reg.reference!.weights, network.first.weights)).toBe(true);
    // Move the lower tfjs layer (shared_2: 6 x 5 kernel, 5 biases) by 0.1 and the top one (shared_3) by 1.
    const kernel = network.params.values('shared_2/kernel');
    network.params.set(
      'shared_2/kernel',
      kernel.map((v) => v + 0.1),
    );
    network.params.set('shared_2/bias', new Float32Array(5).fill(-0.1));
    network.params.set(
      'shared_3/kernel',
      network.params.values('shared_3/kernel').map((v) => v + 1),
    );
    // delta * (30 + 5) * 0.1^2 = 0.175; the top layer is not held
    expect(penalty()).toBeCloseTo(0.175, 5);
    const w = network.first.weights.slice();
    w[0]! += 1;
    network.first.setWeights(w, network.first.bias);
    expect(network.firstLayerRegularization(0).reference!.weights[0]).not.toBe(w[0]);
    network.endEpoch(1);
    expect(penalty()).toBe(0);
    expect(sameBits(network.firstLayerRegularization(0).reference!.weights, w)).toBe(true);
    // The sparse layer's update pulls a touched row toward the reference (gradient 2 delta (w - w')).
    network.dispose();
    const off = taskDepth.create(spec({ hidden: [6, 5] }));
    expect(off.penalty()).toBeNull();
    expect(off.firstLayerRegularization(0.001).reference).toBeUndefined();
    off.dispose();
  });

  it('successive regularization holds the lower layers nearer their values at the end of the previous epoch', async () => {
    const lowerDistance = async (delta: number) => {
      const m = new NeuralModel({
        architecture: 'task_depth',
        architectureConfig: {
          hidden: [16, 8, 8],
          dropout: 0,
          task_layers: { common: 1 },
          successive_regularization: delta,
        },
        tasks: TASKS,
        training: { ...quick, epochs: 3, patience: 10, l2: 0, learningRate: 0.02 },
      });
      const ends: Float32Array[][] = [];
      const tensors: number[] = [];
      await m.fit(data, {
        onEpoch: () => {
          ends.push(m.trainedNetwork.snapshot());
          tensors.push(tf.memory().numTensors);
        },
      });
      m.dispose();
      expect(new Set(tensors).size).toBe(1); // references are kept outside tfjs: no tensor leaks
      // lower layers: W1, b1 is not held, shared_2 kernel and bias (snapshot 0, 2, 3)
      return [2, 3].map((epoch) =>
        [0, 2, 3].reduce((s, i) => s + squaredDistance(ends[epoch - 1]![i]!, ends[epoch - 2]![i]!), 0),
      );
    };
    const free = await lowerDistance(0);
    const held = await lowerDistance(5);
    for (const e of [0, 1]) {
      expect(held[e]!).toBeGreaterThan(0);
      expect(held[e]!).toBeLessThan(0.5 * free[e]!);
    }
  });

  it('export to plain tfjs layers gives predict scores within 1e-5; fromWeights round-trips', async () => {
    const configs = [
      { hidden: [10, 8, 6], task_layers: { rare: 1 }, shortcut: 'pre_activation' },
      { hidden: [10, 8, 6], task_layers: { common: 2 }, shortcut: 'activation', activation: 'tanh' },
      { hidden: [10, 8], task_layers: { common: 1 }, shortcut: 'none', successive_regularization: 0.1 },
    ];
    const xTest = selectRows(data.x, test);
    const dense = tf.tensor2d(densify(xTest), [xTest.rows, xTest.cols]);
    for (const config of configs) {
      const m = new NeuralModel({
        architecture: 'task_depth',
        architectureConfig: config,
        tasks: TASKS,
        auxTasks: ['common'],
        training: { ...quick, epochs: 2 },
      });
      await m.fit(data);
      const scores = m.predict(xTest);
      const network = m.trainedNetwork;
      const exported = await network.exportLayers();
      const topology = exported.modelTopology as { config: { layers: { class_name: string }[] } };
      const classes = new Set(topology.config.layers.map((l) => l.class_name));
      for (const c of classes) expect(['InputLayer', 'Dense', 'Concatenate', 'Activation']).toContain(c);
      const loaded = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: exported.modelTopology,
          weightSpecs: exported.weightSpecs,
          weightData: exported.weightData.slice().buffer,
        }),
      );
      const out = loaded.predict(dense) as tf.Tensor;
      expect(out.shape).toEqual([xTest.rows, 2]);
      expect(maxAbsDiff(out.dataSync(), scores)).toBeLessThan(1e-5);
      out.dispose();
      loaded.dispose();

      const rebuilt = taskDepth.fromWeights(
        {
          inputDim: data.x.cols,
          tasks: TASKS,
          auxTasks: ['common'],
          config: m.architectureConfig,
          optimizer: { name: 'adam', learningRate: 0.01 },
          seed: 1,
        },
        namedWeights(exported.weightSpecs, exported.weightData),
      );
      expect(sameBits(rebuilt.predict(xTest), scores)).toBe(true);
      const a = network.snapshot();
      const b = rebuilt.snapshot();
      for (const [i, w] of a.entries()) expect(sameBits(b[i]!, w)).toBe(true);
      rebuilt.dispose();
      // and through the stored artifact
      const again = NeuralModel.fromArtifact(await m.toArtifact());
      expect(sameBits(again.predict(xTest), scores)).toBe(true);
      expect(again.relations()).toEqual(m.relations());
      again.dispose();
      m.dispose();
    }
    dense.dispose();
  });

  it('relations: task_layer gives the layer each task head reads', () => {
    const network = taskDepth.create(spec({ hidden: [6, 5, 4], task_layers: { common: 2 } }));
    expect(network.relations()).toEqual([
      { kind: 'task_layer', layer: null, taskA: 'common', taskB: null, value: 2 },
      { kind: 'task_layer', layer: null, taskA: 'rare', taskB: null, value: 3 },
    ]);
    network.dispose();
  });

  it('warm start copies the shared layers of a run with the same layers (rows by term), refuses other layers', () => {
    const config = { hidden: [6, 4], task_layers: { common: 1 }, shortcut: 'pre_activation' };
    const sourceNetwork = taskDepth.create(spec(config, 11));
    const vocabulary = Array.from({ length: data.x.cols }, (_, i) => `t${i}`);
    const weights = new Map<string, Float32Array>();
    const snap = sourceNetwork.snapshot();
    weights.set('shared_1/kernel', snap[0]!);
    weights.set('shared_1/bias', snap[1]!);
    for (const p of sourceNetwork.params.all) weights.set(p.name, sourceNetwork.params.values(p.name));
    const source: WarmStartSource = {
      runId: 4,
      architecture: 'task_depth',
      config: taskDepth.resolveConfig(config, { tasks: TASKS, auxTasks: [] }),
      tasks: TASKS,
      vocabulary,
      weights,
    };
    // The target's vocabulary: the source's terms reversed, plus one new term.
    const targetVocabulary = [...vocabulary].reverse().slice(0, data.x.cols - 1);
    targetVocabulary.push('new');
    const target = (c: Record<string, unknown>) => ({
      config: taskDepth.resolveConfig(c, { tasks: TASKS, auxTasks: [] }),
      tasks: TASKS,
      vocabulary: targetVocabulary,
    });
    const plan = taskDepth.warmStart(source, target({ ...config, task_layers: {} }));
    if (!plan.ok) throw new Error(plan.reason);
    expect(plan.sharedTerms).toBe(data.x.cols - 1);
    expect(plan.copied).toBe('shared layers 1 to 2');
    const fresh = taskDepth.create({ ...spec({ ...config, task_layers: {} }, 12) });
    const before = fresh.snapshot();
    plan.apply(fresh);
    const after = fresh.snapshot();
    const h = 6;
    // target row j is source row (cols - 1 - j); the new term keeps its fresh row
    for (const j of [0, 5, data.x.cols - 2])
      expect(after[0]!.subarray(j * h, (j + 1) * h)).toEqual(
        snap[0]!.subarray((data.x.cols - 1 - j) * h, (data.x.cols - j) * h),
      );
    const last = data.x.cols - 1;
    expect(after[0]!.subarray(last * h, (last + 1) * h)).toEqual(
      before[0]!.subarray(last * h, (last + 1) * h),
    );
    expect(after[1]).toEqual(snap[1]);
    expect(fresh.params.values('shared_2/kernel')).toEqual(weights.get('shared_2/kernel'));
    // heads stay fresh (the target has no layer-1 head at all)
    expect(fresh.params.values('heads_2/kernel')).toEqual(before[before.length - 2]);
    fresh.dispose();
    sourceNetwork.dispose();

    const other = taskDepth.warmStart(source, target({ ...config, hidden: [6, 5] }));
    expect(other).toEqual({ ok: false, reason: 'run 4 has hidden layers [6, 4], this run [6, 5]' });
    const shortcut = taskDepth.warmStart(source, target({ ...config, shortcut: 'none' }));
    expect(shortcut.ok).toBe(false);
    if (!shortcut.ok) expect(shortcut.reason).toMatch(/^run 4 has shortcut pre_activation, this run none/);
    const model = new NeuralModel({ architecture: 'hard_sharing', tasks: TASKS });
    expect(model.planWarmStart(source, vocabulary)).toEqual({
      ok: false,
      reason: 'run 4 used architecture task_depth, not hard_sharing',
    });
    model.dispose();
  });

  it('bad options: one line naming the option, a usage error (exit 2)', () => {
    const context = { tasks: ['depression', 'gender'], auxTasks: ['gender'] };
    const cases: [Record<string, unknown>, string][] = [
      [
        { hidden: [8, 4], task_layers: { gender: 3 } },
        'task_layers.gender: layer 3 does not exist (hidden has 2 layers: 1 to 2)',
      ],
      [
        { task_layers: { gender: 0 } },
        'task_layers.gender: layer 0 does not exist (hidden has 2 layers: 1 to 2)',
      ],
      [
        { task_layers: { gender: 1.5 } },
        'task_layers.gender: layer 1.5 does not exist (hidden has 2 layers: 1 to 2)',
      ],
      [
        { task_layers: { anxiety: 1 } },
        "task_layers.anxiety: no task 'anxiety' is trained (tasks: depression, gender)",
      ],
      [{ task_layers: [1] }, 'task_layers must be an object of task: layer, e.g. {"gender": 1}, got [1]'],
      [{ shortcut: 'input' }, 'shortcut must be one of none, pre_activation, activation, got "input"'],
      [{ successive_regularization: -1 }, 'successive_regularization must be a number >= 0, got -1'],
      [
        { hidden: [8], successive_regularization: 0.1 },
        'successive_regularization holds the layers below the top one: hidden has only 1 layer',
      ],
      [
        { depth: 2 },
        "task_depth has no option 'depth' (options: hidden, activation, dropout, task_layers, shortcut, successive_regularization)",
      ],
    ];
    for (const [config, message] of cases) {
      const error = thrown(() => taskDepth.resolveConfig(config, context));
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect(error.message).toBe(message);
    }
    // As the pipeline checks a model before a run is recorded.
    expect(
      thrown(
        () =>
          new NeuralModel({
            architecture: 'task_depth',
            architectureConfig: { task_layers: { gender: 3 } },
            ...context,
          }),
      ).message,
    ).toBe('task_layers.gender: layer 3 does not exist (hidden has 2 layers: 1 to 2)');
  });

  it("a baseline trained on a subset of the run's tasks keeps the entries of its own tasks", () => {
    const specs = modelSpecs({
      name: 'p',
      inputs: [],
      tasks: { main: ['depression', 'anxiety'], auxiliary: ['gender'] },
      model: { architecture: 'task_depth', hidden: [8, 4], task_layers: { gender: 1, anxiety: 2 } },
      baselines: { lr: false },
    });
    const plans = planModels(specs, { main: ['depression', 'anxiety'], auxiliary: ['gender'] });
    const configs = Object.fromEntries(
      plans.map((p) => {
        const model = p.create(1) as NeuralModel;
        return [p.stored, model.architectureConfig.task_layers];
      }),
    );
    expect(configs).toEqual({
      mtl: { depression: 2, anxiety: 2, gender: 1 },
      mtl_no_aux: { depression: 2, anxiety: 2 },
      'stl:depression': { depression: 2 },
      'stl:anxiety': { anxiety: 2 },
    });
    // A model on its own is checked against its own tasks.
    expect(() =>
      getArchitecture('task_depth').resolveConfig(
        { task_layers: { gender: 1 } },
        { tasks: ['anxiety'], auxTasks: [] },
      ),
    ).toThrow("task_layers.gender: no task 'gender' is trained (tasks: anxiety)");
  });
});

/** Small pipeline runs on each database: task_depth trains end to end, its stored model predicts. */
for (const name of testBackendNames()) {
  describe(`task_depth in a pipeline run [${name}]`, () => {
    let dir: string;
    let database: TestDatabase;
    let backend: Backend | null = null;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-task-depth-'));
      database = await createTestDatabase(name);
      backend = await openBackend(database.config);
      const cohort = await generateCohort({
        users: 50,
        seed: 5,
        out: path.join(dir, 'cohort'),
        minPosts: 3,
        maxPosts: 6,
      });
      await ingestFile(backend, cohort.postsFile, { kind: 'posts' });
      await ingestFile(backend, cohort.labelsFile, { kind: 'labels' });
    });

    afterAll(async () => {
      await backend?.close();
      await database?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('trains (with the baselines on subsets of the tasks), and mhmtl predict on its stored model gives the scores the run stored; bad task_layers exit 2', async () => {
      const db = backend!;
      const model = {
        architecture: 'task_depth',
        hidden: [16, 8],
        dropout: 0.1,
        task_layers: { gender: 1 },
        shortcut: 'pre_activation',
        successive_regularization: 0.01,
      };
      const result = await runPipeline(
        db,
        {
          file: null,
          config: {
            name: 'task-depth-test',
            seed: 3,
            inputs: [],
            tasks: { main: ['anxiety', 'depression'], auxiliary: ['gender'] },
            features: { word_ngrams: [1, 1], min_df: 2 },
            model,
            training: { epochs: 2, patience: 2 },
            evaluation: { bootstrap: 0 },
            baselines: { stl: true, lr: false, mtl_no_aux: true },
          },
        },
        { log: createLogger('text', { quiet: true }), skipIngest: true, workers: 0 },
      );
      expect(result.status).toBe('succeeded');
      const artifact = await loadModel(db, result.runId, 'mtl');
      expect(artifact.architecture).toBe('task_depth');
      expect((artifact.config as { architecture: Record<string, unknown> }).architecture.task_layers).toEqual(
        {
          anxiety: 2,
          depression: 2,
          gender: 1,
        },
      );
      const stored = await db.transaction((s) =>
        s.query<{ model: string; n: string }>(
          `SELECT model, count(*) AS n FROM mhmtl.task_reports WHERE run_id = $1 GROUP BY model ORDER BY model`,
          [result.runId],
        ),
      );
      expect(stored.map((r) => r.model)).toEqual(['mtl', 'mtl_no_aux', 'stl']);
      const noAux = await loadModel(db, result.runId, 'mtl_no_aux');
      expect((noAux.config as { architecture: Record<string, unknown> }).architecture.task_layers).toEqual({
        anxiety: 2,
        depression: 2,
      });

      const predictions = await db.transaction((s) =>
        s.query<{ unit_id: string; task: string; score: number }>(
          `SELECT unit_id, task, score FROM mhmtl.predictions WHERE run_id = $1 AND model = 'mtl' AND fold = 0`,
          [result.runId],
        ),
      );
      expect(predictions.length).toBe(50 * 3);

      // PGlite holds its directory exclusively: the CLI opens it after we close it.
      await db.close();
      backend = null;
      const out = path.join(dir, 'scores.jsonl');
      const posts = path.join(dir, 'cohort', 'posts.jsonl');
      const r = await runCli([
        ...database.cliArgs,
        'predict',
        '--run',
        String(result.runId),
        posts,
        '--out',
        out,
      ]);
      expect(r.stderr).toContain('scored 50 user unit(s)');
      expect(r.code).toBe(0);
      const rows = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows.length).toBe(50);
      // The stored model (exported, rebuilt by fromWeights) gives the scores the run stored.
      const byUnit = new Map(rows.map((row) => [row.unit_id as string, row]));
      for (const p of predictions)
        expect(Math.fround(byUnit.get(p.unit_id)![p.task] as number), `${p.unit_id} ${p.task}`).toBe(
          Math.fround(p.score),
        );

      const bad = path.join(dir, 'bad.json');
      writeFileSync(
        bad,
        JSON.stringify({
          name: 'bad',
          inputs: [],
          tasks: { main: ['anxiety'], auxiliary: ['gender'] },
          model: { ...model, task_layers: { gender: 3 } },
        }),
      );
      const usage = await runCli([...database.cliArgs, 'train', '--pipeline', bad]);
      expect(usage.code).toBe(2);
      expect(usage.stdout).toBe('');
      expect(usage.stderr).toBe(
        'mhmtl: /model (model mtl): task_layers.gender: layer 3 does not exist (hidden has 2 layers: 1 to 2)\n',
      );
      const unknown = await runCli([
        ...database.cliArgs,
        'train',
        '--architecture',
        'task_depth',
        '--model-option',
        'task_layers={"sadness":1}',
      ]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(
        /^mhmtl: \/model \(model mtl\): task_layers\.sadness: no task 'sadness' is trained \(tasks: [a-z_, ]+\)\n$/,
      );
      backend = await openBackend(database.config);
      // Refused before a run was recorded.
      const runs = await backend.db.selectFrom('mhmtl.runs').select('run_id').execute();
      expect(runs.map((r) => Number(r.run_id))).toEqual([result.runId]);
    });
  });
}
