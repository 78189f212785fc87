import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sluice } from '../../../src/model/architectures/sluice.js';
import type { TowerNetwork } from '../../../src/model/architectures/towers.js';
import { initTensorflow } from '../../../src/model/backend.js';
import {
  crossSubspaceGram,
  orthogonalityFromCrossGram,
} from '../../../src/model/regularizers/orthogonality.js';
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
  sluice.create(specOf(data, TASKS, { hidden: [8, 8], dropout: 0, ...config })) as TowerNetwork;
const penaltyOf = (network: TowerNetwork) => tf.tidy(() => network.penalty()?.dataSync()[0] ?? 0);

/** A `[4, 4]` kernel whose two subspaces (columns 0-1, 2-3) read e1, e2 and e3 tilted toward e1 by `angle`, e4. */
function tilted(angle: number): Float32Array {
  return Float32Array.from([1, 0, Math.sin(angle), 0, 0, 1, 0, 0, 0, 0, Math.cos(angle), 0, 0, 0, 0, 1]);
}

/** Sum over towers of the subspace orthogonality of layer l's kernel (l = 1: the packed first layer). */
function layerOrthogonality(network: TowerNetwork, l: number): number {
  const h = network.towerOptions.hidden[0]!;
  let s = 0;
  for (let t = 0; t < network.tasks.length; t++) {
    const cross =
      l === 1
        ? crossSubspaceGram(network.first.weights, network.firstWidth, t * h, h, 2)
        : crossSubspaceGram(network.towerKernel(t, l), h, 0, h, 2);
    s += orthogonalityFromCrossGram(cross);
  }
  return s;
}

describe('sluice', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('mixing fixed to the identity (alpha = I, beta on the last layer, no penalty) equals independent towers', async () => {
    const fixed = create({ alpha_same: 1, beta_init: 'last', mixing_trainable: false, orthogonality: 0 });
    expect(fixed.first.kernel).toBe('wasm-simd');
    expect(await differenceFromIndependentTowers(fixed, data)).toBeLessThan(1e-6);
    fixed.dispose();
    const mixed = create({ orthogonality: 0 });
    expect(await differenceFromIndependentTowers(mixed, data)).toBeGreaterThan(1e-3);
    mixed.dispose();
  });

  it('the orthogonality penalty is 0 for orthogonal subspaces and grows as they align (tfjs layers and the packed first layer)', () => {
    const network = sluice.create(
      specOf(data, TASKS, { hidden: [4, 4], orthogonality: 0.5 }),
    ) as TowerNetwork;
    const values: number[] = [];
    const transforms: Float32Array[] = [];
    for (const angle of [0, 0.4, 1.2]) {
      for (const t of [1, 2]) network.params.set(`tower_${t}_2/kernel`, tilted(angle));
      // first layer: every tower reads feature 0 with e1 of subspace 1 and, tilted, with subspace 2
      const w = new Float32Array(network.first.weights.length);
      for (let t = 0; t < 2; t++) {
        const k = tilted(angle);
        for (let r = 0; r < 4; r++) w.set(k.subarray(r * 4, r * 4 + 4), r * network.firstWidth + t * 4);
      }
      network.first.setWeights(w, network.first.bias);
      network.endEpoch(1);
      values.push(penaltyOf(network));
      transforms.push(network.firstLayerRegularization(0).blockTransform!.matrices.slice());
    }
    // two towers x 0.5 x sin^2(angle), by hand
    expect(values[0]).toBe(0);
    expect(values[1]).toBeCloseTo(Math.sin(0.4) ** 2, 6);
    expect(values[2]).toBeCloseTo(Math.sin(1.2) ** 2, 6);
    expect(transforms[0]!.every((v) => v === 0)).toBe(true);
    // A = G^T G with the within-subspace blocks zeroed: only (column 0, column 2) = sin(angle)
    const a = transforms[2]!;
    expect(a[0 * 4 + 2]).toBeCloseTo(Math.sin(1.2), 6);
    expect(a[2 * 4 + 0]).toBeCloseTo(Math.sin(1.2), 6);
    expect(Array.from(a).filter((v) => v !== 0).length).toBe(2 * 2);
    expect(network.firstLayerRegularization(0).blockTransform!.strength).toBe(1);
    network.dispose();
  });

  it('training with the penalty leaves the subspaces closer to orthogonal, in the first layer and the tfjs layer', async () => {
    const measured: number[][] = [];
    for (const orthogonality of [0, 1]) {
      const network = create({ orthogonality });
      expect(network.first.kernel).toBe('wasm-simd');
      await train(network, data);
      measured.push([layerOrthogonality(network, 1), layerOrthogonality(network, 2)]);
      network.dispose();
    }
    expect(measured[1]![0]!).toBeLessThan(measured[0]![0]!);
    expect(measured[1]![1]!).toBeLessThan(measured[0]![1]!);
  });

  it('alpha over subspaces, beta over layers: initial values and the sluice_alpha / sluice_beta relations', async () => {
    const network = create({});
    const alpha = network.params.values('sluice_1/alpha');
    // 2 tasks x 2 subspaces: 0.9 on the diagonal, 0.1 / 3 elsewhere
    expect(Array.from(alpha.subarray(0, 4), (v) => Number(v.toFixed(6)))).toEqual([
      0.9, 0.033333, 0.033333, 0.033333,
    ]);
    expect(Array.from(network.params.values('layer_stitch/beta'))).toEqual([0.5, 0.5, 0.5, 0.5]);
    const imbalanced = create({ beta_init: 'imbalanced', hidden: [4, 4, 4] });
    expect(
      Array.from(imbalanced.params.values('layer_stitch/beta').subarray(0, 3), (v) => Number(v.toFixed(6))),
    ).toEqual([0.05, 0.05, 0.9]);
    imbalanced.dispose();
    await train(network, data, { epochs: 1, batchSize: 64, learningRate: 0.01, seed: 5 });
    const relations = network.relations();
    const a1 = network.params.values('sluice_1/alpha');
    // share of common's subspaces taken from rare's at layer 1: (a[0,2] + a[0,3] + a[1,2] + a[1,3]) / 2
    const share = (a1[2]! + a1[3]! + a1[4 + 2]! + a1[4 + 3]!) / 2;
    expect(
      relations.find(
        (r) => r.kind === 'sluice_alpha' && r.layer === 1 && r.taskA === 'common' && r.taskB === 'rare',
      )!.value,
    ).toBeCloseTo(share, 6);
    expect(relations.filter((r) => r.kind === 'sluice_alpha').length).toBe(2 * 4);
    const beta = network.params.values('layer_stitch/beta');
    expect(relations.filter((r) => r.kind === 'sluice_beta')).toEqual([
      { kind: 'sluice_beta', layer: 1, taskA: 'common', taskB: null, value: beta[0] },
      { kind: 'sluice_beta', layer: 2, taskA: 'common', taskB: null, value: beta[1] },
      { kind: 'sluice_beta', layer: 1, taskA: 'rare', taskB: null, value: beta[2] },
      { kind: 'sluice_beta', layer: 2, taskA: 'rare', taskB: null, value: beta[3] },
    ]);
    expect(beta[0]).not.toBe(0.5);
    network.dispose();
  });

  it('exports to plain tfjs layers with the scores of predict (1e-5) and rebuilds from the export', async () => {
    const networks = [
      create({}),
      create({ hidden: [6], subspaces: 3 }),
      create({ hidden: [4, 4, 4], subspaces: 1 }),
    ];
    await expectExports(sluice, data, networks, { hidden: [4] });
  });

  it('warm-starts the towers by task and term, alpha and beta when tasks and subspaces are the same; or says why not', async () => {
    const network = create({});
    const source = await expectTowerWarmStarts(sluice, network, data, { hidden: [4, 4] });
    const same = sluice.warmStart(source, {
      config: source.config,
      tasks: TASKS,
      vocabulary: source.vocabulary,
    });
    expect(same.ok && same.copied).toBe('the towers of common, rare, the mixing weights (alpha, beta)');
    const target = create({});
    if (same.ok) same.apply(target);
    for (const name of ['sluice_1/alpha', 'sluice_2/alpha', 'layer_stitch/beta'])
      expect(Array.from(target.params.values(name))).toEqual(Array.from(network.params.values(name)));
    target.dispose();
    const other = sluice.warmStart(source, {
      config: { ...source.config, subspaces: 4 },
      tasks: TASKS,
      vocabulary: source.vocabulary,
    });
    expect(other.ok && other.copied).toBe('the towers of common, rare');
    network.dispose();
  });

  it('refuses bad options with one line naming the option', () => {
    const bad = (config: Record<string, unknown>) => () => sluice.resolveConfig(config);
    expect(bad({ hidden: [8, 4] })).toThrow(
      /^sluice: every hidden layer must have the same size \(the heads mix them\), got \[8, 4\]$/,
    );
    expect(bad({ hidden: [9], subspaces: 2 })).toThrow(
      /^sluice: hidden size 9 is not divisible by subspaces 2$/,
    );
    expect(bad({ subspaces: 0 })).toThrow(/^subspaces must be an integer >= 1, got 0$/);
    expect(bad({ beta_init: 'first' })).toThrow(
      /^beta_init must be balanced, imbalanced or last, got "first"$/,
    );
    expect(bad({ orthogonality: -0.1 })).toThrow(/^orthogonality must be a number >= 0, got -0.1$/);
    expect(bad({ coupling: 'l2' })).toThrow(/^sluice has no option 'coupling' \(options: /);
    expect(sluice.resolveConfig({})).toEqual({
      hidden: [64],
      activation: 'relu',
      dropout: 0.3,
      subspaces: 2,
      alpha_same: 0.9,
      beta_init: 'balanced',
      orthogonality: 0.01,
      mixing_learning_rate_scale: 10,
      mixing_trainable: true,
    });
  });
});
