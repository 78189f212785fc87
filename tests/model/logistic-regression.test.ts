import { describe, expect, it } from 'vitest';
import { selectRows } from '../../src/features/csr.js';
import { LogisticRegression } from '../../src/model/baselines/logistic-regression.js';
import { positiveWeights } from '../../src/model/losses.js';
import { column, sharedSignalCohort } from './synthetic.js';

const { data } = sharedSignalCohort({
  units: 600,
  features: 300,
  signal: 20,
  noisePerUnit: 25,
  signalStrength: 1.5,
  commonRate: 0.3,
  rareRate: 0.05,
  seed: 13,
});

/** The weighted log-loss of a model's dev predictions, as the selection measures it. */
function devLoss(model: LogisticRegression, task: number): number {
  const y = column(data.y, 2, task, data.dev);
  const p = model.predict(selectRows(data.x, data.dev));
  const w = positiveWeights('balanced', ['t'], column(data.y, 2, task, data.train), 10)[0]!;
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i]!, 1e-7), 1 - 1e-7);
    sum += y[i] === 1 ? -w * Math.log(q) : -Math.log(1 - q);
  }
  return sum / y.length;
}

describe('LogisticRegression: regularization chosen on dev, early stopping on dev loss', () => {
  it('keeps the C of the grid with the lowest dev loss, and that C alone gives the same model', async () => {
    const lr = new LogisticRegression(['rare'], { seed: 4, cGrid: [100, 0.01, 1] });
    await lr.fit(data);
    const choice = lr.choices.rare!;
    expect(choice.grid.map((g) => g.c)).toEqual([0.01, 1, 100]); // tried in ascending order
    const best = Math.min(...choice.grid.map((g) => g.devLoss!));
    expect(choice.devLoss).toBe(best);
    expect(choice.c).toBe(choice.grid.find((g) => g.devLoss === best)!.c);
    expect(choice.l2).toBeCloseTo(1 / (2 * choice.c! * data.train.length), 15);
    const alone = new LogisticRegression(['rare'], { seed: 4, cGrid: [choice.c!] });
    await alone.fit(data);
    expect([...alone.predict(data.x)]).toEqual([...lr.predict(data.x)]);
  });

  it('stops at the epoch of lowest dev loss (after min_epochs), measured from the predictions', async () => {
    const cGrid = [10];
    const lr = new LogisticRegression(['common'], { seed: 2, cGrid, epochs: 12, minEpochs: 2, patience: 3 });
    const result = await lr.fit(data);
    const chosen = lr.choices.common!.epoch;
    const trained = result.history.length;
    expect(chosen).toBeGreaterThanOrEqual(1);
    // The same model trained for exactly k epochs (no stopping) at every k it trained.
    const losses: number[] = [];
    for (let k = 1; k <= trained; k++) {
      const m = new LogisticRegression(['common'], { seed: 2, cGrid, epochs: k, minEpochs: k, patience: 99 });
      await m.fit(data);
      losses.push(devLoss(m, 0));
    }
    const argmin = losses.indexOf(Math.min(...losses)) + 1;
    expect(chosen).toBe(argmin);
    expect(lr.choices.common!.devLoss).toBeCloseTo(losses[chosen - 1]!, 5);
    expect(trained === 12 || trained - chosen >= 3).toBe(true); // stopped by patience or by epochs
  });

  it('regularizes more for a smaller C (L2: smaller weights)', async () => {
    const norm = async (c: number) => {
      const m = new LogisticRegression(['common'], { seed: 1, cGrid: [c], epochs: 5, minEpochs: 5 });
      await m.fit(data);
      const a = await m.toArtifact();
      const w = new Float32Array(
        a.weights.buffer.slice(a.weights.byteOffset, a.weights.byteOffset + 4 * 300),
      );
      return Math.hypot(...w);
    };
    expect(await norm(0.001)).toBeLessThan(await norm(1000));
  });

  it('takes a fixed l2 instead of a grid, and refuses both', async () => {
    const lr = new LogisticRegression(['common'], { seed: 1, l2: 1e-4, epochs: 3 });
    await lr.fit(data);
    expect(lr.choices.common).toMatchObject({ c: null, l2: 1e-4, grid: [] });
    const back = LogisticRegression.fromArtifact(await lr.toArtifact());
    expect([...back.predict(data.x)]).toEqual([...lr.predict(data.x)]);
    expect(() => new LogisticRegression(['a'], { l2: 1e-4, cGrid: [1] })).toThrow(/either l2/);
    expect(() => new LogisticRegression(['a'], { cGrid: [] })).toThrow(/c_grid/);
  });
});
