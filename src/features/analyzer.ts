import { createRequire } from 'node:module';
import type { FeatureConfig } from './config.js';
import { MaskSet } from './masking.js';

/**
 * The boundary token: put between posts when a unit's posts are concatenated, and in place of a
 * masked term. It is never a term itself, and no n-gram spans it.
 */
export const BOUNDARY = '';

/** Word n-gram features are named 'w:' + tokens joined by one space; character n-grams 'c:' + chars. */
export const WORD_PREFIX = 'w:';
export const CHAR_PREFIX = 'c:';

const SURROGATE = /[\uD800-\uDFFF]/;
const STEMMABLE = /^[a-z]+$/;

type Stemmer = { stem(token: string): string };
let porter: Stemmer | undefined;
function porterStemmer(): Stemmer {
  // natural's submodule, never its root (the root takes 1.4 s and loads database clients).
  porter ??= createRequire(import.meta.url)('natural/lib/natural/stemmers/porter_stemmer.js') as Stemmer;
  return porter;
}

/**
 * Turns a document (a token array) into term counts, as a scikit-learn analyzer followed by
 * CountVectorizer's counting: masking, optional Porter stemming, word n-grams, character n-grams
 * within word boundaries. Pure and deterministic; keeps a stem cache.
 */
export class Analyzer {
  readonly #config: FeatureConfig;
  /** The masked terms (exact, prefix or regular expression; see ./masking.ts). */
  readonly #masks: MaskSet;
  readonly #stems = new Map<string, string>();

  constructor(config: FeatureConfig) {
    this.#config = config;
    this.#masks = new MaskSet(config.masked_terms);
  }

  /** The tokens after masking (masked spans become {@link BOUNDARY}) and stemming. */
  normalize(tokens: readonly string[]): string[] {
    const out: string[] = new Array(tokens.length);
    const stem = this.#config.stemming;
    const masking = this.#masks.size > 0;
    let n = 0;
    for (let i = 0; i < tokens.length; i++) {
      let t = tokens[i]!;
      if (masking) {
        const covered = this.#masks.match(tokens, i);
        if (covered > 0) {
          out[n++] = BOUNDARY;
          i += covered - 1;
          continue;
        }
      }
      if (stem && STEMMABLE.test(t)) {
        let s = this.#stems.get(t);
        if (s === undefined) {
          s = porterStemmer().stem(t);
          this.#stems.set(t, s);
        }
        t = s;
      }
      out[n++] = t;
    }
    out.length = n;
    return out;
  }

  /**
   * Term counts of one document: word n-grams (within runs of tokens between boundaries) and
   * character n-grams of each token (scikit-learn char_wb: ' ' + token + ' ', n-grams over code
   * points, a token shorter than n counted once as a whole).
   */
  count(tokens: readonly string[], into: Map<string, number> = new Map()): Map<string, number> {
    const doc = this.normalize(tokens);
    const word = this.#config.word_ngrams;
    if (word) {
      const [lo, hi] = word;
      for (let i = 0; i < doc.length; i++) {
        if (doc[i] === BOUNDARY) continue;
        let key = WORD_PREFIX;
        for (let n = 1; n <= hi && i + n <= doc.length; n++) {
          const t = doc[i + n - 1]!;
          if (t === BOUNDARY) break;
          key = n === 1 ? key + t : `${key} ${t}`;
          if (n >= lo) into.set(key, (into.get(key) ?? 0) + 1);
        }
      }
    }
    const char = this.#config.char_ngrams;
    if (char) {
      const tokenCounts = new Map<string, number>();
      for (const t of doc) if (t !== BOUNDARY) tokenCounts.set(t, (tokenCounts.get(t) ?? 0) + 1);
      for (const [t, c] of tokenCounts) this.#charNgrams(t, c, char[0], char[1], into);
    }
    return into;
  }

  #charNgrams(token: string, times: number, lo: number, hi: number, into: Map<string, number>): void {
    const w = ` ${token} `;
    const chars: readonly string[] | string = SURROGATE.test(w) ? Array.from(w) : w;
    const len = chars.length;
    const gram =
      typeof chars === 'string'
        ? (a: number, b: number) => chars.slice(a, b)
        : (a: number, b: number) => chars.slice(a, b).join('');
    for (let n = lo; n <= hi; n++) {
      let offset = 0;
      let key = CHAR_PREFIX + gram(offset, offset + n);
      into.set(key, (into.get(key) ?? 0) + times);
      while (offset + n < len) {
        offset++;
        key = CHAR_PREFIX + gram(offset, offset + n);
        into.set(key, (into.get(key) ?? 0) + times);
      }
      if (offset === 0) break; // a short token counts once as a whole (as scikit-learn)
    }
  }
}
