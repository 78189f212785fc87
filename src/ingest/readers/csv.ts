import { isUtf8 } from 'node:buffer';
import { type Readable, Transform } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import type { RawRecord } from './record.js';

/**
 * Read CSV or TSV with a header line (csv-parse: RFC 4180 quoting, quoted fields may hold
 * newlines and delimiters; a BOM is dropped). Each record becomes an object keyed by header
 * name. A record that cannot be parsed (wrong number of fields, broken quoting) yields a record
 * with `error` (reason malformed_csv) and its line number; the rest of the file is still read.
 * Invalid UTF-8 is replaced with U+FFFD by the decoder and flagged (`invalidUtf8`) on the records
 * whose lines hold it, found on the bytes, so a real U+FFFD in the input is not taken for a repair.
 */
export async function* readCsv(stream: Readable, delimiter: ',' | '\t'): AsyncGenerator<RawRecord> {
  const skipped: RawRecord[] = [];
  const utf8 = invalidUtf8Lines();
  // csv-parse counts a line at every CR and every LF, except the LF of a CRLF record delimiter:
  // each CR inside a record (a quoted CRLF) counts one line too many. Lines are counted by LF
  // here, at parse time (on_record, on_skip), in file order.
  let innerCr = 0;
  const parser = parse({
    columns: (header: string[]) => header.map((h) => h.trim()),
    delimiter,
    bom: true,
    raw: true,
    info: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    relax_quotes: delimiter === '\t',
    on_record: (item: unknown): RawRecord => {
      const { record, raw, info } = item as {
        record: Record<string, string>;
        raw: string;
        info: { lines: number };
      };
      // raw ends with the record delimiter's first character: '\n' (LF files) or '\r' (CRLF), and
      // starts with what is left of skipped empty lines.
      const body = raw.replace(/[\r\n]$/, '').replace(/^[\r\n]+/, '');
      innerCr += countChar(body, '\r');
      const newlines = countNewlines(body);
      const line = info.lines - innerCr - newlines;
      return { line, raw: body, value: record, invalidUtf8: utf8.take(line, line + newlines) };
    },
    on_skip: (err: CsvError | undefined, raw: string | undefined) => {
      const lines = Number((err as { lines?: number } | undefined)?.lines ?? 0);
      const body = (raw ?? '').trim();
      innerCr += countChar(body, '\r');
      const newlines = countNewlines(body);
      const line = Math.max(1, lines - innerCr - newlines);
      utf8.take(line, line + newlines); // a rejected record is not repaired
      skipped.push({
        line,
        raw: body,
        // csv-parse's "on line N" counts the CR of a quoted CRLF as a line, and its "opening quote
        // at line N" (a quote never closed) is the end of the file: name the record's line instead
        error: {
          reason: 'malformed_csv',
          message: err?.message.replace(/\b(on|at) line \d+/, `$1 line ${line}`) ?? 'unparseable record',
        },
      });
      return undefined;
    },
  });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(utf8.tap).pipe(parser);
  try {
    for await (const item of parser) {
      while (skipped.length > 0) yield skipped.shift()!;
      yield item as RawRecord;
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

/**
 * A pass-through tap that notes the lines (1-based, counted by LF) whose bytes are not valid
 * UTF-8. A block of whole lines is checked at once (node:buffer isUtf8) and only an invalid block
 * line by line; no UTF-8 sequence contains the byte LF, so lines can be checked apart. Bytes after
 * the last LF wait for the next chunk. `take(first, last)`: did any of these lines hold invalid
 * UTF-8 (each line is reported once)? The parser only sees bytes the tap has passed on, so the
 * lines of a record it parses have been checked.
 */
function invalidUtf8Lines(): { tap: Transform; take(first: number, last: number): boolean } {
  const invalid = new Set<number>();
  let carry: Buffer | undefined;
  let lines = 0;
  const check = (block: Buffer) => {
    if (isUtf8(block)) {
      for (let i = block.indexOf(0x0a); i >= 0; i = block.indexOf(0x0a, i + 1)) lines++;
      return;
    }
    let start = 0;
    for (;;) {
      const nl = block.indexOf(0x0a, start);
      if (!isUtf8(block.subarray(start, nl < 0 ? block.length : nl))) invalid.add(lines + 1);
      if (nl < 0) return;
      lines++;
      start = nl + 1;
    }
  };
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      const end = buf.lastIndexOf(0x0a) + 1;
      if (end > 0) check(buf.subarray(0, end));
      carry = end < buf.length ? buf.subarray(end) : undefined;
      cb(null, chunk);
    },
    flush(cb) {
      if (carry) check(carry);
      carry = undefined;
      cb();
    },
  });
  return {
    tap,
    take(first, last) {
      let found = false;
      for (let l = first; l <= last; l++) if (invalid.delete(l)) found = true;
      return found;
    },
  };
}

function countNewlines(s: string): number {
  return countChar(s, '\n');
}

function countChar(s: string, c: string): number {
  let n = 0;
  for (let i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) n++;
  return n;
}
