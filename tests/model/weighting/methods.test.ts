import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { Random } from '../../../src/model/random.js';
import { dot, type WeightingContext } from '../../../src/model/weighting/abstract-weighting.js';
import { DynamicWeightAverage, dwaWeights } from '../../../src/model/weighting/dwa.js';
import { GradNormWeighting } from '../../../src/model/weighting/gradnorm.js';
import {
  checkWeightingConfig,
  createWeighting,
  describeWeightingMethods,
  weightingMethods,
} from '../../../src/model/weighting/index.js';
import { PCGRAD_SALT, PCGradWeighting } from '../../../src/model/weighting/pcgrad.js';
import { RandomLossWeighting } from '../../../src/model/weighting/rlw.js';
import { UncertaintyWeighting } from '../../../src/model/weighting/uncertainty.js';

/** The defining property of each task weighting method, on the method alone (no network). */

const context = (tasks: string[], extra: Partial<WeightingContext> = {}): WeightingContext => ({
  tasks,
  mainTasks: tasks.filter((t) => t !== 'gender'),
  seed: 3,
  learningRate: 0.01,
  ...extra,
});

const counts = (...c: number[]) => Float32Array.from(c);

describe('registry and options', () => {
  it('registers the six methods, fixed first (the default)', () => {
    expect(weightingMethods()).toEqual(['fixed', 'uncertainty', 'dwa', 'gradnorm', 'pcgrad', 'rlw']);
    expect(createWeighting(undefined, context(['a', 'b'])).name).toBe('fixed');
    expect(describeWeightingMethods().map((l) => l.split(':')[0])).toEqual(weightingMethods());
    expect(describeWeightingMethods()[2]).toContain('temperature (default 2)');
  });

  it('refuses an unknown method or option, or an option out of range, naming the JSON path', () => {
    const bad: [unknown, string][] = [
      [
        { method: 'equal' },
        "/training/weighting/method: unknown task weighting 'equal' (known: fixed, uncertainty, dwa, gradnorm, pcgrad, rlw)",
      ],
      [{ method: 'dwa', temperature: -1 }, '/training/weighting/temperature: must be > 0, got -1'],
      [{ method: 'dwa', temperature: 0 }, '/training/weighting/temperature: must be > 0, got 0'],
      [{ method: 'gradnorm', alpha: -0.5 }, '/training/weighting/alpha: must be >= 0, got -0.5'],
      [{ method: 'gradnorm', alpha: 'high' }, '/training/weighting/alpha: must be number, got "high"'],
      [{ method: 'dwa', tau: 2 }, "/training/weighting: dwa has no option 'tau' (options: temperature)"],
      [
        { method: 'rlw', temperature: 2 },
        "/training/weighting: rlw has no option 'temperature' (options: none)",
      ],
      [{ method: 'fixed', weights: { a: -1 } }, '/training/weighting/weights/a: must be >= 0, got -1'],
      [{ method: 'uncertainty', learning_rate: 0 }, '/training/weighting/learning_rate: must be > 0, got 0'],
      [
        { temperature: 2 },
        '/training/weighting/method: must name a task weighting (known: fixed, uncertainty, dwa, gradnorm, pcgrad, rlw)',
      ],
    ];
    for (const [value, message] of bad) {
      expect(() => checkWeightingConfig(value), JSON.stringify(value)).toThrow(UsageError);
      expect(() => checkWeightingConfig(value), JSON.stringify(value)).toThrow(message);
    }
    expect(() => createWeighting({ method: 'dwa', temperature: -2 }, context(['a']))).toThrow(
      '/training/weighting/temperature: must be > 0, got -2',
    );
    expect(checkWeightingConfig({ method: 'gradnorm', alpha: 0 })).toEqual({ method: 'gradnorm', alpha: 0 });
  });
});

describe('fixed', () => {
  it('gives the configured weights, as before the weighting methods (main_weight, aux_weight, per task)', () => {
    const tasks = ['anxiety', 'depression', 'gender'];
    expect(Array.from(createWeighting({ method: 'fixed' }, context(tasks)).batchWeights())).toEqual([
      1, 1, 1,
    ]);
    const w = createWeighting(
      { method: 'fixed', main_weight: 2, aux_weight: 0.5, weights: { depression: 3 } },
      context(tasks),
    );
    expect(Array.from(w.batchWeights())).toEqual([2, 3, 0.5]);
  });
});

describe('uncertainty (Kendall, Gal & Cipolla 2018, classification form)', () => {
  it('learns sigma^2 = 2 L per task (the stationary point of exp(-s) L + s/2): the noisier task the larger', () => {
    const u = new UncertaintyWeighting(context(['clean', 'noisy', 'unlabelled']), { learning_rate: 0.05 });
    expect(Array.from(u.batchWeights())).toEqual([1, 1, 1]);
    for (let step = 0; step < 3000; step++) {
      u.afterBatch({ losses: Float32Array.from([0.1, 0.5, 0]), counts: counts(8, 8, 0) });
    }
    const v = u.variances;
    expect(v[0]).toBeCloseTo(0.2, 2);
    expect(v[1]).toBeCloseTo(1.0, 2);
    expect(v[1]!).toBeGreaterThan(v[0]!);
    // the weights are 1 / sigma^2; a task never labelled keeps s = 0 (weight 1), no NaN
    const w = u.batchWeights();
    expect(w[0]).toBeCloseTo(5, 1);
    expect(w[1]).toBeCloseTo(1, 1);
    expect(w[2]).toBe(1);
  });
});

describe('dwa (Liu, Johns & Davison 2019)', () => {
  it('weights are K softmax(r / T), r the ratio of the last two epoch losses (values from torch)', () => {
    const history = [Float32Array.from([0.8, 0.5, 0.3]), Float32Array.from([0.6, 0.45, 0.33])];
    // /usr/bin/python3: r = L[1] / L[0]; 3 * torch.nn.functional.softmax(torch.tensor(r / T), -1)
    const expected: Record<number, number[]> = {
      2: [0.9176752416566827, 0.9891475986409626, 1.0931771597023547],
      0.5: [0.6875039149693976, 0.928033214864425, 1.3844628701661772],
    };
    for (const [T, values] of Object.entries(expected)) {
      const d = new DynamicWeightAverage(context(['a', 'b', 'c']), { temperature: Number(T) });
      d.beginEpoch({ epoch: 3, taskLossHistory: history });
      const w = d.batchWeights();
      for (const [k, v] of values.entries()) expect(w[k]).toBeCloseTo(v, 6);
    }
    // the default temperature is the paper's 2
    const d = new DynamicWeightAverage(context(['a', 'b', 'c']));
    d.beginEpoch({ epoch: 3, taskLossHistory: history });
    expect(d.batchWeights()[2]).toBeCloseTo(expected[2]![2]!, 6);
  });

  it('is 1 in the first two epochs; a task without labels in an epoch (loss 0) takes r = 1, no NaN', () => {
    const d = new DynamicWeightAverage(context(['a', 'b']));
    d.beginEpoch({ epoch: 1, taskLossHistory: [] });
    expect(Array.from(d.batchWeights())).toEqual([1, 1]);
    d.beginEpoch({ epoch: 2, taskLossHistory: [Float32Array.from([0.7, 0.6])] });
    expect(Array.from(d.batchWeights())).toEqual([1, 1]);
    const w = dwaWeights([Float32Array.from([0.5, 0]), Float32Array.from([0.25, 0])], 2, 2);
    // r = [0.5, 1]: 2 softmax([0.25, 0.5])
    const e = [Math.exp(0.25), Math.exp(0.5)];
    expect(w[0]).toBeCloseTo((2 * e[0]!) / (e[0]! + e[1]!), 6);
    expect(w[1]).toBeCloseTo((2 * e[1]!) / (e[0]! + e[1]!), 6);
  });
});

describe('gradnorm (Chen et al. 2018)', () => {
  const relativeGap = (G: number[], target: number[]) =>
    Math.max(...G.map((g, i) => Math.abs(g - target[i]!) / target[i]!));

  it('moves the weighted gradient norms toward equal when the tasks train at the same rate', () => {
    const g = new GradNormWeighting(context(['a', 'b']), { learning_rate: 0.01 });
    const grads = [Float32Array.from([1, 0]), Float32Array.from([0, 3])];
    const gaps: number[] = [];
    for (let step = 0; step < 600; step++) {
      const w = g.batchWeights();
      const out = g.combineGradients(grads, { losses: Float32Array.from([0.7, 0.7]), counts: counts(4, 4) });
      // the update of the shared layers is sum_t w_t g_t with the weights before the step
      expect(Array.from(out.weights)).toEqual(Array.from(w));
      expect(Array.from(out.gradient)).toEqual([w[0]!, 3 * w[1]!].map(Math.fround));
      const G = [w[0]!, 3 * w[1]!];
      const mean = (G[0]! + G[1]!) / 2;
      gaps.push(relativeGap(G, [mean, mean]));
      g.afterBatch({ losses: Float32Array.from([0.7, 0.7]), counts: counts(4, 4) });
    }
    expect(gaps[0]).toBeCloseTo(0.5, 6);
    expect(gaps[100]!).toBeLessThan(gaps[0]!);
    expect(gaps.at(-1)!).toBeLessThan(0.03);
    const w = g.batchWeights();
    expect(w[0]! + w[1]!).toBeCloseTo(2, 5);
    expect(w[0]).toBeCloseTo(1.5, 1);
  });

  it('moves the norms toward mean(G) r^alpha: the task that trains slower gets the larger norm', () => {
    // alpha 1 and r = [4/3, 2/3] (sum 2): the targets are reachable together, G_slow / G_fast = 2
    const g = new GradNormWeighting(context(['slow', 'fast']), { alpha: 1, learning_rate: 0.01 });
    const grads = [Float32Array.from([1, 1]), Float32Array.from([1, -1])];
    const norm = Math.SQRT2;
    g.combineGradients(grads, { losses: Float32Array.from([0.8, 0.8]), counts: counts(4, 4) }); // L(0)
    g.afterBatch({ losses: Float32Array.from([0.8, 0.8]), counts: counts(4, 4) });
    // L / L(0) = [0.5, 0.25], mean 0.375: r = [4/3, 2/3]
    const gaps: number[] = [];
    for (let step = 0; step < 400; step++) {
      const w = g.batchWeights();
      const G = [w[0]! * norm, w[1]! * norm];
      const mean = (G[0]! + G[1]!) / 2;
      gaps.push(relativeGap(G, [(mean * 4) / 3, (mean * 2) / 3]));
      g.combineGradients(grads, { losses: Float32Array.from([0.4, 0.2]), counts: counts(4, 4) });
      g.afterBatch({ losses: Float32Array.from([0.4, 0.2]), counts: counts(4, 4) });
    }
    expect(gaps[0]!).toBeGreaterThan(0.2);
    expect(gaps[50]!).toBeLessThan(gaps[0]!);
    expect(gaps.at(-1)!).toBeLessThan(0.03);
    const w = g.batchWeights();
    expect(w[0]! / w[1]!).toBeCloseTo(2, 1);
    expect(w[0]! + w[1]!).toBeCloseTo(2, 5);
  });

  it('leaves a task without labels out: its weight does not move, the others keep their sum, no NaN', () => {
    const g = new GradNormWeighting(context(['a', 'b', 'none']), { learning_rate: 0.01 });
    const grads = [Float32Array.from([1, 0]), Float32Array.from([0, 2]), new Float32Array(2)];
    for (let step = 0; step < 50; step++) {
      const out = g.combineGradients(grads, {
        losses: Float32Array.from([0.7, 0.6, 0]),
        counts: counts(4, 4, 0),
      });
      expect(out.gradient.every(Number.isFinite)).toBe(true);
      g.afterBatch({ losses: Float32Array.from([0.7, 0.6, 0]), counts: counts(4, 4, 0) });
    }
    const w = g.batchWeights();
    expect(w[2]).toBe(1);
    expect(w[0]! + w[1]!).toBeCloseTo(2, 5);
    expect(w[0]!).toBeGreaterThan(1);
  });
});

describe('pcgrad (Yu et al. 2020)', () => {
  it('two tasks with opposed gradients: the combined gradient has no negative inner product with either', () => {
    const p = new PCGradWeighting(context(['a', 'b']));
    const g1 = Float32Array.from([2, 0.5, -0.2, 0]);
    const g2 = Float32Array.from([-0.8, 0.1, 0.3, 0.4]);
    expect(dot(g1, g2)).toBeLessThan(0);
    const { gradient, weights } = p.combineGradients([g1, g2], {
      losses: Float32Array.from([0.5, 0.5]),
      counts: counts(2, 2),
    });
    expect(dot(gradient, g1)).toBeGreaterThanOrEqual(0);
    expect(dot(gradient, g2)).toBeGreaterThanOrEqual(0);
    // the plain sum conflicts with g2; the surgery's is the linear combination w1 g1 + w2 g2, w >= 1
    expect(
      dot(
        Float32Array.from(g1, (v, k) => v + g2[k]!),
        g2,
      ),
    ).toBeLessThan(0);
    for (const [k, v] of gradient.entries())
      expect(v).toBeCloseTo(weights[0]! * g1[k]! + weights[1]! * g2[k]!, 6);
    expect(weights[0]!).toBeGreaterThan(1);
    expect(weights[1]!).toBeGreaterThan(1);
    // by hand: g1.g2 = -1.61, |g1|^2 = 4.29, |g2|^2 = 0.9: w = [1 + 1.61/4.29, 1 + 1.61/0.9]
    expect(weights[0]).toBeCloseTo(1 + 1.61 / 4.29, 5);
    expect(weights[1]).toBeCloseTo(1 + 1.61 / 0.9, 5);
  });

  it('holds on random opposed gradients too, and leaves gradients that do not conflict summed', () => {
    const r = new Random(11);
    const p = new PCGradWeighting(context(['a', 'b']));
    for (let trial = 0; trial < 200; trial++) {
      const g1 = Float32Array.from({ length: 32 }, () => r.normal());
      const g2 = Float32Array.from({ length: 32 }, () => r.normal());
      const { gradient, weights } = p.combineGradients([g1, g2], {
        losses: Float32Array.from([1, 1]),
        counts: counts(1, 1),
      });
      const scale = Math.sqrt(dot(g1, g1) * dot(g2, g2));
      expect(dot(gradient, g1) / scale).toBeGreaterThan(-1e-6);
      expect(dot(gradient, g2) / scale).toBeGreaterThan(-1e-6);
      if (dot(g1, g2) >= 0) {
        expect(Array.from(weights)).toEqual([1, 1]);
        expect(Array.from(gradient)).toEqual(Array.from(g1, (v, k) => Math.fround(v + g2[k]!)));
      }
    }
  });

  it('equals Algorithm 1 of the paper done on the vectors, for four tasks (same seeded task orders)', () => {
    const r = new Random(21);
    const T = 4;
    const grads = Array.from({ length: T }, () => Float32Array.from({ length: 24 }, () => r.normal()));
    const batch = { losses: Float32Array.from([1, 1, 1, 1]), counts: counts(2, 2, 2, 2) };
    const seed = 9;
    const p = new PCGradWeighting(context(['a', 'b', 'c', 'd'], { seed }));
    const order = new Random(seed ^ PCGRAD_SALT);
    for (let step = 0; step < 3; step++) {
      // the paper, literally: g_i^PC projected in turn on the normal plane of each conflicting g_j
      const expected = new Float64Array(24);
      for (let i = 0; i < T; i++) {
        const pc = Float64Array.from(grads[i]!);
        const others = [0, 1, 2, 3].filter((j) => j !== i);
        order.shuffle(others);
        for (const j of others) {
          const d = dot(pc, grads[j]!);
          if (d < 0) for (let k = 0; k < 24; k++) pc[k]! -= (d / dot(grads[j]!, grads[j]!)) * grads[j]![k]!;
        }
        for (let k = 0; k < 24; k++) expected[k]! += pc[k]!;
      }
      const { gradient } = p.combineGradients(grads, batch);
      for (let k = 0; k < 24; k++) expect(gradient[k]).toBeCloseTo(expected[k]!, 5);
    }
  });

  it('draws the task order from the seed: same seed, same result', () => {
    const r = new Random(5);
    const grads = Array.from({ length: 4 }, () => Float32Array.from({ length: 16 }, () => r.normal()));
    const batch = { losses: Float32Array.from([1, 1, 1, 1]), counts: counts(1, 1, 1, 1) };
    const run = (seed: number) => {
      const p = new PCGradWeighting(context(['a', 'b', 'c', 'd'], { seed }));
      return Array.from({ length: 5 }, () => Array.from(p.combineGradients(grads, batch).gradient));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('a task without labels (zero gradient) projects nothing and takes nothing, no NaN', () => {
    const p = new PCGradWeighting(context(['a', 'b']));
    const g1 = Float32Array.from([1, -2]);
    const { gradient, weights } = p.combineGradients([g1, new Float32Array(2)], {
      losses: Float32Array.from([0.4, 0]),
      counts: counts(3, 0),
    });
    expect(Array.from(gradient)).toEqual([1, -2]);
    expect(Array.from(weights)).toEqual([1, 1]);
  });
});

describe('rlw (Lin et al. 2022)', () => {
  it('the same seed gives the same weights; another seed others', () => {
    const draw = (seed: number) => {
      const m = new RandomLossWeighting(context(['a', 'b', 'c'], { seed }));
      return Array.from({ length: 20 }, () => Array.from(m.batchWeights()));
    };
    const a = draw(4);
    expect(draw(4)).toEqual(a);
    expect(draw(5)).not.toEqual(a);
    // new weights every batch, K softmax(z): positive, summing to K
    expect(a[0]).not.toEqual(a[1]);
    for (const w of a) {
      expect(w.every((v) => v > 0)).toBe(true);
      expect(w.reduce((s, v) => s + v, 0)).toBeCloseTo(3, 5);
    }
  });

  it('averages 1 per task over many batches (z ~ N(0, I) is exchangeable)', () => {
    const m = new RandomLossWeighting(context(['a', 'b', 'c']));
    const sum = [0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) {
      for (const [k, v] of m.batchWeights().entries()) sum[k]! += v;
    }
    for (const s of sum) expect(s / n).toBeCloseTo(1, 1);
  });
});
