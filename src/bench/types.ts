/**
 * One benchmark figure: the stage's throughput beside a raw baseline measured on the same data in
 * the same run, and their ratio (stage / baseline). Machines are shared and noisy, so only the
 * ratio is comparable across runs.
 */
export interface BenchResult {
  /** e.g. 'ingest', 'tokenize', 'features', 'train', 'end_to_end'. */
  stage: string;
  /** What was measured, e.g. 'mhmtl ingest posts (server)', 'tokenize 2 workers'. */
  name: string;
  /** Cohort size in users. */
  users: number;
  /** Unit of `value` and `baselineValue`, e.g. 'rows/s', 'tokens/s', 'units/s', 's', 'MB'. */
  unit: string;
  value: number;
  /** The raw baseline, e.g. 'raw COPY FROM STDIN', 'raw wink-nlp loop'; null when none applies. */
  baseline: string | null;
  baselineValue: number | null;
  /** value / baselineValue (for times, baseline / value, so that > 1 is always better). */
  ratio: number | null;
  /** Anything else worth recording (non-zeros, peak RSS, ...). */
  extra?: Record<string, number | string>;
}
