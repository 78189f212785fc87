import { UsageError } from '../errors.js';
import { maskedTermProblem } from './masking.js';

/**
 * The feature extractor's configuration: the pipeline file's `features` section. Names follow
 * scikit-learn's TfidfVectorizer where one exists.
 */
export interface FeatureConfig {
  /** Word n-gram range [min_n, max_n] (both inclusive), or null for none. Default [1, 2]. */
  word_ngrams: [number, number] | null;
  /**
   * Character n-gram range within word boundaries (scikit-learn's analyzer='char_wb': each token
   * padded with one space on each side), e.g. [2, 4], or null for none. Default null.
   */
  char_ngrams: [number, number] | null;
  /** tf := 1 + ln(tf) (scikit-learn sublinear_tf). Default true. */
  sublinear_tf: boolean;
  /** idf := ln((1 + n) / (1 + df)) + 1, else ln(n / df) + 1 (scikit-learn smooth_idf). Default true. */
  smooth_idf: boolean;
  /** Row normalization: 'l2' (unit Euclidean length) or null. Default 'l2'. */
  norm: 'l2' | null;
  /** Minimum document frequency: a count when >= 1, a fraction of the training units when < 1. Default 2. */
  min_df: number;
  /** Maximum document frequency: a fraction when <= 1, a count when > 1. Default 1 (no limit). */
  max_df: number;
  /**
   * Keep at most this many terms, the most frequent by total count over the training units (ties:
   * higher document frequency, then the term in code-unit order); null for no limit. Default 100000.
   */
  max_features: number | null;
  /**
   * Terms removed before n-grams are built (leakage control: task names, community names).
   * Matched case-insensitively against tokens, also with a leading '#' (hashtag) or 'r/'; a
   * multi-word term ("suicide watch") matches the consecutive tokens; `depress*` is a prefix and
   * `/suicid(e|al)/` a regular expression matching a whole token (./masking.ts). N-grams never
   * span a removed term.
   */
  masked_terms: string[];
  /** Porter-stem plain alphabetic tokens (natural's PorterStemmer). Default false. */
  stemming: boolean;
}

export const DEFAULT_FEATURE_CONFIG: Readonly<FeatureConfig> = Object.freeze<FeatureConfig>({
  word_ngrams: [1, 2],
  char_ngrams: null,
  sublinear_tf: true,
  smooth_idf: true,
  norm: 'l2',
  min_df: 2,
  max_df: 1,
  max_features: 100_000,
  masked_terms: [],
  stemming: false,
});

/** The unit of analysis and which posts make its documents: the pipeline file's `unit` section. */
export interface UnitSelection {
  /** 'user' (all of a user's posts form one document; default) or 'post' (each post a unit). */
  unit: 'user' | 'post';
  /** Only each user's last N posts (by created_at, then post_id); null for all. */
  last_n_posts: number | null;
  /** Only posts with from <= created_at < to (ISO-8601 timestamps; null bound: open). */
  time_window: { from: string | null; to: string | null } | null;
  /**
   * Posts written in these communities are dropped before documents are built (leakage control:
   * e.g. the communities a label came from). Case-insensitive; a leading 'r/' is ignored. Default [].
   */
  exclude_communities: string[];
  /**
   * Posts whose text matches any of these PostgreSQL regular expressions (case-insensitive, `~*`;
   * word boundary `\y`) are dropped before documents are built (leakage control: self-disclosure,
   * e.g. "i (was|am|have been) diagnosed with"). Default [].
   */
  exclude_patterns: string[];
}

export const DEFAULT_UNIT_SELECTION: Readonly<UnitSelection> = Object.freeze<UnitSelection>({
  unit: 'user',
  last_n_posts: null,
  time_window: null,
  exclude_communities: [],
  exclude_patterns: [],
});

function range(name: string, v: unknown): [number, number] | null {
  if (v === null) return null;
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !v.every((x) => Number.isInteger(x) && (x as number) >= 1) ||
    (v[0] as number) > (v[1] as number)
  ) {
    throw new UsageError(`features.${name} must be [min, max] with integers 1 <= min <= max, or null`);
  }
  return [v[0] as number, v[1] as number];
}

/**
 * Fill defaults and check a feature configuration.
 * @throws UsageError naming the offending field (`features.<name>`).
 */
export function resolveFeatureConfig(partial: Partial<FeatureConfig> = {}): FeatureConfig {
  const c = { ...DEFAULT_FEATURE_CONFIG, ...partial };
  const known = new Set(Object.keys(DEFAULT_FEATURE_CONFIG));
  for (const k of Object.keys(partial))
    if (!known.has(k)) throw new UsageError(`features.${k} is not a known option`);
  const config: FeatureConfig = {
    word_ngrams: range('word_ngrams', c.word_ngrams),
    char_ngrams: range('char_ngrams', c.char_ngrams),
    sublinear_tf: c.sublinear_tf,
    smooth_idf: c.smooth_idf,
    norm: c.norm,
    min_df: c.min_df,
    max_df: c.max_df,
    max_features: c.max_features,
    masked_terms: [...c.masked_terms],
    stemming: c.stemming,
  };
  if (!config.word_ngrams && !config.char_ngrams) {
    throw new UsageError('features: word_ngrams and char_ngrams are both null: no features');
  }
  for (const k of ['sublinear_tf', 'smooth_idf', 'stemming'] as const) {
    if (typeof config[k] !== 'boolean') throw new UsageError(`features.${k} must be true or false`);
  }
  if (config.norm !== 'l2' && config.norm !== null)
    throw new UsageError("features.norm must be 'l2' or null");
  if (
    !(
      typeof config.min_df === 'number' &&
      config.min_df > 0 &&
      (config.min_df < 1 || Number.isInteger(config.min_df))
    )
  ) {
    throw new UsageError('features.min_df must be a fraction in (0, 1) or an integer count >= 1');
  }
  if (
    !(
      typeof config.max_df === 'number' &&
      config.max_df > 0 &&
      (config.max_df <= 1 || Number.isInteger(config.max_df))
    )
  ) {
    throw new UsageError('features.max_df must be a fraction in (0, 1] or an integer count > 1');
  }
  if (config.max_features !== null && !(Number.isInteger(config.max_features) && config.max_features >= 1)) {
    throw new UsageError('features.max_features must be a positive integer or null');
  }
  if (!config.masked_terms.every((t) => typeof t === 'string' && t.trim().length > 0)) {
    throw new UsageError('features.masked_terms must be non-empty strings');
  }
  for (const term of config.masked_terms) {
    const problem = maskedTermProblem(term);
    if (problem) throw new UsageError(`masked_terms: ${problem}`);
  }
  return config;
}

/**
 * Fill defaults and check a unit selection.
 * @throws UsageError naming the offending field (`unit.<name>`).
 */
export function resolveUnitSelection(partial: Partial<UnitSelection> = {}): UnitSelection {
  const s: UnitSelection = { ...DEFAULT_UNIT_SELECTION, ...partial };
  if (s.unit !== 'user' && s.unit !== 'post') throw new UsageError("unit.unit must be 'user' or 'post'");
  if (s.last_n_posts !== null && !(Number.isInteger(s.last_n_posts) && s.last_n_posts >= 1)) {
    throw new UsageError('unit.last_n_posts must be a positive integer or null');
  }
  if (s.time_window !== null) {
    const { from = null, to = null } = s.time_window;
    for (const [k, v] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (v !== null && Number.isNaN(Date.parse(v)))
        throw new UsageError(`unit.time_window.${k} is not a timestamp: '${v}'`);
    }
    if (from !== null && to !== null && Date.parse(from) >= Date.parse(to)) {
      throw new UsageError('unit.time_window: from must be before to');
    }
    s.time_window = { from, to };
  }
  for (const k of ['exclude_communities', 'exclude_patterns'] as const) {
    if (!Array.isArray(s[k]) || !s[k].every((v) => typeof v === 'string' && v.trim() !== ''))
      throw new UsageError(`${k} must be a list of non-empty strings`);
  }
  s.exclude_communities = s.exclude_communities.map((c) => c.trim().toLowerCase().replace(/^r\//, ''));
  return s;
}
