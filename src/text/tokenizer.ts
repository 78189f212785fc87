import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import winkNLP, { type Tokens } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { PLACEHOLDERS } from './placeholders.js';

/**
 * What the tokenizer does beyond wink-nlp's defaults. Every field is part of the tokenizer
 * signature: changing one re-tokenizes every post on the next `mhmtl tokenize`.
 */
export interface TokenizerConfig {
  /** Keep punctuation tokens (',', '.', '!', '...'). Emoticons and symbols are always kept. */
  punctuation: boolean;
}

export const DEFAULT_TOKENIZER_CONFIG: Readonly<TokenizerConfig> = Object.freeze({ punctuation: false });

/** Which tokenizer made a post's tokens (stored beside them in `mhmtl.post_tokens`). */
export interface TokenizerSignature {
  /** 'mhmtl-wink'. */
  name: string;
  /** The rules' version and the versions of wink-nlp and its model, e.g. '1 wink-nlp/2.4.0 model/1.8.1'. */
  version: string;
  /** First 16 hex digits of SHA-256 over the canonical JSON of the {@link TokenizerConfig}. */
  configHash: string;
}

/** Separates the texts' segments in one wink document (never inside a token: wink splits on whitespace). */
const SEPARATOR = '\u0003';
const SEPARATOR_JOIN = ` ${SEPARATOR}\n`;
const KIND_UNKNOWN = -2;
const KIND_OFFSET = 2;
const KIND_SKIP = 0;
const KIND_SEPARATOR = -1;
const KIND_WORD = 1;
const KIND_GLUE_ONLY = 2;
const KIND_REGIONAL = 4;
const KIND_TAIL = 8;

/** Texts per wink document in {@link Tokenizer.tokenizeMany}. */
export const TOKENIZE_CHUNK = 100;

/** Bumped whenever a rule below changes the tokens of some input. */
export const TOKENIZER_RULES_VERSION = '1';
export const TOKENIZER_NAME = 'mhmtl-wink';

function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The signature of the tokenizer built from `config` in this installation. */
export function tokenizerSignature(config: TokenizerConfig = DEFAULT_TOKENIZER_CONFIG): TokenizerSignature {
  const canonical = JSON.stringify({ punctuation: config.punctuation });
  return {
    name: TOKENIZER_NAME,
    version: `${TOKENIZER_RULES_VERSION} wink-nlp/${packageVersion('wink-nlp')} model/${packageVersion('wink-eng-lite-web-model')}`,
    configHash: createHash('sha256').update(canonical).digest('hex').slice(0, 16),
  };
}

/** Placeholders written by ingest's scrubber that wink would split ('<', 'url', '>'). */
const PLACEHOLDER_SPLIT = new RegExp(
  `(${[PLACEHOLDERS.url, PLACEHOLDERS.email, PLACEHOLDERS.phone].map((p) => p.replace(/[<>]/g, '\\$&')).join('|')})`,
);
const PLACEHOLDER_TOKENS = new Set<string>(Object.values(PLACEHOLDERS));
/** Code points that wink splits off an emoji: ZWJ, variation selector 16, keycap, skin tones, tags, flags. */
const EMOJI_GLUE_TEST = /[\u200d\ufe0f\u20e3\u{1F3FB}-\u{1F3FF}\u{1F1E6}-\u{1F1FF}\u{E0020}-\u{E007F}]/u;
const EMOJI_GLUE_ONLY = /^[\u200d\ufe0f\u20e3\u{1F3FB}-\u{1F3FF}\u{E0020}-\u{E007F}]+$/u;
const REGIONAL_INDICATOR = /^[\u{1F1E6}-\u{1F1FF}]$/u;
/** The contraction tails wink splits off a word ("ca" + "n't", "she" + "'s"), after ’ -> '. */
const CONTRACTION_TAILS = new Set(["n't", "'s", "'m", "'re", "'ve", "'ll", "'d"]);

/**
 * The mhmtl tokenizer: wink-nlp (wink-eng-lite-web-model) in tokenize-only mode (`readDoc` with
 * an empty pipe) plus these rules, applied in order:
 *  1. the scrub placeholders '<url>', '<email>', '<phone>' (and '@user', a mention to wink) are
 *     one token each, never joined to anything;
 *  2. URLs, e-mails, @mentions, #hashtags, emoji and emoticons are single tokens (wink's types);
 *  3. emoji sequences wink splits are repaired: a skin-tone modifier, variation selector, keycap
 *     or ZWJ is joined to the emoji before it, the emoji after a ZWJ is joined to it, and two
 *     regional indicators make one flag;
 *  4. contractions: the typographic apostrophe ’ becomes ', and a contraction tail wink splits
 *     off ("n't", "'s", "'m", "'re", "'ve", "'ll", "'d") is rejoined to its word, so "Can't" ->
 *     "can't", "she's" -> "she's" (the surface form; never expanded to "can not");
 *  5. everything is lowercased except emoticons (":D" stays ":D"); accented letters and non-Latin
 *     scripts are kept whole (wink's 'unk' tokens are kept);
 *  6. whitespace tokens are dropped, and punctuation tokens unless `config.punctuation`.
 * Throughput against a raw wink-nlp tokenize-only loop: measured by src/bench/tokenize.ts.
 */
export class Tokenizer {
  readonly config: Readonly<TokenizerConfig>;
  readonly signature: TokenizerSignature;
  readonly #nlp = winkNLP(model, []);
  readonly #its = this.#nlp.its;

  constructor(config: Partial<TokenizerConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_TOKENIZER_CONFIG, ...config });
    this.signature = tokenizerSignature(this.config);
  }

  /** The tokens of one text, in order (see the class comment for the rules). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    if (text.indexOf('<') >= 0 && PLACEHOLDER_SPLIT.test(text)) {
      const parts = text.split(PLACEHOLDER_SPLIT);
      for (let i = 0; i < parts.length; i++) {
        // split with a capturing group: odd positions are the placeholders themselves.
        if (i % 2 === 1) out.push(parts[i]!);
        else if (parts[i]!.length > 0) this.#segment(parts[i]!, out);
      }
    } else {
      this.#segment(text, out);
    }
    return out;
  }

  /**
   * The tokens of many texts, identical to `texts.map((t) => this.tokenize(t))` and faster: the
   * texts' placeholder-free segments are joined into one wink document (separated by a
   * whitespace-delimited separator character; wink never joins across whitespace), so wink's
   * per-document cost is paid once per batch, and each distinct wink token's lowercased value
   * and type are looked up once per thread (by wink's unique id) instead of per occurrence.
   * A text containing the separator (U+0003) itself is tokenized alone. The texts go to wink
   * {@link TOKENIZE_CHUNK} at a time: a larger wink document is slower per token (measured:
   * 2,000 texts a document ran at 0.88-0.90 of the raw per-text loop, 100 at 1.09-1.13).
   * @returns `[texts.length][tokens]`.
   */
  tokenizeMany(texts: readonly string[]): string[][] {
    if (texts.length <= TOKENIZE_CHUNK) return this.#tokenizeChunk(texts);
    const result: string[][] = [];
    for (let from = 0; from < texts.length; from += TOKENIZE_CHUNK) {
      for (const tokens of this.#tokenizeChunk(texts.slice(from, from + TOKENIZE_CHUNK))) result.push(tokens);
    }
    return result;
  }

  #tokenizeChunk(texts: readonly string[]): string[][] {
    const result: string[][] = new Array(texts.length);
    // Segments of the joined document, in order, and for each the text it belongs to; a
    // placeholder is pushed straight to its text's output between segments (see below).
    const parts: string[] = [];
    /** For each segment: its text's index, and the placeholder (or null) that follows it. */
    const owner: number[] = [];
    const after: (string | null)[] = [];
    for (let t = 0; t < texts.length; t++) {
      const text = texts[t]!;
      if (text.indexOf(SEPARATOR) >= 0) {
        result[t] = this.tokenize(text);
        continue;
      }
      result[t] = [];
      if (text.indexOf('<') >= 0 && PLACEHOLDER_SPLIT.test(text)) {
        const split = text.split(PLACEHOLDER_SPLIT);
        // Odd positions are the placeholders; an empty segment still carries the one after it.
        for (let i = 0; i < split.length; i += 2) {
          parts.push(split[i]!);
          owner.push(t);
          after.push(i + 1 < split.length ? split[i + 1]! : null);
        }
      } else {
        parts.push(text);
        owner.push(t);
        after.push(null);
      }
    }
    if (parts.length === 0) return result;
    const joined = parts.join(SEPARATOR_JOIN);
    const tokens = this.#nlp.readDoc(joined).tokens();
    const ids = tokens.out(this.#its.uniqueId) as unknown as number[];
    const values = this.#values;
    const raws = this.#raws;
    let seg = 0;
    let out = result[owner[0]!]!;
    let start = out.length;
    let lastWink = -1;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let kind = id < this.#kinds.length ? this.#kinds[id]! - KIND_OFFSET : KIND_UNKNOWN;
      if (kind === KIND_UNKNOWN) kind = this.#learn(id, tokens, i);
      if (kind === KIND_SKIP) continue;
      if (kind === KIND_SEPARATOR) {
        const placeholder = after[seg];
        if (placeholder !== null) out.push(placeholder!);
        seg++;
        out = result[owner[seg]!]!;
        start = out.length;
        lastWink = -1;
        continue;
      }
      // Joining rules (see #segment) apply only to a token right after the previous kept one
      // with no space between; wink's preceding spaces are looked up only for candidates.
      if (lastWink === i - 1 && out.length > start) {
        const prev = out[out.length - 1]!;
        const zwj = prev.charCodeAt(prev.length - 1) === 0x200d;
        if (
          (zwj || (kind & (KIND_GLUE_ONLY | KIND_REGIONAL | KIND_TAIL)) !== 0) &&
          tokens.itemAt(i).out(this.#its.precedingSpaces) === ''
        ) {
          if (
            zwj ||
            (kind & KIND_GLUE_ONLY) !== 0 ||
            ((kind & KIND_REGIONAL) !== 0 && REGIONAL_INDICATOR.test(prev))
          ) {
            // Glue joins wink's value as it is (as #segment does, before lowercasing).
            out[out.length - 1] = prev + raws[id]!;
            lastWink = i;
            continue;
          }
          if ((kind & KIND_TAIL) !== 0 && !PLACEHOLDER_TOKENS.has(prev)) {
            out[out.length - 1] = prev + values[id]!;
            lastWink = i;
            continue;
          }
        }
      }
      out.push(values[id]!);
      lastWink = i;
    }
    const placeholder = after[seg];
    if (placeholder !== null && placeholder !== undefined) out.push(placeholder);
    return result;
  }

  /**
   * Per wink unique id (dense tables, grown by doubling): the value as wink gives it, the output
   * value (lowercased unless an emoticon, ’ -> '), and the kind bits plus KIND_OFFSET (0: not seen).
   */
  #raws: string[] = [];
  #values: string[] = [];
  #kinds = new Int8Array(0);

  /** Fill the per-id tables for wink token `i` of `tokens` (whose unique id is new); its kind. */
  #learn(id: number, tokens: Tokens, i: number): number {
    const item = tokens.itemAt(i);
    const raw = item.out() as string;
    const type = item.out(this.#its.type) as string;
    let kind = KIND_WORD;
    let v = raw;
    if (raw === SEPARATOR) kind = KIND_SEPARATOR;
    else if (type === 'tabCRLF' || type === 'spaces') kind = KIND_SKIP;
    else if (type === 'punctuation' && !this.config.punctuation) kind = KIND_SKIP;
    else {
      if (type !== 'emoticon') v = v.toLowerCase();
      if (v.indexOf('’') >= 0) v = v.replace(/’/g, "'");
      if (EMOJI_GLUE_ONLY.test(raw)) kind |= KIND_GLUE_ONLY;
      if (REGIONAL_INDICATOR.test(raw)) kind |= KIND_REGIONAL;
      if (CONTRACTION_TAILS.has(v)) kind |= KIND_TAIL;
    }
    if (id >= this.#kinds.length) {
      const n = Math.max(1024, 2 ** Math.ceil(Math.log2(id + 1)));
      const kinds = new Int8Array(n);
      kinds.set(this.#kinds);
      this.#kinds = kinds;
      // Dense (never holey) arrays: fill the new slots.
      for (let k = this.#raws.length; k < n; k++) {
        this.#raws.push('');
        this.#values.push('');
      }
    }
    this.#raws[id] = raw;
    this.#values[id] = v;
    this.#kinds[id] = kind + KIND_OFFSET;
    return kind;
  }

  /** Tokenize one placeholder-free segment, appending to `out`. */
  #segment(text: string, out: string[]): void {
    const tokens = this.#nlp.readDoc(text).tokens();
    const values = tokens.out() as string[];
    const types = tokens.out(this.#its.type) as string[];
    const hasApostrophe = text.indexOf("'") >= 0 || text.indexOf('’') >= 0;
    const hasGlue = EMOJI_GLUE_TEST.test(text);
    const spaces = hasApostrophe || hasGlue ? (tokens.out(this.#its.precedingSpaces) as string[]) : null;
    const keepPunctuation = this.config.punctuation;
    // Index (in wink's tokens) of the token that produced out's last element; -1 when none.
    let lastWink = -1;
    const start = out.length;
    for (let i = 0; i < values.length; i++) {
      let v = values[i]!;
      const type = types[i]!;
      if (type === 'tabCRLF' || type === 'spaces') continue;
      if (type === 'punctuation' && !keepPunctuation) continue;
      const adjacent = spaces !== null && lastWink === i - 1 && spaces[i] === '' && out.length > start;
      if (hasGlue && adjacent) {
        const prev = out[out.length - 1]!;
        if (
          EMOJI_GLUE_ONLY.test(v) ||
          prev.endsWith('\u200d') ||
          (REGIONAL_INDICATOR.test(v) && REGIONAL_INDICATOR.test(prev))
        ) {
          out[out.length - 1] = prev + v;
          lastWink = i;
          continue;
        }
      }
      if (type !== 'emoticon') v = v.toLowerCase();
      if (hasApostrophe) {
        if (v.indexOf('’') >= 0) v = v.replace(/’/g, "'");
        if (adjacent && CONTRACTION_TAILS.has(v) && !PLACEHOLDER_TOKENS.has(out[out.length - 1]!)) {
          out[out.length - 1] += v;
          lastWink = i;
          continue;
        }
      }
      out.push(v);
      lastWink = i;
    }
  }
}
