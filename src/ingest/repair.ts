import { hash } from 'node:crypto';

// ES2024 string methods (Node 20 has them; the project's lib is ES2023).
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

/** Default maximum post length in Unicode code points. */
export const DEFAULT_MAX_TEXT_LENGTH = 100_000;

/**
 * Repair a text so PostgreSQL accepts it: remove U+0000 (PostgreSQL rejects it in text), replace
 * lone UTF-16 surrogates with U+FFFD. Counts each repair kind once per text in `repaired`.
 */
export function repairText(text: string, repaired: Record<string, number>): string {
  let out = text;
  if (out.includes('\u0000')) {
    out = out.replaceAll('\u0000', '');
    bump(repaired, 'nul_removed');
  }
  if (!(out as unknown as WellFormed).isWellFormed()) {
    out = (out as unknown as WellFormed).toWellFormed();
    bump(repaired, 'lone_surrogate');
  }
  return out;
}

/**
 * Cut `text` to at most `max` Unicode code points, never inside a surrogate pair.
 * @returns the text and whether it was cut.
 */
export function truncateCodePoints(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  let points = 0;
  let i = 0;
  while (i < text.length && points < max) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    points++;
  }
  return i >= text.length ? { text, truncated: false } : { text: text.slice(0, i), truncated: true };
}

/**
 * Hash of a normalized text: lower case, whitespace runs collapsed to one space, trimmed;
 * SHA-256, first 128 bits as 32 hex. Identifies a post of a source without post ids.
 */
export function textHash(text: string): string {
  const normalized = text.toLowerCase().replace(/\s+/g, ' ').trim();
  // crypto.hash (one shot, Node >= 20.12) is ~3x faster than createHash for short texts.
  return hash('sha256', normalized, 'hex').slice(0, 32);
}

/** An ISO-8601 local date-time: groups year, month, day, hour, minute, second (optional). */
const ISO_LOCAL = String.raw`(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?`;
const ISO_WITH_OFFSET = new RegExp(String.raw`^${ISO_LOCAL}(?:Z|[+-]\d{2}(?::?\d{2})?)$`, 'i');
const ISO_WITHOUT_OFFSET = new RegExp(`^${ISO_LOCAL}$`, 'i');
const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Why {@link parseCreatedAt} refused `value`, in words for a quarantine reason: "no UTC offset in
 * ..." for an ISO-8601 date-time without one, else "unparseable date ...".
 */
export function createdAtProblem(value: unknown): string {
  if (typeof value === 'string' && ISO_DATE.test(value.trim())) {
    return `no UTC offset in ${JSON.stringify(value)} (write ${value.trim()}T00:00:00Z, or with +hh:mm: a date without a time and offset is in an unknown zone)`;
  }
  return typeof value === 'string' && ISO_WITHOUT_OFFSET.test(value.trim())
    ? `no UTC offset in ${JSON.stringify(value)} (add Z or +hh:mm: a time without one is in an unknown zone)`
    : `unparseable date ${JSON.stringify(value)}`;
}

/**
 * The one rule for a time written in a pipeline (e.g. `unit.time_window`), the same as for a
 * post's `created_at` written as text: ISO-8601 with `Z` or a UTC offset, a real date.
 * @returns null when `value` follows it, else why not in {@link createdAtProblem}'s words.
 */
export function isoTimeProblem(value: string): string | null {
  return ISO_WITH_OFFSET.test(value.trim()) && parseCreatedAt(value) !== null
    ? null
    : createdAtProblem(value);
}
const MIN_MS = Date.UTC(1970, 0, 1);
const MAX_MS = Date.UTC(2200, 0, 1);

/**
 * Parse a post time: ISO-8601 with a UTC offset or Z, or epoch seconds (a number or a numeric
 * string, fractions allowed). A time without an offset is refused (it would be read in some
 * unknown zone), as are impossible dates (2015-02-30) and times outside 1970..2200.
 * @returns ISO-8601 UTC, or null when unparseable.
 */
export function parseCreatedAt(value: unknown): string | null {
  let ms: number;
  if (typeof value === 'number') {
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const s = value.trim();
    if (NUMERIC.test(s)) {
      ms = Number(s) * 1000;
    } else {
      const m = ISO_WITH_OFFSET.exec(s);
      if (!m) return null;
      const mo = Number(m[2]);
      const d = Number(m[3]);
      if (mo < 1 || mo > 12 || d < 1 || Number(m[4]) > 23 || Number(m[5]) > 59) return null;
      if (m[6] !== undefined && Number(m[6]) > 60) return null;
      if (d > 28 && new Date(Date.UTC(Number(m[1]), mo - 1, d)).getUTCDate() !== d) return null;
      ms = Date.parse(s.charCodeAt(10) === 0x20 ? `${s.slice(0, 10)}T${s.slice(11)}` : s);
    }
  } else {
    return null;
  }
  if (!Number.isFinite(ms) || ms < MIN_MS || ms > MAX_MS) return null;
  return new Date(ms).toISOString();
}

/** Add one to `counts[key]`. */
export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
