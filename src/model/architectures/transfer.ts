import type { WarmStartPlan } from './architecture.js';

/**
 * Building blocks of warm starts (transfer learning by parameter copying, as in Yosinski et al.,
 * "How transferable are features in deep neural networks?", NIPS 2014): the first layer's rows are
 * copied term by term through the two vocabularies, further layers whole. Each architecture decides
 * what to copy (its shared layers) in its own file.
 */

/**
 * The least fraction of the new vocabulary that must be found in the source run's vocabulary for a
 * warm start: below it, most first-layer rows would start from scratch anyway and the copied rows
 * would describe a different input space.
 */
export const MIN_SHARED_VOCABULARY = 0.5;

/** For each term of `target`, its row in `source`, or -1; and how many are shared. */
export interface VocabularyMap {
  rowOf: Int32Array;
  sharedTerms: number;
  coverage: number;
}

/** Map the target vocabulary's terms to the source's rows. */
export function vocabularyMap(source: readonly string[], target: readonly string[]): VocabularyMap {
  const index = new Map(source.map((t, i) => [t, i]));
  const rowOf = Int32Array.from(target, (t) => index.get(t) ?? -1);
  const sharedTerms = rowOf.reduce((n, r) => n + (r >= 0 ? 1 : 0), 0);
  return { rowOf, sharedTerms, coverage: target.length === 0 ? 0 : sharedTerms / target.length };
}

/** A refusal when fewer than {@link MIN_SHARED_VOCABULARY} of the target's terms are in the source, else null. */
export function coverageRefusal(map: VocabularyMap, sourceRun: number): WarmStartPlan | null {
  if (map.coverage >= MIN_SHARED_VOCABULARY) return null;
  return {
    ok: false,
    reason: `only ${(100 * map.coverage).toFixed(1)}% of the vocabulary is shared with run ${sourceRun} (at least ${100 * MIN_SHARED_VOCABULARY}% needed)`,
  };
}

/**
 * Copy rows of a source first-layer kernel `[sourceRows, width]` into a target kernel
 * `[targetRows, width]` (in place) where the term is shared; other rows keep their values.
 * @throws RangeError when the widths differ.
 */
export function copyRows(
  source: Float32Array,
  target: Float32Array,
  width: number,
  map: VocabularyMap,
): void {
  if (source.length % width !== 0 || target.length !== map.rowOf.length * width)
    throw new RangeError(
      `copyRows: kernels of ${source.length} and ${target.length} values at width ${width}`,
    );
  for (let j = 0; j < map.rowOf.length; j++) {
    const r = map.rowOf[j]!;
    if (r >= 0) target.set(source.subarray(r * width, (r + 1) * width), j * width);
  }
}

/**
 * The source weight `name`, checked to have `length` values.
 * @throws Error naming the weight when it is missing or has another size.
 */
export function sourceWeight(
  weights: ReadonlyMap<string, Float32Array>,
  name: string,
  length: number,
): Float32Array {
  const w = weights.get(name);
  if (!w) throw new Error(`the source model has no weight ${name}`);
  if (w.length !== length)
    throw new Error(`the source weight ${name} has ${w.length} values, expected ${length}`);
  return w;
}

/**
 * The source weights of `shapes` (name, number of values), each checked by {@link sourceWeight},
 * by name: what an architecture's `fromWeights` needs from a stored model.
 * @throws Error naming the first weight that is missing or has another size.
 */
export function checkedWeights(
  weights: ReadonlyMap<string, Float32Array>,
  shapes: readonly (readonly [string, number])[],
): Map<string, Float32Array> {
  return new Map(shapes.map(([name, n]) => [name, sourceWeight(weights, name, n)]));
}
