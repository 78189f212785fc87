import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MhmtlError } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';
import { type EncodedBatch, type EncodedRows, encodeBatch, encodeRows } from './copy.js';
import { DEFAULT_TOKENIZER_CONFIG, Tokenizer, type TokenizerConfig } from './tokenizer.js';

/** A request to a tokenizer worker: the tokens themselves, COPY-ready `text[]` literals, or COPY lines. */
export type WorkerRequest =
  | { id: number; mode: 'tokens'; texts: string[] }
  | { id: number; mode: 'copy'; texts: string[] }
  | { id: number; mode: 'rows'; texts: string[]; keys: string[]; prefix: string };
/** A worker's answer to the request with the same id. */
export type WorkerResponse =
  | { id: number; tokens: string[][] }
  | { id: number; literals: string[]; counts: Int32Array; total: number }
  | { id: number; data: string; total: number }
  | { id: number; error: string };

export type { EncodedBatch, EncodedRows };

/**
 * Where the compiled worker is: next to this module when running from dist/, else the package's
 * dist/ (tests and tools run the TypeScript sources, which have no .js worker to start).
 * @throws MhmtlError when no compiled worker exists (run `npm run build`).
 */
export function tokenizerWorkerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const dist = path.join(PACKAGE_ROOT, 'dist', 'text', 'worker.js');
  if (existsSync(dist)) return pathToFileURL(dist);
  throw new MhmtlError(`the compiled tokenizer worker is missing (${dist}): run \`npm run build\``);
}

/** Number of worker threads to use by default: the machine's cores. */
export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism());
}

/**
 * Young-generation limit of a worker's V8 heap, MB. A worker's live data (the wink-nlp model) sits
 * in the old generation; with V8's default young generation (tens of MB) each of the workers kept
 * about 20 MB more resident: 2,000-user cohort, 2 workers, 44,122 posts: 297 -> 263 MB peak RSS at
 * 8 MB, 10.3 -> 7.4 s (medians of two, load 17). `mhmtl run` on a server at 2,000 users: 362 MB
 * (median of four) at 8 MB, 352 MB (median of three) at 4 MB, wall time within the load's noise
 * (issue 19).
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/** Requests a worker holds at most: the one it works on and the next. */
const PIPELINE_DEPTH = 2;

interface Pending {
  request: WorkerRequest;
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
}

/**
 * A pool of tokenizer worker_threads, each with its own wink-nlp instance, fed from a FIFO queue
 * with up to two batches in flight per worker (answers come back in order per worker). With `workers: 0` it tokenizes in-process (no threads).
 * Close it with {@link close} (otherwise the threads keep the process alive).
 */
export class TokenizerPool {
  readonly workers: number;
  readonly config: Readonly<TokenizerConfig>;
  readonly #threads: Worker[] = [];
  /** Requests posted to each worker and not answered yet, oldest first (a worker answers in order). */
  readonly #inFlight = new Map<Worker, Pending[]>();
  readonly #queue: Pending[] = [];
  readonly #local: Tokenizer | undefined;
  #nextId = 0;
  #failure: Error | undefined;

  /**
   * @param options.workers threads to start (default: the cores); 0 tokenizes in the calling thread.
   * @throws MhmtlError when threads are asked for and the compiled worker is missing.
   */
  constructor(options: { workers?: number; config?: Partial<TokenizerConfig> } = {}) {
    this.config = Object.freeze({ ...DEFAULT_TOKENIZER_CONFIG, ...options.config });
    this.workers = Math.max(0, Math.floor(options.workers ?? defaultWorkerCount()));
    if (this.workers === 0) {
      this.#local = new Tokenizer(this.config);
      return;
    }
    const url = tokenizerWorkerUrl();
    for (let i = 0; i < this.workers; i++) {
      const worker = new Worker(url, {
        workerData: { config: this.config },
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
      worker.on('message', (response: WorkerResponse) => this.#settle(worker, response));
      worker.on('error', (error) => this.#fail(worker, error));
      worker.on('exit', (code) => {
        if (code !== 0) this.#fail(worker, new Error(`tokenizer worker exited with code ${code}`));
      });
      this.#threads.push(worker);
      this.#inFlight.set(worker, []);
    }
  }

  /** The tokens of each text, in order: `[texts.length][tokens]`. */
  async tokenize(texts: string[]): Promise<string[][]> {
    if (this.#local) return this.#local.tokenizeMany(texts);
    const r = await this.#submit({ id: this.#nextId++, mode: 'tokens', texts });
    return (r as { tokens: string[][] }).tokens;
  }

  /** The tokens of each text encoded as COPY-ready `text[]` values (see {@link copyTextArray}). */
  async encode(texts: string[]): Promise<EncodedBatch> {
    if (this.#local) return encodeBatch(this.#local, texts);
    return (await this.#submit({ id: this.#nextId++, mode: 'copy', texts })) as EncodedBatch;
  }

  /**
   * A COPY text-format payload for a batch: line i is `keys[i] + prefix + tokens of texts[i] +
   * '\t' + their count` (see {@link encodeRows}); the worker returns it as one string.
   */
  async encodeRows(keys: string[], texts: string[], prefix: string): Promise<EncodedRows> {
    if (this.#local) return encodeRows(this.#local, keys, texts, prefix);
    return (await this.#submit({ id: this.#nextId++, mode: 'rows', texts, keys, prefix })) as EncodedRows;
  }

  /** Stop every thread. Pending work is rejected. */
  async close(): Promise<void> {
    this.#failure ??= new Error('tokenizer pool closed');
    for (const p of this.#queue.splice(0)) p.reject(this.#failure);
    await Promise.all(this.#threads.map((w) => w.terminate()));
  }

  #submit(request: WorkerRequest): Promise<WorkerResponse> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#dispatch();
    });
  }

  /**
   * Post queued requests to the workers with the fewest in flight, up to {@link PIPELINE_DEPTH}
   * each: a worker finds its next batch already in its inbox when it answers one, instead of
   * idling while the answer reaches this thread and the next batch is cloned to it.
   */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      let best: Worker | undefined;
      let fewest = PIPELINE_DEPTH;
      for (const w of this.#threads) {
        const n = this.#inFlight.get(w)!.length;
        if (n < fewest) {
          best = w;
          fewest = n;
        }
      }
      if (best === undefined) return;
      const pending = this.#queue.shift()!;
      this.#inFlight.get(best)!.push(pending);
      best.postMessage(pending.request);
    }
  }

  #settle(worker: Worker, response: WorkerResponse): void {
    const pending = this.#inFlight.get(worker)!.shift();
    if (pending) {
      if ('error' in response) pending.reject(new Error(`tokenizer worker failed: ${response.error}`));
      else pending.resolve(response);
    }
    this.#dispatch();
  }

  #fail(worker: Worker, error: Error): void {
    this.#failure ??= error;
    for (const p of this.#inFlight.get(worker)?.splice(0) ?? []) p.reject(error);
    for (const p of this.#queue.splice(0)) p.reject(error);
  }
}
