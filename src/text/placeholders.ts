/**
 * The placeholders that ingest's scrubber writes in place of identifying spans, and that the
 * tokenizer keeps as one token each. Nothing of the replaced span is kept.
 */
export const PLACEHOLDERS = {
  /** An @mention or a Reddit u/name. */
  user: '@user',
  /** A URL (http, https, www. or a bare domain with a path). */
  url: '<url>',
  /** An e-mail address. */
  email: '<email>',
  /** A telephone number. */
  phone: '<phone>',
} as const;

export type PlaceholderKind = keyof typeof PLACEHOLDERS;
