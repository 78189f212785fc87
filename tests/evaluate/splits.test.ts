import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/evaluate/random.js';
import {
  crossValidationSplit,
  holdoutSplit,
  type LabelMatrix,
  SPLIT_DEV,
  SPLIT_TEST,
  SPLIT_TRAIN,
} from '../../src/evaluate/splits.js';

/** A multi-label cohort: prevalences from common to rare, some unknown labels. */
function cohort(units: number, seed: number): LabelMatrix & { prevalence: number[] } {
  const prevalence = [0.3, 0.1, 0.04, 0.01];
  const tasks = ['common', 'medium', 'rare', 'very_rare'];
  const rng = new SeededRandom(seed);
  const y = new Float32Array(units * tasks.length);
  for (let u = 0; u < units; u++) {
    for (let j = 0; j < tasks.length; j++) {
      y[u * tasks.length + j] = rng.next() < 0.05 ? Number.NaN : rng.next() < prevalence[j]! ? 1 : 0;
    }
  }
  return { units, tasks, y, prevalence };
}

function positivesIn(labels: LabelMatrix, pick: (u: number) => boolean, task: number): number {
  let n = 0;
  for (let u = 0; u < labels.units; u++) if (pick(u) && labels.y[u * labels.tasks.length + task] === 1) n++;
  return n;
}

describe('holdout split', () => {
  const labels = cohort(2000, 1);
  const split = holdoutSplit(labels, { seed: 42 });

  it('puts every unit in exactly one split, in the requested proportions', () => {
    expect(split.length).toBe(2000);
    const count = [0, 0, 0];
    for (const s of split) count[s]!++;
    expect(count[SPLIT_TRAIN]! + count[SPLIT_DEV]! + count[SPLIT_TEST]!).toBe(2000);
    expect(Math.abs(count[SPLIT_TRAIN]! - 1400)).toBeLessThanOrEqual(3);
    expect(Math.abs(count[SPLIT_DEV]! - 200)).toBeLessThanOrEqual(3);
    expect(Math.abs(count[SPLIT_TEST]! - 400)).toBeLessThanOrEqual(3);
  });

  it('stratifies every task, rare ones included, with positives in every split', () => {
    for (let j = 0; j < labels.tasks.length; j++) {
      const total = positivesIn(labels, () => true, j);
      for (const [code, ratio] of [
        [SPLIT_TRAIN, 0.7],
        [SPLIT_DEV, 0.1],
        [SPLIT_TEST, 0.2],
      ] as const) {
        const got = positivesIn(labels, (u) => split[u] === code, j);
        expect(Math.abs(got - ratio * total), `${labels.tasks[j]} in split ${code}`).toBeLessThanOrEqual(1);
        expect(got).toBeGreaterThan(0);
      }
    }
  });

  it('is deterministic from the seed', () => {
    expect(holdoutSplit(labels, { seed: 42 })).toEqual(split);
    const other = holdoutSplit(labels, { seed: 43 });
    expect(other).not.toEqual(split);
  });

  it('honours other ratios and refuses bad ones', () => {
    const s = holdoutSplit(labels, { seed: 1, ratios: [0.5, 0, 0.5] });
    expect(s.filter((x) => x === SPLIT_DEV).length).toBe(0);
    expect(Math.abs(s.filter((x) => x === SPLIT_TEST).length - 1000)).toBeLessThanOrEqual(1);
    expect(() => holdoutSplit(labels, { seed: 1, ratios: [0.5, 0.2, 0.2] })).toThrow(/sum to 1/);
    expect(() => holdoutSplit({ units: 3, tasks: ['a'], y: new Float32Array(2) }, { seed: 1 })).toThrow(
      /expected/,
    );
  });
});

describe('k-fold cross-validation', () => {
  const labels = cohort(1500, 2);
  const cv = crossValidationSplit(labels, { seed: 7, folds: 5 });

  it('gives every unit one fold; each fold holds out exactly its units, dev carved from the rest', () => {
    const sizes = [0, 0, 0, 0, 0];
    for (const f of cv.foldIds) sizes[f]!++;
    for (const s of sizes) expect(Math.abs(s - 300)).toBeLessThanOrEqual(2);
    cv.assignments.forEach((a, k) => {
      let dev = 0;
      for (let u = 0; u < labels.units; u++) {
        expect(a[u] === SPLIT_TEST).toBe(cv.foldIds[u] === k);
        if (a[u] === SPLIT_DEV) dev++;
      }
      expect(Math.abs(dev - 0.125 * (1500 - sizes[k]!))).toBeLessThanOrEqual(2);
    });
  });

  it('stratifies each task across folds', () => {
    for (let j = 0; j < labels.tasks.length; j++) {
      const total = positivesIn(labels, () => true, j);
      for (let k = 0; k < 5; k++) {
        expect(Math.abs(positivesIn(labels, (u) => cv.foldIds[u] === k, j) - total / 5)).toBeLessThanOrEqual(
          1,
        );
      }
    }
  });

  it('is deterministic and validates K', () => {
    expect(crossValidationSplit(labels, { seed: 7, folds: 5 })).toEqual(cv);
    expect(() => crossValidationSplit(labels, { seed: 7, folds: 1 })).toThrow(/folds/);
  });
});

describe('train-only units (a run that starts from another run: its training units never tested)', () => {
  const labels = cohort(1000, 3);
  const trainOnly = Uint8Array.from({ length: 1000 }, (_, u) => (u % 3 === 0 ? 1 : 0));

  it('holdout: train-only units train, the others are split as usual in the requested proportions', () => {
    const split = holdoutSplit(labels, { seed: 5, trainOnly });
    const free = [...trainOnly.keys()].filter((u) => !trainOnly[u]);
    for (let u = 0; u < 1000; u++) if (trainOnly[u]) expect(split[u]).toBe(SPLIT_TRAIN);
    const test = free.filter((u) => split[u] === SPLIT_TEST).length;
    const dev = free.filter((u) => split[u] === SPLIT_DEV).length;
    expect(Math.abs(test - 0.2 * free.length)).toBeLessThanOrEqual(3);
    expect(Math.abs(dev - 0.1 * free.length)).toBeLessThanOrEqual(3);
    const common = positivesIn(labels, (u) => !trainOnly[u], 0);
    expect(
      Math.abs(positivesIn(labels, (u) => split[u] === SPLIT_TEST, 0) - 0.2 * common),
    ).toBeLessThanOrEqual(1);
  });

  it('cross-validation: train-only units are in no fold and train in every fold', () => {
    const cv = crossValidationSplit(labels, { seed: 5, folds: 4, trainOnly });
    for (let u = 0; u < 1000; u++) {
      if (!trainOnly[u]) continue;
      expect(cv.foldIds[u]).toBe(-1);
      for (const a of cv.assignments) expect(a[u]).toBe(SPLIT_TRAIN);
    }
    const tested = cv.assignments.flatMap((a) => [...a.keys()].filter((u) => a[u] === SPLIT_TEST));
    expect(new Set(tested).size).toBe(tested.length);
    expect(tested.length).toBe(1000 - trainOnly.reduce((a, b) => a + b, 0));
  });
});
