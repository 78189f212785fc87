import { beforeAll, describe, expect, it } from 'vitest';
import { crossStitch } from '../../../src/model/architectures/cross-stitch.js';
import type { TowerNetwork } from '../../../src/model/architectures/towers.js';
import { initTensorflow } from '../../../src/model/backend.js';
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
  crossStitch.create(specOf(data, TASKS, { hidden: [8, 6], dropout: 0, ...config })) as TowerNetwork;
/** alpha_l of a cross-stitch network, from its parameters. */
const alphaOf = (network: TowerNetwork, l: number) => network.params.values(`cross_stitch_${l}/alpha`);

describe('cross_stitch', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('mixing fixed to the identity equals independent towers; trained mixing does not', async () => {
    const fixed = create({ alpha_same: 1, mixing_trainable: false });
    expect(Array.from(alphaOf(fixed, 1))).toEqual([1, 0, 0, 1]);
    expect(await differenceFromIndependentTowers(fixed, data)).toBeLessThan(1e-6);
    expect(Array.from(alphaOf(fixed, 2))).toEqual([1, 0, 0, 1]);
    fixed.dispose();
    const mixed = create({});
    expect(await differenceFromIndependentTowers(mixed, data)).toBeGreaterThan(1e-3);
    mixed.dispose();
  });

  it("alpha starts at Misra et al.'s (0.9, 0.1), rows summing to 1, and learns faster in its own parameter group", async () => {
    const three = crossStitch.create(specOf(data, ['a', 'b', 'c'], { hidden: [4] })) as TowerNetwork;
    expect(Array.from(alphaOf(three, 1), (v) => Number(v.toFixed(6)))).toEqual([
      0.9, 0.05, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.9,
    ]);
    three.dispose();
    const moved = async (scale: number) => {
      const network = create({ mixing_learning_rate_scale: scale });
      const before = alphaOf(network, 1);
      expect(network.params.get('cross_stitch_1/alpha').group).toBe('mixing');
      await train(network, data);
      const after = alphaOf(network, 1);
      network.dispose();
      return Math.max(...Array.from(after, (v, i) => Math.abs(v - before[i]!)));
    };
    const slow = await moved(1);
    const fast = await moved(10);
    // Adam moves each weight by about the learning rate per step: 3 epochs of 5 steps at 0.01 or 0.1
    expect(slow).toBeGreaterThan(0);
    expect(slow).toBeLessThanOrEqual(15 * 0.01 * 1.01);
    expect(fast).toBeGreaterThan(3 * slow);
  });

  it('cross_stitch_alpha relations: alpha_l[a, b] for every layer and ordered task pair', async () => {
    const network = create({});
    await train(network, data, { epochs: 1, batchSize: 64, learningRate: 0.01, seed: 5 });
    const relations = network.relations();
    expect(relations.length).toBe(2 * 4);
    for (const l of [1, 2]) {
      const alpha = alphaOf(network, l);
      expect(relations.filter((r) => r.layer === l)).toEqual([
        { kind: 'cross_stitch_alpha', layer: l, taskA: 'common', taskB: 'common', value: alpha[0] },
        { kind: 'cross_stitch_alpha', layer: l, taskA: 'common', taskB: 'rare', value: alpha[1] },
        { kind: 'cross_stitch_alpha', layer: l, taskA: 'rare', taskB: 'common', value: alpha[2] },
        { kind: 'cross_stitch_alpha', layer: l, taskA: 'rare', taskB: 'rare', value: alpha[3] },
      ]);
    }
    network.dispose();
  });

  it('exports to plain tfjs layers with the scores of predict (1e-5) and rebuilds from the export', async () => {
    await expectExports(crossStitch, data, [create({}), create({ hidden: [5], activation: 'tanh' })], {
      hidden: [4],
    });
  });

  it('warm-starts the towers by task and term, the cross-stitch units when the tasks are the same; or says why not', async () => {
    const network = create({});
    const source = await expectTowerWarmStarts(crossStitch, network, data, { hidden: [8] });
    const same = crossStitch.warmStart(source, {
      config: source.config,
      tasks: TASKS,
      vocabulary: source.vocabulary,
    });
    expect(same.ok && same.copied).toBe('the towers of common, rare, the cross-stitch units');
    const target = create({});
    if (same.ok) same.apply(target);
    for (const l of [1, 2]) expect(Array.from(alphaOf(target, l))).toEqual(Array.from(alphaOf(network, l)));
    target.dispose();
    network.dispose();
  });

  it('refuses bad options with one line naming the option', () => {
    const bad = (config: Record<string, unknown>) => () => crossStitch.resolveConfig(config);
    expect(bad({ alpha_same: 1.5 })).toThrow(/^alpha_same must be a number >= 0 and <= 1, got 1.5$/);
    expect(bad({ mixing_learning_rate_scale: 0 })).toThrow(
      /^mixing_learning_rate_scale must be a number > 0, got 0$/,
    );
    expect(bad({ mixing_trainable: 1 })).toThrow(/^mixing_trainable must be true or false, got 1$/);
    expect(bad({ dropout: 1 })).toThrow(/^dropout must be in \[0, 1\), got 1$/);
    expect(bad({ coupling: 'l2' })).toThrow(/^cross_stitch has no option 'coupling' \(options: /);
    expect(crossStitch.resolveConfig({})).toEqual({
      hidden: [64],
      activation: 'relu',
      dropout: 0.3,
      alpha_same: 0.9,
      mixing_learning_rate_scale: 10,
      mixing_trainable: true,
    });
  });
});
