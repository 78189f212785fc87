import { beforeAll, describe, expect, it } from 'vitest';
import { softSharing } from '../../../src/model/architectures/soft-sharing.js';
import type { TowerNetwork } from '../../../src/model/architectures/towers.js';
import { initTensorflow } from '../../../src/model/backend.js';
import { NeuralModel } from '../../../src/model/neural-model.js';
import {
  gramOfRows,
  traceNormFromGram,
  traceNormGradientMatrix,
  traceNormSmoothing,
} from '../../../src/model/regularizers/trace-norm.js';
import {
  differenceFromIndependentTowers,
  expectExports,
  expectTowerWarmStarts,
  specOf,
  TASKS,
  towerData,
  train,
} from './tower-helpers.js';

const data = towerData();
const create = (config: Record<string, unknown>) =>
  softSharing.create(specOf(data, TASKS, { hidden: [8, 6], dropout: 0, ...config })) as TowerNetwork;

/** Mean over task pairs of ||W_a^l - W_b^l||_F, per layer, from the network's relations. */
function meanDistances(network: TowerNetwork): number[] {
  const rows = network.relations().filter((r) => r.kind === 'tower_distance');
  const layers = [...new Set(rows.map((r) => r.layer!))];
  return layers.map((l) => {
    const v = rows.filter((r) => r.layer === l).map((r) => r.value);
    return v.reduce((a, b) => a + b, 0) / v.length;
  });
}

describe('soft_sharing', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('with coupling 0 the towers equal single-task networks trained alone from the same initial weights', async () => {
    for (const coupling of ['l2', 'trace_norm']) {
      const network = create({ coupling, coupling_strength: 0 });
      expect(network.first.kernel).toBe('wasm-simd');
      expect(await differenceFromIndependentTowers(network, data)).toBeLessThan(1e-6);
      network.dispose();
    }
    // and with a coupling they are not
    const coupled = create({ coupling: 'l2', coupling_strength: 0.05 });
    expect(await differenceFromIndependentTowers(coupled, data)).toBeGreaterThan(1e-3);
    coupled.dispose();
  });

  it('l2: the distance between towers shrinks as the coupling grows, in the sparse first layer and the tfjs layers', async () => {
    const distances: number[][] = [];
    for (const strength of [0, 0.01, 0.1]) {
      const network = create({ coupling: 'l2', coupling_strength: strength, couple_heads: true });
      await train(network, data);
      distances.push(meanDistances(network));
      network.dispose();
    }
    expect(distances[0]!.length).toBe(3);
    for (let l = 0; l < 3; l++) {
      expect(distances[1]![l]!, `layer ${l + 1}`).toBeLessThan(distances[0]![l]!);
      expect(distances[2]![l]!, `layer ${l + 1}`).toBeLessThan(distances[1]![l]!);
    }
  });

  it("trace norm: each layer's stacked kernels have a smaller trace norm as the coupling grows; towers get closer", async () => {
    const traceNorms: number[][] = [];
    const distances: number[][] = [];
    for (const strength of [0, 0.01, 0.1]) {
      const network = create({ coupling: 'trace_norm', coupling_strength: strength });
      expect(network.first.kernel).toBe('wasm-simd');
      await train(network, data);
      traceNorms.push(
        [1, 2].map((l) =>
          traceNormFromGram(gramOfRows(TASKS.map((_, t) => network.towerKernel(t, l))), TASKS.length),
        ),
      );
      distances.push(meanDistances(network));
      network.dispose();
    }
    for (let l = 0; l < 2; l++) {
      expect(traceNorms[1]![l]!, `layer ${l + 1}`).toBeLessThan(traceNorms[0]![l]!);
      expect(traceNorms[2]![l]!, `layer ${l + 1}`).toBeLessThan(traceNorms[1]![l]!);
      expect(distances[2]![l]!, `layer ${l + 1}`).toBeLessThan(distances[0]![l]!);
    }
  });

  it("the packed first layer's coupling: l2's I - 11^T/T at 2 lambda; the trace norm's P of the towers' Gram matrix, held for an epoch", () => {
    const l2 = create({ coupling: 'l2', coupling_strength: 0.1 });
    const mix = l2.firstLayerRegularization(0.5).blockMix!;
    expect({ ...mix, matrix: Array.from(mix.matrix) }).toEqual({
      blocks: 2,
      matrix: [0.5, -0.5, -0.5, 0.5],
      strength: 0.2,
    });
    expect(l2.firstLayerRegularization(0.5).decay).toBe(1);
    l2.dispose();
    const network = create({ coupling: 'trace_norm', coupling_strength: 0.1 });
    const expected = () => {
      const gram = gramOfRows(TASKS.map((_, t) => network.firstLayerKernel(t)));
      return Array.from(traceNormGradientMatrix(gram, 2, traceNormSmoothing(gram, 2)));
    };
    const p0 = expected();
    expect(Array.from(network.firstLayerRegularization(0).blockMix!.matrix)).toEqual(p0);
    expect(network.firstLayerRegularization(0).blockMix!.strength).toBe(0.1);
    // new first-layer weights: P is held until the epoch ends
    network.first.setWeights(
      network.first.weights.map((v, i) => v * (1 + (i % 3))),
      network.first.bias,
    );
    expect(Array.from(network.firstLayerRegularization(0).blockMix!.matrix)).toEqual(p0);
    network.endEpoch(1);
    const p1 = expected();
    expect(p1).not.toEqual(p0);
    expect(Array.from(network.firstLayerRegularization(0).blockMix!.matrix)).toEqual(p1);
    network.dispose();
  });

  it('tower_distance: the Frobenius distance of each layer (heads too when coupled), both orders', () => {
    const network = create({ couple_heads: true });
    const relations = network.relations();
    expect(relations.length).toBe(3 * 2);
    const [a, b] = [network.towerKernel(0, 2), network.towerKernel(1, 2)];
    const d = Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
    expect(relations.filter((r) => r.layer === 2)).toEqual([
      { kind: 'tower_distance', layer: 2, taskA: 'common', taskB: 'rare', value: d },
      { kind: 'tower_distance', layer: 2, taskA: 'rare', taskB: 'common', value: d },
    ]);
    network.dispose();
    const uncoupledHeads = create({});
    expect(new Set(uncoupledHeads.relations().map((r) => r.layer))).toEqual(new Set([1, 2]));
    uncoupledHeads.dispose();
  });

  it('exports to plain tfjs layers with the scores of predict (1e-5) and rebuilds from the export', async () => {
    const networks = [
      create({ coupling: 'trace_norm', coupling_strength: 0.01, couple_heads: true }),
      create({ coupling_strength: 0.01, hidden: [5] }),
    ];
    await expectExports(softSharing, data, networks, { hidden: [4] });
    // one task (the STL baseline of a soft-sharing run): a plain network, nothing to couple
    for (const coupling of ['l2', 'trace_norm']) {
      const single = softSharing.create(
        specOf(data, ['rare'], { hidden: [4, 3], coupling, coupling_strength: 0.1 }),
      );
      expect(single.penalty()).toBeNull();
      expect(single.firstLayerRegularization(0.5)).toEqual({ decay: 1 });
      expect(single.first.kernel).toBe('wasm-simd');
      single.dispose();
    }
  });

  it('warm-starts the towers of the tasks both runs trained (rows by term), or says why not', async () => {
    const network = create({});
    const source = await expectTowerWarmStarts(softSharing, network, data, { hidden: [8] });
    // across architectures: refused before the architecture is asked
    const model = new NeuralModel({ architecture: 'soft_sharing', tasks: [...TASKS] });
    expect(model.planWarmStart({ ...source, architecture: 'cross_stitch' }, source.vocabulary)).toEqual({
      ok: false,
      reason: 'run 7 used architecture cross_stitch, not soft_sharing',
    });
    network.dispose();
  });

  it('refuses bad options with one line naming the option', () => {
    const bad = (config: Record<string, unknown>) => () => softSharing.resolveConfig(config);
    expect(bad({ coupling: 'l1' })).toThrow(/^coupling must be l2 or trace_norm, got "l1"$/);
    expect(bad({ coupling_strength: -1 })).toThrow(/^coupling_strength must be a number >= 0, got -1$/);
    expect(bad({ couple_heads: 'yes' })).toThrow(/^couple_heads must be true or false, got "yes"$/);
    expect(bad({ hidden: [] })).toThrow(/^hidden must be a non-empty list of positive integers/);
    expect(bad({ mixing: 1 })).toThrow(
      /^soft_sharing has no option 'mixing' \(options: hidden, activation, dropout, coupling, coupling_strength, couple_heads\)$/,
    );
    expect(softSharing.resolveConfig({})).toEqual({
      hidden: [64],
      activation: 'relu',
      dropout: 0.3,
      coupling: 'l2',
      coupling_strength: 0.001,
      couple_heads: false,
    });
  });
});
