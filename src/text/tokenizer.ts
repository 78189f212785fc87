import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import winkNLP from 'wink-nlp';
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
