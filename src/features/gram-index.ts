import { MhmtlError } from '../errors.js';
import { CHAR_PREFIX, WORD_PREFIX } from './analyzer.js';

/** Prefix id of a unigram (a gram with no prefix gram). */
const ROOT = -1;

/**
 * Integer n-gram ids: a token dictionary (token string -> token id) and a gram table where each
 * word n-gram is (prefix gram id, last token id) -> gram id, so that an n-gram of any length is
 * found by n table probes on integers and never built as a string; character n-grams (strings
 * by nature) are interned in a Map. Gram ids are dense from 0; the string of a gram is rebuilt
 * only when asked ({@link term}), e.g. for the kept vocabulary after pruning.
 *
 * Unigrams are found by token id in a direct array; longer grams in an open-addressing table
 * (linear probing, load <= 1/2) whose slots [prefix, token, id] share one Int32Array, so a probe
 * touches one cache line (rarely two). Memory is 32-56 bytes per distinct gram (table and
 * per-gram prefix and token) plus the per-gram arrays of its user.
 */
export class GramIndex {
  /** Token string -> token id. */
  readonly tokens = new Map<string, number>();
  readonly tokenStrings: string[] = [];
  /** Per gram id: prefix gram id (ROOT for a unigram, -2 for a char gram) and last token id. */
  prefixOf = new Int32Array(1024);
  tokenOf = new Int32Array(1024);
  /** Number of grams. */
  size = 0;
  /** Open-addressing table of bigram-and-longer word grams: slots of [prefix, token, gram id]. */
  #slots = newSlots(1 << 12);
  #mask = (1 << 12) - 1;
  #wordGrams = 0;
  /** Unigram gram id per token id (-1 when the unigram is not a gram yet): no hashing for n = 1. */
  #unigram = new Int32Array(1024).fill(-1);
  readonly #chars = new Map<string, number>();
  readonly #charStrings = new Map<number, string>();

  /** The id of a token, added when new. @throws MhmtlError for a token containing a space. */
  internToken(token: string): number {
    let id = this.tokens.get(token);
    if (id === undefined) {
      if (token.indexOf(' ') >= 0) {
        throw new MhmtlError(`a token contains a space (word n-grams are joined by spaces): '${token}'`);
      }
      id = this.tokenStrings.length;
      this.tokens.set(token, id);
      this.tokenStrings.push(token);
    }
    return id;
  }

  /** The id of the word gram (prefix gram, token), or -1 when absent. `prefix` is -1 for a unigram. */
  find(prefix: number, token: number): number {
    if (prefix === ROOT) return token < this.#unigram.length ? this.#unigram[token]! : -1;
    return this.#slots[this.#slot(prefix, token) * 3 + 2]!;
  }

  /**
   * The hash-table slot of the word gram (prefix gram, token) by linear probing: the slot holding
   * it, or the empty slot where it would go (its id field then is -1).
   */
  #slot(prefix: number, token: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let h = hash(prefix, token) & mask;
    for (;;) {
      const at = h * 3;
      if (slots[at + 2]! < 0 || (slots[at] === prefix && slots[at + 1] === token)) return h;
      h = (h + 1) & mask;
    }
  }

  /** The id of the word gram (prefix gram, token), added when new. `prefix` is -1 for a unigram. */
  intern(prefix: number, token: number): number {
    if (prefix === ROOT) {
      if (token >= this.#unigram.length) {
        const u = new Int32Array(Math.max(this.#unigram.length * 2, token + 1)).fill(-1);
        u.set(this.#unigram);
        this.#unigram = u;
      }
      const g = this.#unigram[token]!;
      if (g >= 0) return g;
      const id = this.#newGram(ROOT, token);
      this.#unigram[token] = id;
      return id;
    }
    const at = this.#slot(prefix, token) * 3;
    const slots = this.#slots;
    const g = slots[at + 2]!;
    if (g >= 0) return g;
    const id = this.#newGram(prefix, token);
    slots[at] = prefix;
    slots[at + 1] = token;
    slots[at + 2] = id;
    if (++this.#wordGrams * 2 > this.#mask + 1) this.#rehash();
    return id;
  }

  /** The id of a character n-gram (its characters, without prefix), or -1 when absent. */
  findChar(chars: string): number {
    return this.#chars.get(chars) ?? -1;
  }

  /** The id of a character n-gram, added when new. */
  internChar(chars: string): number {
    let id = this.#chars.get(chars);
    if (id === undefined) {
      id = this.#newGram(-2, -1);
      this.#chars.set(chars, id);
      this.#charStrings.set(id, chars);
    }
    return id;
  }

  /** The feature name of a gram: 'w:' + tokens joined by ' ', or 'c:' + characters. */
  term(gram: number): string {
    const prefix = this.prefixOf[gram]!;
    if (prefix === -2) return CHAR_PREFIX + this.#charStrings.get(gram)!;
    const parts: string[] = [];
    for (let g = gram; g !== ROOT; g = this.prefixOf[g]!) parts.push(this.tokenStrings[this.tokenOf[g]!]!);
    return WORD_PREFIX + parts.reverse().join(' ');
  }

  #newGram(prefix: number, token: number): number {
    const id = this.size++;
    if (id >= 2 ** 31 - 1) throw new MhmtlError('more than 2^31 distinct n-grams');
    if (id >= this.prefixOf.length) {
      this.prefixOf = grow(this.prefixOf, id + 1);
      this.tokenOf = grow(this.tokenOf, id + 1);
    }
    this.prefixOf[id] = prefix;
    this.tokenOf[id] = token;
    return id;
  }

  #rehash(): void {
    const n = (this.#mask + 1) * 2;
    const slots = newSlots(n);
    const mask = n - 1;
    const old = this.#slots;
    for (let at = 0; at < old.length; at += 3) {
      const g = old[at + 2]!;
      if (g < 0) continue;
      let h = hash(old[at]!, old[at + 1]!) & mask;
      while (slots[h * 3 + 2]! >= 0) h = (h + 1) & mask;
      slots.set(old.subarray(at, at + 3), h * 3);
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

/** An empty slot table of `n` slots (gram id -1 everywhere). */
function newSlots(n: number): Int32Array {
  const slots = new Int32Array(n * 3);
  for (let at = 2; at < slots.length; at += 3) slots[at] = -1;
  return slots;
}

function hash(a: number, b: number): number {
  let h = Math.imul(a ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}

/** A copy of `a` with room for at least `min` elements (doubling). */
export function grow<T extends Int32Array | Float64Array>(a: T, min: number): T {
  let n = Math.max(1024, a.length);
  while (n < min) n *= 2;
  const b = new (a.constructor as { new (n: number): T })(n);
  b.set(a);
  return b;
}

/**
 * The grams of documents as integer ids with their counts: word n-grams within runs of tokens
 * between boundaries, and character n-grams within word boundaries (scikit-learn char_wb), the
 * same terms as {@link Analyzer.count} gives as strings. With `insert`, new tokens and grams are
 * added to the index (fitting); without, absent ones are skipped (transforming).
 */
export class GramCounter {
  /** Output of {@link run}: gram ids and their counts in the document, `length` entries (ids may repeat). */
  grams = new Int32Array(1024);
  counts = new Int32Array(1024);
  length = 0;
  #ids = new Int32Array(1024);
  readonly #charCache = new Map<string, Int32Array>();

  constructor(
    readonly index: GramIndex,
    readonly word: readonly [number, number] | null,
    readonly char: readonly [number, number] | null,
    readonly insert: boolean,
  ) {}

  /** Fill {@link grams} / {@link counts} with the grams of one normalized document (boundary ''). */
  run(doc: readonly string[]): void {
    this.length = 0;
    const index = this.index;
    if (this.word) {
      if (doc.length > this.#ids.length) this.#ids = new Int32Array(doc.length * 2);
      const ids = this.#ids;
      for (let i = 0; i < doc.length; i++) {
        const t = doc[i]!;
        ids[i] = t === '' ? -1 : this.insert ? index.internToken(t) : (index.tokens.get(t) ?? -2);
      }
      const [lo, hi] = this.word;
      for (let i = 0; i < doc.length; i++) {
        if (ids[i]! < 0) continue;
        let prefix = ROOT;
        for (let n = 1; n <= hi && i + n <= doc.length; n++) {
          const t = ids[i + n - 1]!;
          if (t < 0) break;
          const g = this.insert ? index.intern(prefix, t) : index.find(prefix, t);
          if (g < 0) break;
          if (n >= lo) this.#push(g, 1);
          prefix = g;
        }
      }
    }
    if (this.char) {
      const distinct = new Map<string, number>();
      for (const t of doc) if (t !== '') distinct.set(t, (distinct.get(t) ?? 0) + 1);
      for (const [t, c] of distinct) {
        let grams = this.#charCache.get(t);
        if (grams === undefined) {
          grams = this.#charGrams(t);
          if (this.#charCache.size > 1_000_000) this.#charCache.clear();
          this.#charCache.set(t, grams);
        }
        for (let k = 0; k < grams.length; k++) this.#push(grams[k]!, c);
      }
    }
  }

  #push(g: number, c: number): void {
    if (this.length === this.grams.length) {
      this.grams = grow(this.grams, this.length + 1);
      this.counts = grow(this.counts, this.length + 1);
    }
    this.grams[this.length] = g;
    this.counts[this.length++] = c;
  }

  /** Char n-gram ids of one token, with multiplicity (as Analyzer's char_wb counting). */
  #charGrams(token: string): Int32Array {
    const [lo, hi] = this.char!;
    const w = ` ${token} `;
    const chars: readonly string[] = /[\uD800-\uDFFF]/.test(w) ? Array.from(w) : w.split('');
    const len = chars.length;
    const out: number[] = [];
    const add = (a: number, b: number) => {
      const s = chars.slice(a, b).join('');
      const g = this.insert ? this.index.internChar(s) : this.index.findChar(s);
      if (g >= 0) out.push(g);
    };
    for (let n = lo; n <= hi; n++) {
      let offset = 0;
      add(offset, offset + n);
      while (offset + n < len) {
        offset++;
        add(offset, offset + n);
      }
      if (offset === 0) break; // a short token counts once as a whole (as scikit-learn)
    }
    return Int32Array.from(out);
  }
}
