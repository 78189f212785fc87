import { PLACEHOLDERS } from '../text/placeholders.js';

/** How many spans of each kind one call of {@link scrubText} replaced. */
export interface ScrubCounts {
  user: number;
  url: number;
  email: number;
  phone: number;
}

// Common top-level domains recognized on a bare host without a path ("imgur.com"); any 2-letter
// country code or these are recognized with a path ("bit.ly/x", "example.de/a").
const TLDS =
  'com|net|org|edu|gov|mil|int|info|biz|io|co|me|ly|tv|app|dev|xyz|online|site|blog|news|us|uk|ca|de|fr|es|it|nl|ru|jp|cn|br|au|in|eu';
const HOST = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** Characters a URL may end on (trailing punctuation is left in the text). */
const URL_TAIL = String.raw`[^\s<>"'${'`'}]*[^\s<>"'${'`'}.,;:!?)\]}*]`;

const EMAIL = String.raw`[a-z0-9._%+-]+@${HOST}(?:\.${HOST})*\.[a-z]{2,24}`;
const URL_SCHEME = String.raw`(?:https?|ftp):\/\/${URL_TAIL}|www\.${HOST}(?:\.${HOST})+(?:[/?#]${URL_TAIL})?`;
const URL_BARE = String.raw`(?<![\w@.\-/])${HOST}(?:\.${HOST})*\.(?:(?:${TLDS})\b(?:[/?#]${URL_TAIL})?|[a-z]{2,6}\/${URL_TAIL})`;
const REDDIT_USER = String.raw`(?<![\w/])\/?(?:u|user)\/[\w-]{2,}`;
const MENTION = String.raw`(?<![\w@.])@[\p{L}\p{N}_](?:[\p{L}\p{N}_.]*[\p{L}\p{N}_])?`;
// Phone-like: optional +country, optional (area), groups of 2-4 digits split by space, dot or
// dash; or a bare run of 10-13 digits. Kept only when it has 10-15 digits (or 7+ with + or ()),
// so that dates (2015-03-14), times and plain numbers are left alone.
const PHONE = String.raw`(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,5}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,6}){1,4}(?![\w-])|(?<![\w+])\+?\d{10,13}(?!\w)`;

const COMBINED = new RegExp(
  `(?<email>${EMAIL})|(?<url>${URL_SCHEME}|${URL_BARE})|(?<user>${REDDIT_USER}|${MENTION})|(?<phone>${PHONE})`,
  'giu',
);

function phoneDigits(span: string): boolean {
  let digits = 0;
  for (let i = 0; i < span.length; i++) {
    const c = span.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  if (digits > 15) return false;
  if (digits >= 10) return true;
  return digits >= 7 && (span.startsWith('+') || span.includes('('));
}

/** Cheap test: can `text` hold anything {@link scrubText} replaces? (no '@', '/', '.', or digit: no) */
function mayContain(text: string): boolean {
  return /[@/.\d]/.test(text);
}

/**
 * Replace identifying spans with the placeholders of src/text/placeholders.ts, keeping nothing of
 * the span: e-mail addresses -> '<email>'; URLs (http, https, ftp, www., and bare host names with
 * a common TLD, or any TLD followed by a path) -> '<url>'; @mentions and Reddit u/name, /u/name,
 * /user/name -> '@user'; phone numbers (10-15 digits in groups, or 7+ with a + or an area code in
 * parentheses) -> '<phone>'. Subreddit names (r/name), #hashtags, plain numbers and dates are
 * kept. Matching is case-insensitive; one pass over the text.
 * @returns the scrubbed text and how many spans of each kind were replaced.
 */
export function scrubText(text: string, counts?: ScrubCounts): string {
  if (!mayContain(text)) return text;
  COMBINED.lastIndex = 0;
  return text.replace(COMBINED, (match: string, ...args: unknown[]) => {
    const groups = args[args.length - 1] as Record<string, string | undefined>;
    if (groups.email !== undefined) {
      if (counts) counts.email++;
      return PLACEHOLDERS.email;
    }
    if (groups.url !== undefined) {
      if (counts) counts.url++;
      return PLACEHOLDERS.url;
    }
    if (groups.user !== undefined) {
      if (counts) counts.user++;
      return PLACEHOLDERS.user;
    }
    if (phoneDigits(match)) {
      if (counts) counts.phone++;
      return PLACEHOLDERS.phone;
    }
    return match;
  });
}

/** A fresh all-zero {@link ScrubCounts}. */
export function emptyScrubCounts(): ScrubCounts {
  return { user: 0, url: 0, email: 0, phone: 0 };
}
