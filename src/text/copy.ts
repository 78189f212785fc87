/**
 * Encode one `text[]` value for PostgreSQL's COPY text format: an array literal with every
 * element double-quoted (backslash and double quote escaped), then COPY's own escapes (backslash,
 * tab, newline, carriage return). Equivalent to `encodeCopyText` for an array column, faster for
 * the common token that needs no escaping.
 */
export function copyTextArray(tokens: readonly string[]): string {
  let s = '{';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (i > 0) s += ',';
    s += NEEDS_ESCAPE.test(t) ? `"${escapeCopy(t.replace(/[\\"]/g, '\\$&'))}"` : `"${t}"`;
  }
  return `${s}}`;
}

/**
 * {@link copyTextArray} of the tokens of `text`, faster when `text` has no backslash and no double
 * quote: then no token needs escaping (tokens never contain tab, newline or carriage return: the
 * tokenizer splits on them), and the literal is one join.
 */
export function copyTokensOf(text: string, tokens: readonly string[]): string {
  if (tokens.length === 0) return '{}';
  if (text.indexOf('\\') >= 0 || text.indexOf('"') >= 0) return copyTextArray(tokens);
  return `{"${tokens.join('","')}"}`;
}

/** One scalar value for COPY text format (backslash, tab, newline, carriage return escaped). */
export function copyTextScalar(value: string): string {
  return NEEDS_ESCAPE.test(value) ? escapeCopy(value) : value;
}

const NEEDS_ESCAPE = /[\\"\t\n\r]/;

function escapeCopy(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** Anything that tokenizes a batch of texts (the {@link Tokenizer}'s `tokenizeMany`). */
export interface BatchTokenizer {
  tokenizeMany(texts: readonly string[]): string[][];
}

/** COPY-encoded tokens of a batch of texts: `literals[i]` is text i's `text[]` value. */
export interface EncodedBatch {
  literals: string[];
  /** Tokens per text. */
  counts: Int32Array;
  /** Sum of counts. */
  total: number;
}

/** Tokenize `texts` and encode each text's tokens as a COPY `text[]` value. */
export function encodeBatch(tokenizer: BatchTokenizer, texts: readonly string[]): EncodedBatch {
  const tokens = tokenizer.tokenizeMany(texts);
  const literals: string[] = new Array(texts.length);
  const counts = new Int32Array(texts.length);
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    literals[i] = copyTokensOf(texts[i]!, tokens[i]!);
    counts[i] = tokens[i]!.length;
    total += tokens[i]!.length;
  }
  return { literals, counts, total };
}

/** A whole COPY text-format payload: one line per text, and the number of tokens in it. */
export interface EncodedRows {
  data: string;
  total: number;
}

/**
 * Tokenize `texts` and build COPY text-format lines `keys[i] + prefix + tokens + '\t' + n_tokens`,
 * one per text, ending in a newline (`keys[i]` and `prefix` already COPY-encoded, tab-separated).
 * One string per batch: a worker hands back one string instead of thousands.
 */
export function encodeRows(
  tokenizer: BatchTokenizer,
  keys: readonly string[],
  texts: readonly string[],
  prefix: string,
): EncodedRows {
  const tokens = tokenizer.tokenizeMany(texts);
  const lines: string[] = new Array(texts.length + 1);
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    const t = tokens[i]!;
    lines[i] = `${keys[i]}${prefix}${copyTokensOf(texts[i]!, t)}\t${t.length}`;
    total += t.length;
  }
  lines[texts.length] = '';
  return { data: lines.join('\n'), total };
}
