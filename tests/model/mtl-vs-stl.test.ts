import { beforeAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../../src/evaluate/metrics.js';
import { selectRows } from '../../src/features/csr.js';
import { initTensorflow } from '../../src/model/backend.js';
import { NeuralModel } from '../../src/model/neural-model.js';
import { column, sharedSignalCohort } from './synthetic.js';

// Measured on wasm: the rare task's test AUC gap (MTL - STL) was 0.15, 0.12, 0.18, 0.12, 0.15 for
// cohort seeds 3, 1, 2, 5, 7 (MTL 0.81-0.86, STL 0.63-0.73). 0.05 leaves a wide safety margin over
// the seed-to-seed variation while still failing if sharing brought the rare task nothing.
const SEED = 3;
const MARGIN = 0.05;

describe('the paper central claim: MTL helps a rare task that shares signal with a common one', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('MTL beats STL on the rare task by at least MARGIN test AUC', async () => {
    const { data, test } = sharedSignalCohort({
      units: 3000,
      features: 600,
      signal: 60,
      noisePerUnit: 30,
      signalStrength: 2,
      commonRate: 0.25,
      rareRate: 0.04,
      seed: SEED,
    });
    const training = { epochs: 12, patience: 4, batchSize: 32, learningRate: 0.003, seed: 1 };
    const arch = { hidden: [32] };
    const xTest = selectRows(data.x, test);
    const mtl = new NeuralModel({ tasks: ['common', 'rare'], architectureConfig: arch, training });
    await mtl.fit(data);
    const mtlAuc = rocAuc(column(mtl.predict(xTest), 2, 1), column(data.y, 2, 1, test))!;
    const stl = new NeuralModel({ tasks: ['rare'], architectureConfig: arch, training });
    await stl.fit(data);
    const stlAuc = rocAuc(stl.predict(xTest), column(data.y, 2, 1, test))!;
    mtl.dispose();
    stl.dispose();
    console.log(`rare task test AUC: MTL ${mtlAuc.toFixed(3)}, STL ${stlAuc.toFixed(3)}`);
    expect(mtlAuc - stlAuc).toBeGreaterThanOrEqual(MARGIN);
  });
});
