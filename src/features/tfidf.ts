import { MhmtlError } from '../errors.js';
import { Analyzer } from './analyzer.js';
import { type FeatureConfig, resolveFeatureConfig } from './config.js';
import { CsrBuilder, type CsrMatrix, vstack } from './csr.js';

/** A document: the tokens of one unit of analysis (posts separated by the boundary token ''). */
export type Document = readonly string[];
type Batches = AsyncIterable<readonly Document[]> | Iterable<readonly Document[]>;

/** The serialized state of a fitted {@link TfidfVectorizer} (stored in mhmtl.feature_spaces.state). */
export interface TfidfState {
  kind: 'mhmtl.tfidf';
  version: 1;
  config: FeatureConfig;
  /** Number of training documents the IDF was fitted on. */
  n_documents: number;
  /** The vocabulary in column order (code-unit order of the term names). */
  vocabulary: string[];
  /** Inverse document frequency per column. */
  idf: number[];
  /** Document frequency per column, over the training documents. */
  df: number[];
  /** Free-form provenance, e.g. the tokenizer signature of the tokens it was fitted on. */
  meta?: Record<string, unknown>;
}

/** Counts over the training documents while fitting: term -> slot, df and total count per slot. */
class FitCounts {
  readonly slots = new Map<string, number>();
  df = new Int32Array(1024);
  total = new Float64Array(1024);
  documents = 0;

  add(counts: Map<string, number>): void {
    this.documents++;
    for (const [term, c] of counts) {
      let s = this.slots.get(term);
      if (s === undefined) {
        s = this.slots.size;
        this.slots.set(term, s);
        if (s >= this.df.length) {
          const df = new Int32Array(this.df.length * 2);
          df.set(this.df);
          this.df = df;
          const total = new Float64Array(this.total.length * 2);
          total.set(this.total);
          this.total = total;
        }
      }
      this.df[s]!++;
      this.total[s]! += c;
    }
  }
}

function compareTerms(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * N-gram TF-IDF features with the scikit-learn estimator contract (TfidfVectorizer): configure
 * with plain parameters, `fit` learns the vocabulary and IDF on the training units only,
 * `transform` maps any units to a CSR matrix `[documents, vocabulary]` (columns in vocabulary
 * order), `toJSON` / `fromJSON` store the fitted state so that features built months later are
 * identical.
 *
 * Weights (scikit-learn's formulas): tf = raw count, or 1 + ln(count) with sublinear_tf;
 * idf = ln((1 + n) / (1 + df)) + 1 with smooth_idf, else ln(n / df) + 1 (n training documents);
 * value = tf * idf, then each row scaled to unit L2 norm (norm 'l2'). A term is kept when
 * min_df <= df <= max_df, then the max_features most frequent by total count.
 * Memory: fitting holds one counter per distinct training term; transform output follows the
 * non-zeros; nothing is ever `documents x vocabulary` dense.
 */
export class TfidfVectorizer {
  readonly config: FeatureConfig;
  readonly #analyzer: Analyzer;
  #vocabulary: string[] | undefined;
  #index: Map<string, number> | undefined;
  #idf: Float64Array | undefined;
  #df: Int32Array | undefined;
  #documents = 0;
  /** Provenance stored with the state (e.g. the tokenizer signature). */
  meta: Record<string, unknown> = {};

  /** @throws UsageError for an invalid configuration (see {@link resolveFeatureConfig}). */
  constructor(config: Partial<FeatureConfig> = {}) {
    this.config = resolveFeatureConfig(config);
    this.#analyzer = new Analyzer(this.config);
  }

  /** Whether {@link fit} (or {@link fromJSON}) has run. */
  get fitted(): boolean {
    return this.#vocabulary !== undefined;
  }

  /** The vocabulary, in column order. @throws MhmtlError when not fitted. */
  get vocabulary(): readonly string[] {
    return this.#state().vocabulary;
  }

  /** IDF per column. @throws MhmtlError when not fitted. */
  get idf(): Float64Array {
    return this.#state().idf;
  }

  /** Number of training documents. */
  get nDocuments(): number {
    return this.#documents;
  }

  /** Term counts of one document, as the analyzer sees it (for inspection and tests). */
  analyze(doc: Document): Map<string, number> {
    return this.#analyzer.count(doc);
  }

  /**
   * Learn vocabulary and IDF from the training documents (one pass, nothing else kept in memory).
   * @throws MhmtlError when no training document is given, or no term survives min_df/max_df.
   */
  fit(docs: Iterable<Document>): this {
    const counts = new FitCounts();
    for (const doc of docs) counts.add(this.#analyzer.count(doc));
    return this.#finishFit(counts);
  }

  /** {@link fit} over batches of documents, e.g. streamed from the database. */
  async fitBatches(batches: Batches): Promise<this> {
    const counts = new FitCounts();
    for await (const batch of batches) for (const doc of batch) counts.add(this.#analyzer.count(doc));
    return this.#finishFit(counts);
  }

  /** TF-IDF rows of the documents: `[docs.length, vocabulary.length]`. @throws MhmtlError when not fitted. */
  transform(docs: Iterable<Document>): CsrMatrix {
    const { index, idf, vocabulary } = this.#state();
    const builder = new CsrBuilder(vocabulary.length);
    let cols = new Int32Array(256);
    let vals = new Float64Array(256);
    // One scratch slot per column (O(vocabulary), once): count of column j in the current row.
    const scratch = new Float64Array(vocabulary.length);
    const sublinear = this.config.sublinear_tf;
    const l2 = this.config.norm === 'l2';
    for (const doc of docs) {
      const counts = this.#analyzer.count(doc);
      if (counts.size > cols.length) {
        cols = new Int32Array(counts.size * 2);
        vals = new Float64Array(counts.size * 2);
      }
      let k = 0;
      for (const [term, c] of counts) {
        const j = index.get(term);
        if (j === undefined) continue;
        cols[k++] = j;
        scratch[j] = c;
      }
      cols.subarray(0, k).sort();
      for (let i = 0; i < k; i++) vals[i] = scratch[cols[i]!]!;
      let sumSq = 0;
      for (let i = 0; i < k; i++) {
        const c = vals[i]!;
        const tf = sublinear ? 1 + Math.log(c) : c;
        const v = tf * idf[cols[i]!]!;
        vals[i] = v;
        sumSq += v * v;
      }
      if (l2 && sumSq > 0) {
        const inv = 1 / Math.sqrt(sumSq);
        for (let i = 0; i < k; i++) vals[i]! *= inv;
      }
      builder.appendRow(cols, vals, k);
    }
    return builder.build();
  }

  /** {@link transform} over batches, CSR blocks stacked in order. */
  async transformBatches(batches: Batches): Promise<CsrMatrix> {
    const blocks: CsrMatrix[] = [];
    for await (const batch of batches) blocks.push(this.transform(batch));
    return vstack(blocks, this.#state().vocabulary.length);
  }

  /** The fitted state, JSON-serializable. @throws MhmtlError when not fitted. */
  toJSON(): TfidfState {
    const s = this.#state();
    return {
      kind: 'mhmtl.tfidf',
      version: 1,
      config: this.config,
      n_documents: this.#documents,
      vocabulary: [...s.vocabulary],
      idf: Array.from(s.idf),
      df: Array.from(this.#df!),
      meta: this.meta,
    };
  }

  /**
   * A fitted vectorizer from its stored state; it transforms exactly as the one that was saved.
   * @throws MhmtlError when the state is not a TfidfState of a known version.
   */
  static fromJSON(state: TfidfState): TfidfVectorizer {
    if (state?.kind !== 'mhmtl.tfidf' || state.version !== 1) {
      throw new MhmtlError('not a stored mhmtl.tfidf feature state of version 1');
    }
    if (state.vocabulary.length !== state.idf.length) {
      throw new MhmtlError('stored feature state is corrupt: vocabulary and idf differ in length');
    }
    const v = new TfidfVectorizer(state.config);
    v.#setVocabulary(state.vocabulary, Float64Array.from(state.idf), Int32Array.from(state.df ?? []));
    v.#documents = state.n_documents;
    v.meta = { ...(state.meta ?? {}) };
    return v;
  }

  #finishFit(counts: FitCounts): this {
    const n = counts.documents;
    if (n === 0) throw new MhmtlError('cannot fit features on zero training units');
    const { min_df, max_df, max_features } = this.config;
    const minCount = min_df >= 1 ? min_df : min_df * n;
    const maxCount = max_df <= 1 ? max_df * n : max_df;
    let kept: string[] = [];
    for (const [term, s] of counts.slots) {
      const df = counts.df[s]!;
      if (df >= minCount && df <= maxCount) kept.push(term);
    }
    if (kept.length === 0) {
      throw new MhmtlError(
        `no terms remain after min_df=${min_df} / max_df=${max_df} over ${n} training units: lower min_df or raise max_df`,
      );
    }
    if (max_features !== null && kept.length > max_features) {
      kept.sort((a, b) => {
        const sa = counts.slots.get(a)!;
        const sb = counts.slots.get(b)!;
        return counts.total[sb]! - counts.total[sa]! || counts.df[sb]! - counts.df[sa]! || compareTerms(a, b);
      });
      kept = kept.slice(0, max_features);
    }
    kept.sort(compareTerms);
    const idf = new Float64Array(kept.length);
    const df = new Int32Array(kept.length);
    for (let j = 0; j < kept.length; j++) {
      const d = counts.df[counts.slots.get(kept[j]!)!]!;
      df[j] = d;
      idf[j] = this.config.smooth_idf ? Math.log((1 + n) / (1 + d)) + 1 : Math.log(n / d) + 1;
    }
    this.#documents = n;
    this.#setVocabulary(kept, idf, df);
    return this;
  }

  #setVocabulary(vocabulary: string[], idf: Float64Array, df: Int32Array): void {
    this.#vocabulary = vocabulary;
    this.#idf = idf;
    this.#df = df;
    this.#index = new Map(vocabulary.map((t, j) => [t, j]));
  }

  #state(): { vocabulary: string[]; index: Map<string, number>; idf: Float64Array } {
    if (!this.#vocabulary || !this.#index || !this.#idf) {
      throw new MhmtlError('the feature extractor is not fitted: call fit() on the training units first');
    }
    return { vocabulary: this.#vocabulary, index: this.#index, idf: this.#idf };
  }
}
