import type { EvaluatedModel, EvaluationInput } from '../../src/evaluate/evaluate.js';
import { SeededRandom } from '../../src/evaluate/random.js';
import { crossValidationSplit, holdoutSplit } from '../../src/evaluate/splits.js';

/**
 * A synthetic run for evaluation tests: `units` users, tasks anxiety / depression / ptsd (main),
 * gender (auxiliary) and `none_positive` (main, no positive anywhere: single_class). Scores are
 * noisy functions of the label; the noise grows from mtl to lr, so the models differ.
 */
export function syntheticRun(
  units: number,
  seed: number,
  design: 'holdout' | 'cv' = 'holdout',
): EvaluationInput {
  const tasks = [
    { name: 'anxiety', auxiliary: false },
    { name: 'depression', auxiliary: false },
    { name: 'ptsd', auxiliary: false },
    { name: 'gender', auxiliary: true },
    { name: 'none_positive', auxiliary: false },
  ];
  const prevalence = [0.25, 0.3, 0.08, 0.5, 0];
  const t = tasks.length;
  const rng = new SeededRandom(seed);
  const y = new Float32Array(units * t);
  for (let u = 0; u < units; u++) {
    for (let j = 0; j < t; j++)
      y[u * t + j] = rng.next() < 0.03 ? Number.NaN : rng.next() < prevalence[j]! ? 1 : 0;
  }
  const noise: Record<string, number> = { mtl: 0.9, mtl_no_aux: 1.0, stl: 1.1, lr: 1.3 };
  const models: EvaluatedModel[] = [
    { name: 'mtl', kind: 'mtl', auxiliary: ['gender'] },
    { name: 'mtl_no_aux', kind: 'mtl', auxiliary: [] },
    { name: 'stl', kind: 'stl', auxiliary: [] },
    { name: 'lr', kind: 'lr', auxiliary: [] },
  ];
  const scores: Record<string, Float32Array> = {};
  for (const m of Object.keys(noise)) {
    const s = new Float32Array(units * t);
    for (let i = 0; i < s.length; i++) {
      const label = Number.isNaN(y[i]!) ? 0 : y[i]!;
      const z = (label - 0.5) * 2 + noise[m]! * 2 * (rng.next() + rng.next() + rng.next() - 1.5);
      s[i] = Math.round((1 / (1 + Math.exp(-z))) * 1000) / 1000; // rounded: ties happen
    }
    scores[m] = s;
  }
  const labels = { units, tasks: tasks.map((x) => x.name), y };
  return {
    tasks,
    unitIds: Array.from({ length: units }, (_, u) => `u${String(u).padStart(5, '0')}`),
    y,
    design:
      design === 'holdout'
        ? { kind: 'holdout', split: holdoutSplit(labels, { seed }) }
        : { kind: 'cv', assignments: crossValidationSplit(labels, { seed, folds: 4 }).assignments },
    models,
    scores,
  };
}
