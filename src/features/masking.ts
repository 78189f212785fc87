/**
 * Masked terms (leakage control, e.g. Harrigian, Aguirre & Dredze 2020): which tokens a masked
 * term removes. Three forms, all case-insensitive and all matching a token as written, as a
 * hashtag (`#term`) and as a community reference (`r/term`):
 * - an exact term, one word or several (`"suicide watch"` removes the two consecutive tokens);
 * - a prefix, a word ending in `*` (`"depress*"` removes depressed, depression, #depressed);
 *   in a multi-word term any word may be a prefix (`"panic attack*"`);
 * - a regular expression between slashes (`"/suicid(e|al|ality)/"`), JavaScript syntax, that must match
 *   the WHOLE token (it is anchored: `/suicid/` removes only "suicid"); one token only.
 * Pure; no SQL.
 */

/** One word of a masked term: an exact lowercase word, a lowercase prefix, or an anchored regex. */
type WordMatcher = { exact: string } | { prefix: string } | { regex: RegExp };

/** A parsed masked term: its words in order. */
export interface MaskedTerm {
  words: WordMatcher[];
}

const REGEX_TERM = /^\/(.+)\/$/s;

/** The regex of a `/.../` term, anchored and case-insensitive. @throws SyntaxError from the engine. */
function compile(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'i');
}

/**
 * What is wrong with a masked term, or null: an empty term, a malformed regular expression (the
 * term and the engine's message), a lone `*`.
 */
export function maskedTermProblem(term: string): string | null {
  if (typeof term !== 'string' || term.trim() === '') return 'a masked term must be a non-empty string';
  const regex = REGEX_TERM.exec(term.trim());
  if (regex) {
    try {
      compile(regex[1]!);
    } catch (error) {
      return `${term}: ${(error as Error).message}`;
    }
    return null;
  }
  if (term.split(/\s+/).some((w) => w === '*'))
    return `${term}: '*' must end a word of at least one letter (e.g. depress*)`;
  return null;
}

/**
 * Parse a masked term (see the module comment).
 * @throws SyntaxError for a malformed regular expression (check with {@link maskedTermProblem}).
 */
export function parseMaskedTerm(term: string): MaskedTerm {
  const t = term.trim();
  const regex = REGEX_TERM.exec(t);
  if (regex) return { words: [{ regex: compile(regex[1]!) }] };
  return {
    words: t
      .toLowerCase()
      .split(/\s+/)
      .map((w) => (w.length > 1 && w.endsWith('*') ? { prefix: w.slice(0, -1) } : { exact: w })),
  };
}

/** The token without a leading '#' or 'r/' (the forms a masked term also matches), lowercased. */
function bare(token: string): string {
  const t = token.toLowerCase();
  if (t.startsWith('#')) return t.slice(1);
  if (t.startsWith('r/')) return t.slice(2);
  return t;
}

function matchesWord(m: WordMatcher, token: string | undefined): boolean {
  if (token === undefined) return false;
  const lower = token.toLowerCase();
  const b = bare(token);
  if ('exact' in m) return lower === m.exact || b === m.exact;
  if ('prefix' in m) return lower.startsWith(m.prefix) || b.startsWith(m.prefix);
  return m.regex.test(token) || m.regex.test(b);
}

/**
 * Masks a token sequence: {@link MaskSet.match} says how many tokens a masked term removes at a
 * position (the longest match), 0 when none.
 */
export class MaskSet {
  /** Exact first words -> the terms starting with them; the others are tried at every position. */
  readonly #byFirst = new Map<string, MaskedTerm[]>();
  readonly #other: MaskedTerm[] = [];

  constructor(terms: readonly string[]) {
    for (const term of terms) {
      const parsed = parseMaskedTerm(term);
      const first = parsed.words[0]!;
      if ('exact' in first) {
        const list = this.#byFirst.get(first.exact) ?? [];
        list.push(parsed);
        this.#byFirst.set(first.exact, list);
      } else this.#other.push(parsed);
    }
  }

  /** Whether there is any term. */
  get size(): number {
    return this.#byFirst.size + this.#other.length;
  }

  /** Number of tokens from `tokens[i]` on that the longest matching term covers; 0 for none. */
  match(tokens: readonly string[], i: number): number {
    const t = tokens[i]!;
    const lower = t.toLowerCase();
    const b = bare(t);
    let best = this.#longest(this.#byFirst.get(lower), tokens, i, 0);
    if (b !== lower) best = this.#longest(this.#byFirst.get(b), tokens, i, best);
    return this.#longest(this.#other, tokens, i, best);
  }

  #longest(
    terms: readonly MaskedTerm[] | undefined,
    tokens: readonly string[],
    i: number,
    best: number,
  ): number {
    if (!terms) return best;
    for (const term of terms) {
      const n = term.words.length;
      if (n > best && term.words.every((w, k) => matchesWord(w, tokens[i + k]))) best = n;
    }
    return best;
  }
}
