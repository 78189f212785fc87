import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { RawRecord } from './record.js';

/**
 * Read JSON Lines: one JSON object per line, blank lines ignored, CRLF accepted. Streams: only
 * the current line is held. Invalid UTF-8 is replaced with U+FFFD and flagged; a line that is not
 * a JSON object yields a record with `error` (reason malformed_json) and the line number.
 */
export async function* readJsonl(stream: Readable): AsyncGenerator<RawRecord> {
  let carry: Buffer | undefined;
  let line = 0;
  for await (const chunk of stream) {
    let buf = carry ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      line++;
      const rec = parseLine(buf.subarray(start, nl), line);
      if (rec) yield rec;
      start = nl + 1;
    }
    carry = start < buf.length ? buf.subarray(start) : undefined;
    buf = Buffer.alloc(0);
  }
  if (carry && carry.length > 0) {
    line++;
    const rec = parseLine(carry, line);
    if (rec) yield rec;
  }
}

function parseLine(bytes: Buffer, line: number): RawRecord | undefined {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  const b = bytes.subarray(0, end);
  const invalidUtf8 = !isUtf8(b);
  const raw = b.toString('utf8');
  if (raw.trim() === '') return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { line, raw, invalidUtf8, error: { reason: 'malformed_json', message: 'not a JSON object' } };
    }
    return { line, raw, invalidUtf8, value: value as Record<string, unknown> };
  } catch (error) {
    return { line, raw, invalidUtf8, error: { reason: 'malformed_json', message: (error as Error).message } };
  }
}
