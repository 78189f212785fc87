/**
 * Ingest: readers (JSON Lines, CSV/TSV, Reddit dumps; gzip by magic bytes), validation against
 * schemas/, text repair, scrubbing, keyed pseudonyms, and the bulk loader.
 */
export {
  type CleanOptions,
  type CleanStream,
  checkInput,
  cleanRecords,
  emptyReadStats,
  openClean,
} from './clean.js';
export { type IngestOptions, type IngestSummary, ingestFile } from './load.js';
export { loadMapping, type ResolvedMapping, resolveMapping } from './mapping.js';
export { createPseudonymizer, PSEUDONYM_KEY_ENV, type Pseudonymizer, pseudonymizer } from './pseudonym.js';
export { DEFAULT_MAX_TEXT_LENGTH, parseCreatedAt, textHash, truncateCodePoints } from './repair.js';
export { emptyScrubCounts, type ScrubCounts, scrubText } from './scrub.js';
export type * from './types.js';
