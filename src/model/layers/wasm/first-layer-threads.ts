import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../../../errors.js';
import { PACKAGE_ROOT } from '../../../version.js';

/** Environment variable: threads of the sparse first layer's training kernels (default 1). */
export const THREADS_ENV = 'MHMTL_THREADS';

/** Threads a new layer uses when not told: `MHMTL_THREADS` (an integer >= 1), else 1. @throws UsageError on a bad value. */
export function defaultThreads(): number {
  const raw = process.env[THREADS_ENV];
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError(`${THREADS_ENV}: expected an integer from 1 to 64, got '${raw}'`);
  return n;
}

/** The kernels a worker runs, by op number (index). */
export type ThreadKernelName = 'forward' | 'adam' | 'adagrad';
const OPS: Record<ThreadKernelName, number> = { forward: 0, adam: 1, adagrad: 2 };
/** Op number telling a worker to stop. */
export const OP_EXIT = 9;

/** Int32 slots of a worker's control block (floats share the buffer as float32 slots). */
export const CONTROL = {
  seq: 0,
  done: 1,
  op: 2,
  failed: 3,
  intCount: 4,
  floatCount: 5,
  ints: 8,
  floats: 24,
  size: 32,
} as const;

/** One part of a kernel call: its integer (pointer, count) and float arguments, in the kernel's order. */
export interface KernelPart {
  ints: readonly number[];
  floats: readonly number[];
}

/** Where the compiled worker is (dist/, also when the TypeScript sources run, as the tokenizer pool does). */
function workerUrl(): URL {
  const here = new URL('./first-layer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const dist = path.join(PACKAGE_ROOT, 'dist', 'model', 'layers', 'wasm', 'first-layer-worker.js');
  if (existsSync(dist)) return pathToFileURL(dist);
  throw new Error(`the compiled first-layer worker is missing (${dist}): run npm run build`);
}

/** How long the main thread waits for a worker's part before giving up (a worker that did not start). */
const WAIT_MS = 120_000;

/**
 * `threads - 1` worker threads sharing a layer's WebAssembly memory with the main thread: a kernel
 * call is cut into `threads` parts, part 0 runs on the calling thread and part p on worker p while
 * the caller waits (synchronously, `Atomics.wait`) for all of them. The parts write disjoint rows
 * (units of the forward pass, touched rows of W for the update) and each row's arithmetic is the
 * same whatever the partition, so results do not depend on the thread count. Workers are unref'ed
 * (they never keep the process alive); {@link close} stops them.
 */
export class FirstLayerThreads {
  private readonly workers: Worker[] = [];
  private readonly controls: Int32Array[] = [];

  /**
   * @param module the shared-memory kernel module (first-layer-shared.wasm);
   * @param memory the layer's shared memory; @param threads >= 2.
   */
  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    readonly threads: number,
  ) {
    const url = workerUrl();
    for (let p = 1; p < threads; p++) {
      const control = new SharedArrayBuffer(CONTROL.size * 4);
      const worker = new Worker(url, { workerData: { module, memory, control } });
      worker.unref();
      this.workers.push(worker);
      this.controls.push(new Int32Array(control));
    }
  }

  /**
   * Run `parts[0]` with `run` on this thread and `parts[p]` on worker p, and return when all are done.
   * @throws Error when a worker's part failed or did not finish in two minutes.
   */
  call(name: ThreadKernelName, parts: readonly KernelPart[], run: (part: KernelPart) => void): void {
    const seqs: number[] = [];
    for (let p = 1; p < parts.length; p++) {
      const ctl = this.controls[p - 1]!;
      const floats = new Float32Array(ctl.buffer);
      const part = parts[p]!;
      ctl[CONTROL.op] = OPS[name];
      ctl[CONTROL.intCount] = part.ints.length;
      ctl[CONTROL.floatCount] = part.floats.length;
      part.ints.forEach((v, i) => {
        ctl[CONTROL.ints + i] = v;
      });
      part.floats.forEach((v, i) => {
        floats[CONTROL.floats + i] = v;
      });
      seqs.push(Atomics.add(ctl, CONTROL.seq, 1) + 1);
      Atomics.notify(ctl, CONTROL.seq);
    }
    run(parts[0]!);
    for (let p = 1; p < parts.length; p++) {
      const ctl = this.controls[p - 1]!;
      const seq = seqs[p - 1]!;
      const started = performance.now();
      for (;;) {
        const done = Atomics.load(ctl, CONTROL.done);
        if (done === seq) break;
        if (performance.now() - started > WAIT_MS) throw new Error(`first-layer worker ${p} did not answer`);
        Atomics.wait(ctl, CONTROL.done, done, 1000);
      }
      if (ctl[CONTROL.failed] !== 0) throw new Error(`first-layer worker ${p} failed in ${name}`);
    }
  }

  /** Stop the workers. Idempotent. */
  close(): void {
    for (const ctl of this.controls) {
      ctl[CONTROL.op] = OP_EXIT;
      Atomics.add(ctl, CONTROL.seq, 1);
      Atomics.notify(ctl, CONTROL.seq);
    }
    this.controls.length = 0;
    this.workers.length = 0;
  }
}
