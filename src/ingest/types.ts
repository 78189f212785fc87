import type { ScrubCounts } from './scrub.js';

/** What a file holds: posts, user-level labels, or Reddit posts whose labels come from a mapping. */
export type IngestKind = 'posts' | 'labels' | 'reddit';
/** Input file formats ('auto' picks by extension, then by the first byte). */
export type InputFormat = 'jsonl' | 'csv' | 'tsv';

/** Why a row went to quarantine. */
export type RejectReason = 'malformed_json' | 'malformed_csv' | 'schema' | 'bad_date' | 'empty_text';

/**
 * Community-to-task mapping for Reddit dumps: `tasks` maps a task to its communities, `controls`
 * lists communities negative for every task. Names compare case-insensitively.
 */
export interface CommunityMapping {
  tasks: Record<string, string[]>;
  controls?: string[];
}

/**
 * CSV/TSV column mapping: which input column holds each contract field (default: the field's own
 * name). Also applied to JSON Lines property names.
 */
export type ColumnMapping = Partial<
  Record<'user_id' | 'post_id' | 'created_at' | 'text' | 'lang' | 'task' | 'label' | 'community', string>
>;

/** A clean, scrubbed, pseudonymized post, ready to store (or to predict on). */
export interface CleanPost {
  type: 'post';
  /** 1-based line of the record's first line in the (decompressed) file. */
  line: number;
  userId: string;
  postId: string;
  /** ISO-8601 UTC. */
  createdAt: string;
  text: string;
  lang: string | null;
  /** Hash of the normalized scrubbed text (32 hex). */
  textHash: string;
  community: string | null;
  /** e.g. ['truncated']. */
  flags: string[];
}

/** A user-level label: 1 positive, 0 negative, null unknown. */
export interface CleanLabel {
  type: 'label';
  line: number;
  userId: string;
  task: string;
  label: 0 | 1 | null;
}

/** A row that cannot be loaded; `raw` is already scrubbed. */
export interface RejectedRow {
  type: 'reject';
  line: number;
  reason: RejectReason;
  /** The reason and the field, e.g. "bad_date: created_at: unparseable date \"2015-02-30\"" (stored in quarantine.reason). */
  message: string;
  raw: string;
}

/** A row deliberately not loaded (e.g. a moderator-distinguished Reddit post). */
export interface SkippedRow {
  type: 'skip';
  line: number;
  reason: string;
}

/** What the reader + scrub + pseudonymize pipeline yields, in file order. */
export type CleanRow = CleanPost | CleanLabel | RejectedRow | SkippedRow;

/** Counters filled while rows are read (shared by a whole file). */
export interface ReadStats {
  /** Records read (lines or CSV records, excluding the header and blank lines). */
  records: number;
  /** Repairs by kind: nul_removed, invalid_utf8, lone_surrogate, truncated, html_entities. */
  repaired: Record<string, number>;
  /** Skipped rows by reason: distinguished, unmapped_community (posts loaded without labels). */
  skipped: Record<string, number>;
  /** Scrubbed spans by kind. */
  scrubbed: ScrubCounts;
  /** Posts loaded without labels because their community is in no mapping (Reddit). */
  unlabelled: number;
}

/** Progress of a stage: rows handled so far, and bytes of the input read (when known). */
export interface Progress {
  rows: number;
  bytes?: number;
  totalBytes?: number;
}
