import type { CsrMatrix } from '../../src/features/csr.js';
import { Random } from '../../src/model/random.js';
import type { TrainingData } from '../../src/model/types.js';

/**
 * A generated cohort in feature space (seeded): every unit has a latent severity l ~ N(0, 1);
 * the common task is positive for the top `commonRate` of l, the rare task for the top
 * `rareRate`, so both depend on the same `signal` features, whose number per unit grows with l;
 * the rest of a unit's features are noise drawn uniformly from the vocabulary. Values are
 * L2-normalized counts (as TF-IDF rows are). Some labels are unknown (`unknownRate`).
 */
export function sharedSignalCohort(options: {
  units: number;
  features: number;
  signal: number;
  noisePerUnit: number;
  signalStrength: number;
  commonRate: number;
  rareRate: number;
  unknownRate?: number;
  seed: number;
}): { data: TrainingData; test: Int32Array } {
  const r = new Random(options.seed);
  const n = options.units;
  const latent = Float64Array.from({ length: n }, () => r.normal());
  const sorted = [...latent].sort((a, b) => b - a);
  const commonCut = sorted[Math.floor(n * options.commonRate)]!;
  const rareCut = sorted[Math.floor(n * options.rareRate)]!;
  const indptr = new Int32Array(n + 1);
  const idx: number[] = [];
  const val: number[] = [];
  const tasks = ['common', 'rare'];
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const counts = new Map<number, number>();
    const nSignal = Math.max(0, Math.round(options.signalStrength * (latent[i]! + 1.5) + r.normal()));
    for (let k = 0; k < nSignal; k++) {
      const f = r.int(options.signal);
      counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    for (let k = 0; k < options.noisePerUnit; k++) {
      const f = options.signal + r.int(options.features - options.signal);
      counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    const keys = [...counts.keys()].sort((a, b) => a - b);
    const norm = Math.sqrt(keys.reduce((s, f) => s + counts.get(f)! ** 2, 0));
    for (const f of keys) {
      idx.push(f);
      val.push(counts.get(f)! / norm);
    }
    indptr[i + 1] = idx.length;
    y[i * 2] = latent[i]! > commonCut ? 1 : 0;
    y[i * 2 + 1] = latent[i]! > rareCut ? 1 : 0;
    if (options.unknownRate && r.next() < options.unknownRate) y[i * 2] = Number.NaN;
  }
  const x: CsrMatrix = {
    rows: n,
    cols: options.features,
    indptr,
    indices: Int32Array.from(idx),
    values: Float32Array.from(val),
  };
  const order = r.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const nTrain = Math.floor(n * 0.5);
  const nDev = Math.floor(n * 0.2);
  return {
    data: { x, y, tasks, train: order.slice(0, nTrain), dev: order.slice(nTrain, nTrain + nDev) },
    test: order.slice(nTrain + nDev),
  };
}

/** Dense copy `[rows x cols]` of a CSR matrix (tests only). */
export function densify(x: CsrMatrix): Float32Array {
  const out = new Float32Array(x.rows * x.cols);
  for (let i = 0; i < x.rows; i++) {
    for (let k = x.indptr[i]!; k < x.indptr[i + 1]!; k++) out[i * x.cols + x.indices[k]!]! += x.values[k]!;
  }
  return out;
}

/** Column `k` of a row-major `[rows x width]` matrix for the given rows. */
export function column(m: Float32Array, width: number, k: number, rows?: ArrayLike<number>): Float32Array {
  const n = rows ? rows.length : m.length / width;
  return Float32Array.from({ length: n }, (_, i) => m[(rows ? rows[i]! : i) * width + k]!);
}
