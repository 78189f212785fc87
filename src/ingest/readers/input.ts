import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { cannotRead } from '../../errors.js';
import type { InputFormat } from '../types.js';

/** An opened input file: a stream of its (decompressed) bytes and what was read so far. */
export interface Input {
  /** Decompressed bytes. */
  stream: Readable;
  gzip: boolean;
  /** Size of the file on disk, bytes. */
  totalBytes: number;
  /** File bytes read so far (compressed bytes for gzip). */
  bytesRead(): number;
  /** SHA-256 (hex) of the file bytes; complete once the stream has ended. */
  sha256(): string;
}

/**
 * Open a file for streaming: gzip detected by its magic bytes (1f 8b), not by its name; the
 * SHA-256 and byte count of the file bytes are computed on the way.
 * @throws MhmtlError (exit 1) when the file does not exist, is a directory or cannot be read.
 */
export async function openInput(file: string): Promise<Input> {
  let totalBytes: number;
  let gzip = false;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    totalBytes = st.size;
    const fh = await open(file, 'r');
    try {
      const head = Buffer.alloc(2);
      const { bytesRead } = await fh.read(head, 0, 2, 0);
      gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
    } finally {
      await fh.close();
    }
  } catch (error) {
    throw cannotRead(file, error);
  }
  const hash = createHash('sha256');
  let read = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      read += chunk.length;
      cb(null, chunk);
    },
  });
  let digest: string | undefined;
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  raw.on('error', (err) => tap.destroy(err));
  let stream: Readable = raw.pipe(tap);
  if (gzip) {
    const gunzip = createGunzip();
    tap.on('error', (err) => gunzip.destroy(err));
    stream = tap.pipe(gunzip);
  }
  return {
    stream,
    gzip,
    totalBytes,
    bytesRead: () => read,
    sha256: () => {
      digest ??= hash.copy().digest('hex');
      return digest;
    },
  };
}

/**
 * Choose a format: by extension (.jsonl/.ndjson/.json, .csv, .tsv/.tab; a trailing .gz ignored),
 * else by the first non-blank byte of the content ('{' JSON Lines, a tab in the first line TSV,
 * else CSV).
 */
export function detectFormat(file: string, head: string): InputFormat {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (/\.(jsonl|ndjson|json)$/.test(name)) return 'jsonl';
  if (/\.csv$/.test(name)) return 'csv';
  if (/\.(tsv|tab)$/.test(name)) return 'tsv';
  const trimmed = head.trimStart();
  if (trimmed.startsWith('{')) return 'jsonl';
  const firstLine = trimmed.split('\n', 1)[0] ?? '';
  return firstLine.includes('\t') ? 'tsv' : 'csv';
}

/** The first `n` decompressed bytes of a file as text (for format detection). */
export async function peekText(file: string, n = 4096): Promise<string> {
  const input = await openInput(file);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input.stream) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= n) break;
  }
  input.stream.destroy();
  return Buffer.concat(chunks).subarray(0, n).toString('utf8');
}
