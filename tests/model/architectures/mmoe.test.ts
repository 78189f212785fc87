import { beforeAll, describe, expect, it } from 'vitest';
import { selectRows } from '../../../src/features/csr.js';
import { UsageError } from '../../../src/errors.js';
import { hardSharing } from '../../../src/model/architectures/hard-sharing.js';
import { type MmoeNetwork, mmoe } from '../../../src/model/architectures/mmoe.js';
import { initTensorflow } from '../../../src/model/backend.js';
import { namedWeights } from '../../../src/model/io/layers-graph.js';
import { NeuralModel } from '../../../src/model/neural-model.js';
import { sharedSignalCohort } from '../synthetic.js';
import { exportedScores, maxAbsDiff, networkSpec, train, trainWithModelBlock } from './helpers.js';

const TASKS = ['common', 'rare'];
const cohort = () =>
  sharedSignalCohort({
    units: 400,
    features: 120,
    signal: 15,
    noisePerUnit: 12,
    signalStrength: 2,
    commonRate: 0.3,
    rareRate: 0.1,
    unknownRate: 0.2,
    seed: 8,
  });
const training = { epochs: 3, batchSize: 32, learningRate: 0.01, l2: 1e-4, patience: 5, seed: 2 };

describe('mmoe', () => {
  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });

  it('with one expert is hard sharing: same weights and scores from matching initial weights', async () => {
    const { data } = cohort();
    const V = data.x.cols;
    const hidden = [12, 6];
    const hs = hardSharing.create(networkSpec({ hidden, dropout: 0.2 }, TASKS, V, 7));
    const [W1, b1, W2, b2, K, bh] = hs.snapshot();
    const initial = new Map<string, Float32Array>([
      ['expert_1_1/kernel', W1!],
      ['expert_1_1/bias', b1!],
      ['expert_1_2/kernel', W2!],
      ['expert_1_2/bias', b2!],
    ]);
    TASKS.forEach((_, t) => {
      initial.set(
        `gate_${t + 1}/kernel`,
        Float32Array.from({ length: V }, (_, i) => Math.sin(i + t)),
      );
      initial.set(`gate_${t + 1}/bias`, new Float32Array([0.5]));
      initial.set(
        `head_${t + 1}/kernel`,
        Float32Array.from({ length: 6 }, (_, h) => K![h * 2 + t]!),
      );
      initial.set(`head_${t + 1}/bias`, new Float32Array([bh![t]!]));
    });
    const mm = mmoe.fromWeights(networkSpec({ experts: 1, hidden, dropout: 0.2 }, TASKS, V), initial);
    expect(maxAbsDiff(mm.predict(data.x), hs.predict(data.x))).toBeLessThan(1e-6);
    await train(hs, data, training);
    await train(mm, data, training);
    const a = hs.snapshot();
    const b = mm.snapshot();
    // first layer: the expert's columns (the first 12 of 12 + 2 gate columns) are hard sharing's W1
    const expertColumns = Float32Array.from(
      { length: V * 12 },
      (_, i) => b[0]![Math.floor(i / 12) * 14 + (i % 12)]!,
    );
    expect(maxAbsDiff(expertColumns, a[0]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(b[1]!.subarray(0, 12), a[1]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(b[2]!, a[2]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(b[3]!, a[3]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(mm.predict(data.x), hs.predict(data.x))).toBeLessThan(1e-5);
    // the weights did move (the comparison is not of untrained networks)
    expect(maxAbsDiff(a[2]!, W2!)).toBeGreaterThan(1e-3);
    hs.dispose();
    mm.dispose();
  });

  it('gates are softmax distributions: they sum to 1 per unit and task, and differ between units', async () => {
    const { data } = cohort();
    const net = mmoe.create(networkSpec({ experts: 3, hidden: [8] }, TASKS, data.x.cols)) as MmoeNetwork;
    await train(net, data, training);
    const g = net.gateWeights(data.x);
    expect(g.length).toBe(data.x.rows * 2 * 3);
    let spread = 0;
    for (let i = 0; i < data.x.rows * 2; i++) {
      const row = g.subarray(i * 3, i * 3 + 3);
      expect(Math.abs(row[0]! + row[1]! + row[2]! - 1)).toBeLessThan(1e-6);
      for (const v of row) expect(v).toBeGreaterThan(0);
      spread = Math.max(spread, Math.abs(row[0]! - g[(i % 2) * 3]!));
    }
    expect(spread).toBeGreaterThan(1e-3);
    net.dispose();
  });

  it('relations: gate_mean per task and expert (layer = expert), gate_similarity as the mean Bhattacharyya coefficient', async () => {
    const { data } = cohort();
    const net = mmoe.create(networkSpec({ experts: 3, hidden: [8] }, TASKS, data.x.cols)) as MmoeNetwork;
    await train(net, data, training);
    const x = selectRows(data.x, data.train);
    const relations = net.relations(x);
    expect(net.relations()).toEqual([]);
    const g = net.gateWeights(x);
    const n = x.rows;
    const means = relations.filter((r) => r.kind === 'gate_mean');
    expect(means.length).toBe(6);
    for (const r of means) {
      const t = TASKS.indexOf(r.taskA);
      let s = 0;
      for (let i = 0; i < n; i++) s += g[(i * 2 + t) * 3 + r.layer! - 1]!;
      expect(r.taskB).toBeNull();
      expect(r.value).toBeCloseTo(s / n, 6);
    }
    for (const task of TASKS) {
      const sum = means.filter((r) => r.taskA === task).reduce((s, r) => s + r.value, 0);
      expect(sum).toBeCloseTo(1, 6);
    }
    const sim = relations.filter((r) => r.kind === 'gate_similarity');
    expect(sim.map((r) => [r.taskA, r.taskB])).toEqual([
      ['common', 'common'],
      ['common', 'rare'],
      ['rare', 'common'],
      ['rare', 'rare'],
    ]);
    expect(sim[0]!.value).toBeCloseTo(1, 6);
    expect(sim[3]!.value).toBeCloseTo(1, 6);
    expect(sim[1]!.value).toBe(sim[2]!.value);
    // by hand for unit 0: sum_k sqrt(g_0k g_1k)
    const one = selectRows(x, Int32Array.of(0));
    const g0 = net.gateWeights(one);
    const bc = [0, 1, 2].reduce((s, k) => s + Math.sqrt(g0[k]! * g0[3 + k]!), 0);
    expect(
      net.relations(one).find((r) => r.kind === 'gate_similarity' && r.taskA !== r.taskB)!.value,
    ).toBeCloseTo(bc, 6);
    expect(sim[1]!.value).toBeLessThan(1);
    expect(sim[1]!.value).toBeGreaterThan(0);
    net.dispose();
  });

  it('exports to plain tfjs layers with the scores of predict (within 1e-5); fromWeights round-trips', async () => {
    const { data } = cohort();
    const tasks = ['common', 'rare', 'third'];
    const data3 = {
      ...data,
      tasks,
      y: Float32Array.from(
        { length: data.x.rows * 3 },
        (_, i) => data.y[Math.floor(i / 3) * 2 + ((i % 3) % 2)]!,
      ),
    };
    const config = { experts: 3, hidden: [8, 5], tower: [4], activation: 'elu' };
    const net = mmoe.create(networkSpec(config, tasks, data.x.cols));
    await train(net, data3, { ...training, epochs: 1 });
    const scores = net.predict(data.x);
    const exported = await net.exportLayers();
    const topology = JSON.stringify(exported.modelTopology);
    expect(topology).not.toMatch(/Lambda|Custom/);
    expect(maxAbsDiff(await exportedScores(net, data.x), scores)).toBeLessThan(1e-5);
    const again = mmoe.fromWeights(
      networkSpec(config, tasks, data.x.cols),
      namedWeights(exported.weightSpecs, exported.weightData),
    );
    expect(again.predict(data.x)).toEqual(scores);
    const [a, b] = [net.snapshot(), again.snapshot()];
    expect(b.length).toBe(a.length);
    for (const [i, w] of a.entries()) expect(b[i]).toEqual(w);
    net.dispose();
    again.dispose();
  });

  it('warm start copies the experts and the gates of tasks in both runs (rows by term); refuses other experts', async () => {
    const { data } = cohort();
    const V = data.x.cols;
    const source = mmoe.create(networkSpec({ experts: 2, hidden: [6, 4] }, ['rare', 'common'], V, 1));
    const exported = await source.exportLayers();
    const weights = namedWeights(exported.weightSpecs, exported.weightData);
    const vocabulary = Array.from({ length: V }, (_, i) => `t${i}`);
    // the new vocabulary: the source's terms 0..V-11 in reverse order, then 10 new terms
    const targetVocabulary = [
      ...vocabulary.slice(0, V - 10).reverse(),
      ...Array.from({ length: 10 }, (_, i) => `new${i}`),
    ];
    const targetTasks = ['common', 'other'];
    const config = { experts: 2, hidden: [6, 4] };
    const src = { runId: 7, architecture: 'mmoe', config, tasks: ['rare', 'common'], vocabulary, weights };
    const plan = mmoe.warmStart(src, {
      config: { ...config, tower: [3] },
      tasks: targetTasks,
      vocabulary: targetVocabulary,
    });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.sharedTerms).toBe(V - 10);
    const target = mmoe.create(networkSpec({ ...config, tower: [3] }, targetTasks, V, 9));
    const fresh = target.first.weights.slice();
    plan.apply(target);
    const W = target.first.weights;
    const width = target.firstWidth;
    expect(width).toBe(2 * 6 + 2 * 2);
    const row = 3; // target term of row 3 is source term V-11-3
    const sourceRow = V - 11 - 3;
    const e2 = weights.get('expert_2_1/kernel')!;
    expect([...W.subarray(row * width + 6, row * width + 12)]).toEqual([
      ...e2.subarray(sourceRow * 6, sourceRow * 6 + 6),
    ]);
    // task 'common' is source task 2, target task 1: its gate is copied; 'other' keeps fresh weights
    const gate = weights.get('gate_2/kernel')!;
    expect([...W.subarray(row * width + 12, row * width + 14)]).toEqual([
      ...gate.subarray(sourceRow * 2, sourceRow * 2 + 2),
    ]);
    expect([...W.subarray(row * width + 14, row * width + 16)]).toEqual([
      ...fresh.subarray(row * width + 14, row * width + 16),
    ]);
    // a new term keeps its fresh row
    const last = V - 1;
    expect([...W.subarray(last * width, (last + 1) * width)]).toEqual([
      ...fresh.subarray(last * width, (last + 1) * width),
    ]);
    expect(target.params.values('expert_1_2/kernel')).toEqual(weights.get('expert_1_2/kernel'));
    const refused = mmoe.warmStart(src, {
      config: { experts: 3, hidden: [6, 4] },
      tasks: targetTasks,
      vocabulary,
    });
    expect(refused).toEqual({ ok: false, reason: 'run 7 has 2 experts of [6, 4], this run 3 of [6, 4]' });
    source.dispose();
    target.dispose();
  });

  it('rejects bad options with one line naming the option', () => {
    const resolve = (c: Record<string, unknown>) => () => mmoe.resolveConfig(c);
    expect(resolve({ experts: 0 })).toThrow(new UsageError('experts must be an integer from 1 to 64, got 0'));
    expect(resolve({ experts: 2.5 })).toThrow(/^experts must be/);
    expect(resolve({ tower: [0] })).toThrow(/^tower must be/);
    expect(resolve({ hidden: [] })).toThrow(/^hidden must be/);
    expect(resolve({ gates: 2 })).toThrow(/^mmoe has no option 'gates'/);
    expect(
      () => new NeuralModel({ architecture: 'mmoe', architectureConfig: { experts: 0 }, tasks: TASKS }),
    ).toThrow(UsageError);
    expect(mmoe.resolveConfig({})).toEqual({
      experts: 4,
      hidden: [64],
      tower: [],
      activation: 'relu',
      dropout: 0.3,
    });
  });

  it('the CLI refuses zero experts with exit 2 and one line naming the option', async () => {
    const r = await trainWithModelBlock({ architecture: 'mmoe', experts: 0 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/\/model\/experts: must be >= 1, got 0$/m);
  });
});
