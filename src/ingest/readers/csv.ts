import type { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import type { RawRecord } from './record.js';

/**
 * Read CSV or TSV with a header line (csv-parse: RFC 4180 quoting, quoted fields may hold
 * newlines and delimiters; a BOM is dropped). Each record becomes an object keyed by header
 * name. A record that cannot be parsed (wrong number of fields, broken quoting) yields a record
 * with `error` (reason malformed_csv) and its line number; the rest of the file is still read.
 */
export async function* readCsv(stream: Readable, delimiter: ',' | '\t'): AsyncGenerator<RawRecord> {
  const skipped: RawRecord[] = [];
  const parser = parse({
    columns: (header: string[]) => header.map((h) => h.trim()),
    delimiter,
    bom: true,
    raw: true,
    info: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    relax_quotes: delimiter === '\t',
    on_skip: (err: CsvError | undefined, raw: string | undefined) => {
      const lines = Number((err as { lines?: number } | undefined)?.lines ?? 0);
      const body = (raw ?? '').trimEnd();
      skipped.push({
        line: Math.max(1, lines - countNewlines(body.trimStart())),
        raw: body.trimStart(),
        error: { reason: 'malformed_csv', message: err?.message ?? 'unparseable record' },
      });
      return undefined;
    },
  });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(parser);
  try {
    for await (const item of parser) {
      while (skipped.length > 0) yield skipped.shift()!;
      const { record, raw, info } = item as {
        record: Record<string, string>;
        raw: string;
        info: { lines: number };
      };
      // csv-parse leaves '\n' at the end of raw for LF files, and '\r' (counting one more line)
      // for CRLF files.
      const crlf = raw.endsWith('\r');
      const body = raw.replace(/\r?\n?$/, '');
      yield {
        line: info.lines - (crlf ? 1 : 0) - countNewlines(body),
        raw: body,
        value: record,
        invalidUtf8: body.includes('\uFFFD'),
      };
    }
  } catch (error) {
    while (skipped.length > 0) yield skipped.shift()!;
    const err = error as CsvError & { lines?: number };
    if ((err as NodeJS.ErrnoException).code?.startsWith('CSV_')) {
      yield {
        line: Number(err.lines ?? 0),
        raw: '',
        error: { reason: 'malformed_csv', message: err.message },
      };
      return;
    }
    throw error;
  }
  while (skipped.length > 0) yield skipped.shift()!;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
