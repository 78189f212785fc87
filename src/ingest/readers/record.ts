/** One record as a reader yields it: where it is, its raw text, and its fields or why it failed. */
export interface RawRecord {
  /** 1-based line of the record's first line. */
  line: number;
  /** The raw text of the record (unscrubbed: never store it as is). */
  raw: string;
  /** Field values by name, when the record parsed. */
  value?: Record<string, unknown>;
  /** Why it did not parse. */
  error?: { reason: 'malformed_json' | 'malformed_csv'; message: string };
  /** The record's bytes were not valid UTF-8 (replaced with U+FFFD). */
  invalidUtf8?: boolean;
}
