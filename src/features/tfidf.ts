import { MhmtlError } from '../errors.js';
import { Analyzer, CHAR_PREFIX, WORD_PREFIX } from './analyzer.js';
import { type FeatureConfig, resolveFeatureConfig } from './config.js';
import { CsrBuilder, type CsrMatrix, vstack } from './csr.js';
import { GramCounter, GramIndex, grow } from './gram-index.js';

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

/**
 * Counts over the training documents while fitting, on integer gram ids (see {@link GramIndex}):
 * document frequency (deduplicated per document by a generation stamp, not a Set) and total
 * count per gram. No n-gram is built as a string until the vocabulary is chosen. With a cache
 * budget (fit-transform), each document's distinct (gram, count) pairs are also kept, up to
 * `cacheLimit` pairs in all, so that its row is built later without counting it again.
 */
class FitCounts {
  readonly index = new GramIndex();
  readonly counter: GramCounter;
  /**
   * Per gram g, stats[4g .. 4g+3]: total count (below 2^31; the excess is kept in #totalExcess),
   * document frequency, stamp (the last document that had it) and the position of its cached
   * pair in that document's block. One array, so counting an occurrence touches one cache line.
   */
  stats = new Int32Array(4096);
  readonly #totalExcess = new Map<number, number>();
  documents = 0;
  /**
   * Cached pairs, interleaved (gram, count), in blocks that are never copied to grow: document
   * d's are cacheBlocks[cacheBlock[d]] from cacheStart[d] to cacheEnd[d] (a document never spans
   * two blocks).
   */
  readonly cacheBlocks: Int32Array[] = [];
  cacheBlock = new Int32Array(0);
  cacheStart = new Int32Array(0);
  cacheEnd = new Int32Array(0);
  /** Documents whose pairs are cached (the first `cachedDocuments` ones). */
  cachedDocuments = 0;
  #cacheUsed = 0;
  #blockUsed = 0;
  #caching: boolean;

  constructor(
    readonly analyzer: Analyzer,
    config: FeatureConfig,
    readonly cacheLimit = 0,
  ) {
    this.counter = new GramCounter(this.index, config.word_ngrams, config.char_ngrams, true);
    this.#caching = cacheLimit > 0;
  }

  /** Total count of gram g over the training documents. */
  total(g: number): number {
    return this.stats[4 * g]! + (this.#totalExcess.get(g) ?? 0);
  }

  /** Document frequency of gram g. */
  df(g: number): number {
    return this.stats[4 * g + 1]!;
  }

  add(doc: Document): void {
    const docNo = ++this.documents;
    const c = this.counter;
    c.run(this.analyzer.normalize(doc));
    if (4 * this.index.size > this.stats.length) this.stats = grow(this.stats, 4 * this.index.size);
    const stats = this.stats;
    const grams = c.grams;
    const counts = c.counts;
    // A document is cached whole or not at all; once one does not fit, none after it is.
    if (this.#caching && this.#cacheUsed + c.length > this.cacheLimit) this.#caching = false;
    if (!this.#caching) {
      for (let k = 0; k < c.length; k++) {
        const at = 4 * grams[k]!;
        const n = counts[k]!;
        if (stats[at]! > MAX_INT32 - n) this.#addExcess(grams[k]!, n);
        else stats[at]! += n;
        if (stats[at + 2] !== docNo) {
          stats[at + 2] = docNo;
          stats[at + 1]!++;
        }
      }
      return;
    }
    const block = this.#cacheBlockFor(2 * c.length);
    const d = docNo - 1;
    if (d >= this.cacheBlock.length) {
      this.cacheBlock = grow(this.cacheBlock, d + 1);
      this.cacheStart = grow(this.cacheStart, d + 1);
      this.cacheEnd = grow(this.cacheEnd, d + 1);
    }
    this.cacheBlock[d] = this.cacheBlocks.length - 1;
    this.cacheStart[d] = this.#blockUsed;
    let p = this.#blockUsed;
    for (let k = 0; k < c.length; k++) {
      const g = grams[k]!;
      const at = 4 * g;
      const n = counts[k]!;
      if (stats[at]! > MAX_INT32 - n) this.#addExcess(g, n);
      else stats[at]! += n;
      if (stats[at + 2] !== docNo) {
        stats[at + 2] = docNo;
        stats[at + 1]!++;
        stats[at + 3] = p;
        block[p] = g;
        block[p + 1] = n;
        p += 2;
      } else block[stats[at + 3]! + 1]! += n;
    }
    this.#cacheUsed += (p - this.#blockUsed) >> 1;
    this.#blockUsed = p;
    this.cacheEnd[d] = p;
    this.cachedDocuments = docNo;
  }

  /** The cached pairs (see {@link cacheBlocks}); the counts keep no reference to them. */
  takeCache(): {
    blocks: Int32Array[];
    block: Int32Array;
    start: Int32Array;
    end: Int32Array;
    documents: number;
  } {
    return {
      blocks: this.cacheBlocks.splice(0),
      block: this.cacheBlock,
      start: this.cacheStart,
      end: this.cacheEnd,
      documents: this.cachedDocuments,
    };
  }

  /** The current cache block, or a new one when it has no room for `ints` more. */
  #cacheBlockFor(ints: number): Int32Array {
    let block = this.cacheBlocks[this.cacheBlocks.length - 1];
    if (block === undefined || this.#blockUsed + ints > block.length) {
      block = new Int32Array(Math.max(CACHE_BLOCK, ints));
      this.cacheBlocks.push(block);
      this.#blockUsed = 0;
    }
    return block;
  }

  #addExcess(g: number, n: number): void {
    this.#totalExcess.set(g, (this.#totalExcess.get(g) ?? 0) + n);
  }
}

const MAX_INT32 = 2 ** 31 - 1;
const EMPTY = new Int32Array(0);
/** Int32s per cache block (16 MB). */
const CACHE_BLOCK = 1 << 22;

/**
 * Rows of TF-IDF values from (column, count) entries, appended to a CSR builder. Per row: counts
 * of the same column are summed, columns sorted ascending, value = tf * idf, then L2 scaling.
 * One code path for transform and fit-transform, so both give the same bits.
 */
class RowWriter {
  readonly builder: CsrBuilder;
  #cols = new Int32Array(256);
  #vals = new Float64Array(256);
  /** Count of column j in the current row, valid when #rowStamp[j] is the current row's number. */
  readonly #scratch: Float64Array;
  readonly #rowStamp: Int32Array;
  #row = 0;
  #k = 0;

  constructor(
    readonly idf: Float64Array,
    readonly sublinear: boolean,
    readonly l2: boolean,
  ) {
    this.builder = new CsrBuilder(idf.length);
    // One scratch slot per column (O(vocabulary), once).
    this.#scratch = new Float64Array(idf.length);
    this.#rowStamp = new Int32Array(idf.length);
  }

  /** Start a row of at most `maxEntries` distinct columns. */
  begin(maxEntries: number): void {
    this.#row++;
    this.#k = 0;
    if (maxEntries > this.#cols.length) {
      this.#cols = new Int32Array(maxEntries * 2);
      this.#vals = new Float64Array(maxEntries * 2);
    }
  }

  /** Add `count` occurrences of column `j` to the current row. */
  add(j: number, count: number): void {
    if (this.#rowStamp[j] !== this.#row) {
      this.#rowStamp[j] = this.#row;
      this.#scratch[j] = 0;
      this.#cols[this.#k++] = j;
    }
    this.#scratch[j]! += count;
  }

  /** Weigh, normalize and append the current row. */
  end(): void {
    const k = this.#k;
    const cols = this.#cols;
    const vals = this.#vals;
    const scratch = this.#scratch;
    const idf = this.idf;
    cols.subarray(0, k).sort();
    let sumSq = 0;
    for (let i = 0; i < k; i++) {
      const c = scratch[cols[i]!]!;
      const tf = this.sublinear ? 1 + Math.log(c) : c;
      const v = tf * idf[cols[i]!]!;
      vals[i] = v;
      sumSq += v * v;
    }
    if (this.l2 && sumSq > 0) {
      const inv = 1 / Math.sqrt(sumSq);
      for (let i = 0; i < k; i++) vals[i]! *= inv;
    }
    this.builder.appendRow(cols, vals, k);
  }
}

/** The transform side: gram ids of the vocabulary's terms (and their prefixes) -> column, -1 for none. */
interface Lookup {
  index: GramIndex;
  colOf: Int32Array;
}

/**
 * The integer lookup of a vocabulary, built from its term strings alone (so a vectorizer restored
 * from JSON transforms exactly as the fitted one): word terms 'w:' + tokens joined by ' ' are
 * interned token by token, char terms 'c:' + characters as they are.
 */
function buildLookup(vocabulary: readonly string[]): Lookup {
  const index = new GramIndex();
  const gramOf = new Int32Array(vocabulary.length);
  for (let j = 0; j < vocabulary.length; j++) {
    const term = vocabulary[j]!;
    if (term.startsWith(CHAR_PREFIX)) gramOf[j] = index.internChar(term.slice(CHAR_PREFIX.length));
    else if (term.startsWith(WORD_PREFIX)) {
      let g = -1;
      for (const token of term.slice(WORD_PREFIX.length).split(' '))
        g = index.intern(g, index.internToken(token));
      gramOf[j] = g;
    } else throw new MhmtlError(`stored feature state is corrupt: term '${term}' has no w:/c: prefix`);
  }
  const colOf = new Int32Array(index.size).fill(-1);
  for (let j = 0; j < vocabulary.length; j++) colOf[gramOf[j]!] = j;
  return { index, colOf };
}

/** Default budget of fit-transform's cached (n-gram, count) pairs: 2^25 pairs, 256 MB. */
export const DEFAULT_CACHE_PAIRS = 2 ** 25;

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
 * Memory: fitting holds one counter per distinct training term (50-80 bytes with its index
 * entry); fit-transform also keeps each training document's distinct (term, count) pairs (8
 * bytes a pair, bounded); transform output follows the non-zeros; nothing is ever
 * `documents x vocabulary` dense.
 */
export class TfidfVectorizer {
  readonly config: FeatureConfig;
  readonly #analyzer: Analyzer;
  #vocabulary: string[] | undefined;
  #lookup: Lookup | undefined;
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
    const counts = new FitCounts(this.#analyzer, this.config);
    for (const doc of docs) counts.add(doc);
    this.#finishFit(counts);
    return this;
  }

  /** {@link fit} over batches of documents, e.g. streamed from the database. */
  async fitBatches(batches: Batches): Promise<this> {
    const counts = new FitCounts(this.#analyzer, this.config);
    for await (const batch of batches) for (const doc of batch) counts.add(doc);
    this.#finishFit(counts);
    return this;
  }

  /** TF-IDF rows of the documents: `[docs.length, vocabulary.length]`. @throws MhmtlError when not fitted. */
  transform(docs: Iterable<Document>): CsrMatrix {
    const { idf, lookup } = this.#state();
    const writer = this.#rowWriter(idf);
    const counter = new GramCounter(lookup.index, this.config.word_ngrams, this.config.char_ngrams, false);
    const colOf = lookup.colOf;
    for (const doc of docs) {
      counter.run(this.#analyzer.normalize(doc));
      writer.begin(counter.length);
      const { grams, counts } = counter;
      for (let i = 0; i < counter.length; i++) {
        const j = colOf[grams[i]!]!;
        if (j >= 0) writer.add(j, counts[i]!);
      }
      writer.end();
    }
    return writer.builder.build();
  }

  /**
   * {@link fit} on the training documents and their TF-IDF rows, as scikit-learn's
   * `fit_transform`: the same vocabulary, IDF and `[documents, vocabulary]` matrix as
   * `fit(docs)` then `transform(docs)`, bit for bit, but each document is counted once: its
   * distinct (n-gram, count) pairs are kept from fitting (8 bytes a pair, up to `cachePairs`
   * pairs; the documents after the budget is spent are read again from `batches()` and counted).
   * @param batches makes the training documents' batches, in the same order each time it is called.
   * @throws MhmtlError as {@link fit}.
   */
  async fitTransformBatches(batches: () => Batches, cachePairs = DEFAULT_CACHE_PAIRS): Promise<CsrMatrix> {
    const { colOfGram, cache, documents } = await this.#fitCached(batches(), cachePairs);
    const { idf } = this.#state();
    const writer = this.#rowWriter(idf);
    const { blocks: cacheBlocks, block: cacheBlock, start: cacheStart, end: cacheEnd } = cache;
    const cachedDocuments = cache.documents;
    for (let d = 0; d < cachedDocuments; d++) {
      const b = cacheBlock[d]!;
      if (b > 0) cacheBlocks[b - 1] = EMPTY; // every document of the block before is written: free it
      const block = cacheBlocks[b]!;
      const end = cacheEnd[d]!;
      writer.begin((end - cacheStart[d]!) >> 1);
      for (let p = cacheStart[d]!; p < end; p += 2) {
        const j = colOfGram[block[p]!]!;
        if (j >= 0) writer.add(j, block[p + 1]!);
      }
      writer.end();
    }
    cacheBlocks.length = 0;
    const cached = writer.builder.build();
    if (cachedDocuments === documents) return cached;
    const blocks = [cached];
    let skip = cachedDocuments;
    for await (const batch of batches()) {
      if (skip >= batch.length) {
        skip -= batch.length;
        continue;
      }
      blocks.push(this.transform(skip > 0 ? batch.slice(skip) : batch));
      skip = 0;
    }
    return vstack(blocks, idf.length);
  }

  /**
   * Fit with the pair cache; only the cache and the gram -> column map outlive this call, so the
   * gram index and its counts can be collected before the rows are built.
   */
  async #fitCached(
    batches: Batches,
    cachePairs: number,
  ): Promise<{ colOfGram: Int32Array; cache: ReturnType<FitCounts['takeCache']>; documents: number }> {
    const counts = new FitCounts(this.#analyzer, this.config, cachePairs);
    for await (const batch of batches) for (const doc of batch) counts.add(doc);
    const colOfGram = this.#finishFit(counts);
    return { colOfGram, cache: counts.takeCache(), documents: counts.documents };
  }

  #rowWriter(idf: Float64Array): RowWriter {
    return new RowWriter(idf, this.config.sublinear_tf, this.config.norm === 'l2');
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

  /** Choose the vocabulary and IDF from the counts; returns the column of each fitted gram id (-1: none). */
  #finishFit(counts: FitCounts): Int32Array {
    const n = counts.documents;
    if (n === 0) throw new MhmtlError('cannot fit features on zero training units');
    const { min_df, max_df, max_features } = this.config;
    const minCount = min_df >= 1 ? min_df : min_df * n;
    const maxCount = max_df <= 1 ? max_df * n : max_df;
    const { index } = counts;
    const dfOf = (g: number) => counts.df(g);
    const total = (g: number) => counts.total(g);
    // Prune on integers first; strings are built only for the terms kept.
    let m = 0;
    let keptIds = new Int32Array(index.size);
    for (let g = 0; g < index.size; g++) {
      const d = dfOf(g);
      if (d > 0 && d >= minCount && d <= maxCount) keptIds[m++] = g;
    }
    keptIds = keptIds.subarray(0, m);
    if (m === 0) {
      throw new MhmtlError(
        `no terms remain after min_df=${min_df} / max_df=${max_df} over ${n} training units: lower min_df or raise max_df`,
      );
    }
    let chosen: Int32Array | number[] = keptIds;
    if (max_features !== null && m > max_features) {
      // Most frequent by total count, ties by df; the tie group at the cut is ordered by term.
      const byCount = Array.from(keptIds).sort((a, b) => total(b) - total(a) || dfOf(b) - dfOf(a));
      const edge = byCount[max_features - 1]!;
      const same = (g: number) => total(g) === total(edge) && dfOf(g) === dfOf(edge);
      let first = max_features - 1;
      while (first > 0 && same(byCount[first - 1]!)) first--;
      let last = max_features - 1;
      while (last + 1 < byCount.length && same(byCount[last + 1]!)) last++;
      const tie = byCount.slice(first, last + 1).map((g) => ({ g, term: index.term(g) }));
      tie.sort((a, b) => compareTerms(a.term, b.term));
      chosen = byCount.slice(0, first);
      for (let i = 0; chosen.length < max_features; i++) chosen.push(tie[i]!.g);
    }
    const terms = Array.from(chosen, (g) => ({ g, term: index.term(g), df: dfOf(g) }));
    terms.sort((a, b) => compareTerms(a.term, b.term));
    const colOfGram = new Int32Array(index.size).fill(-1);
    for (let j = 0; j < terms.length; j++) colOfGram[terms[j]!.g] = j;
    const kept = terms.map((t) => t.term);
    const idf = new Float64Array(kept.length);
    const df = new Int32Array(kept.length);
    for (let j = 0; j < kept.length; j++) {
      const d = terms[j]!.df;
      df[j] = d;
      idf[j] = this.config.smooth_idf ? Math.log((1 + n) / (1 + d)) + 1 : Math.log(n / d) + 1;
    }
    this.#documents = n;
    this.#setVocabulary(kept, idf, df);
    return colOfGram;
  }

  #setVocabulary(vocabulary: string[], idf: Float64Array, df: Int32Array): void {
    this.#vocabulary = vocabulary;
    this.#idf = idf;
    this.#df = df;
    this.#lookup = buildLookup(vocabulary);
  }

  #state(): { vocabulary: string[]; lookup: Lookup; idf: Float64Array } {
    if (!this.#vocabulary || !this.#lookup || !this.#idf) {
      throw new MhmtlError('the feature extractor is not fitted: call fit() on the training units first');
    }
    return { vocabulary: this.#vocabulary, lookup: this.#lookup, idf: this.#idf };
  }
}
