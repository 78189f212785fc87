import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../version.js';

/**
 * Loader and memory manager of the WebAssembly SIMD kernels of the sparse first layer
 * (src/model/layers/wasm/first-layer.wat, compiled by `npm run build` into
 * dist/model/layers/wasm/first-layer.wasm). The kernels compute what the JavaScript ones of
 * src/model/layers/embedding-bag.ts and src/model/optimizers.ts compute, four float32 lanes at a time.
 */

/** Where `npm run build` writes the compiled kernels. */
export const FIRST_LAYER_WASM = path.join(
  PACKAGE_ROOT,
  'dist',
  'model',
  'layers',
  'wasm',
  'first-layer.wasm',
);

/** The largest memory a wasm32 module can address: 65,536 pages of 64 KiB (4 GiB). */
const MAX_PAGES = 65_536;
const PAGE = 65_536;

interface FirstLayerExports {
  forward(
    rows: number,
    indptr: number,
    indices: number,
    values: number,
    w: number,
    bias: number,
    width: number,
    out: number,
  ): void;
  adam(
    touched: number,
    features: number,
    start: number,
    entryRow: number,
    entryValue: number,
    dz: number,
    w: number,
    m: number,
    s: number,
    width: number,
    g: number,
    decay: number,
    lrC1: number,
    c2: number,
    beta1: number,
    beta2: number,
    eps: number,
  ): void;
  adagrad(
    touched: number,
    features: number,
    start: number,
    entryRow: number,
    entryValue: number,
    dz: number,
    w: number,
    s: number,
    width: number,
    g: number,
    decay: number,
    lr: number,
  ): void;
}

/** The same kernels importing a shared memory, for worker threads (./first-layer-threads.ts). */
export const FIRST_LAYER_SHARED_WASM = FIRST_LAYER_WASM.replace(/\.wasm$/, '-shared.wasm');

let compiled: WebAssembly.Module | null | undefined;
let compiledShared: WebAssembly.Module | null | undefined;

/** The shared-memory twin of {@link firstLayerModule} (cached), or null when it is not built or cannot compile. */
export function firstLayerSharedModule(): WebAssembly.Module | null {
  if (compiledShared !== undefined) return compiledShared;
  try {
    compiledShared = new WebAssembly.Module(readFileSync(FIRST_LAYER_SHARED_WASM));
  } catch {
    compiledShared = null;
  }
  return compiledShared;
}
let unavailable = '';

/**
 * The compiled kernel module (cached), or null when it cannot be used here: the .wasm file is not
 * built, or this runtime lacks WebAssembly SIMD. {@link wasmKernelUnavailableReason} says which.
 */
export function firstLayerModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(readFileSync(FIRST_LAYER_WASM));
  } catch (error) {
    compiled = null;
    unavailable =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${path.relative(PACKAGE_ROOT, FIRST_LAYER_WASM)} is not built (run npm run build)`
        : `cannot compile ${path.relative(PACKAGE_ROOT, FIRST_LAYER_WASM)}: ${(error as Error).message}`;
  }
  return compiled;
}

/** Why {@link firstLayerModule} returned null ('' when it did not). */
export function wasmKernelUnavailableReason(): string {
  firstLayerModule();
  return unavailable;
}

/** A region of the kernels' memory: byte offset and length. */
type Region = { offset: number; bytes: number };

/**
 * One instance of the kernels with its own memory holding the layer's parameters
 * (`w [rows, width]`, and the optimizer's moments `m`, `s` of the same shape) followed by a
 * scratch region for a batch, grown on demand. Views are re-made after a growth (a growth
 * detaches the old ArrayBuffer): never keep a view across calls.
 */
export class WasmFirstLayer {
  private readonly memory: WebAssembly.Memory;
  private readonly exports: FirstLayerExports;
  private readonly w: Region;
  private readonly m: Region;
  private readonly s: Region;
  private readonly scratchStart: number;

  /**
   * @param rows features (rows of w); @param width hidden units; @param moments 2 for Adam (m and
   * s), 1 for Adagrad (s only); @param shared a shared memory (`module` must then be
   * {@link firstLayerSharedModule}), for worker threads.
   * @throws RangeError when the parameters do not fit in 4 GiB or the memory cannot be allocated
   *   (the caller falls back to the JavaScript kernels); Error when the module is not available.
   */
  constructor(
    module: WebAssembly.Module,
    readonly rows: number,
    readonly width: number,
    moments: 1 | 2,
    shared = false,
  ) {
    const bytes = align(rows * width * 4);
    this.w = { offset: 0, bytes };
    this.m = { offset: bytes, bytes: moments === 2 ? bytes : 0 };
    this.s = { offset: this.m.offset + this.m.bytes, bytes };
    this.scratchStart = this.s.offset + bytes;
    const pages = Math.ceil((this.scratchStart + PAGE) / PAGE);
    if (pages > MAX_PAGES) {
      throw new RangeError(`${rows} x ${width} parameters with optimizer state exceed 4 GiB of wasm memory`);
    }
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as FirstLayerExports;
  }

  /** The memory the kernels run on (shared when constructed so). */
  get wasmMemory(): WebAssembly.Memory {
    return this.memory;
  }

  /** `w`, `[rows, width]` (a view: valid until the next call of this object). */
  get weights(): Float32Array {
    return this.floats(this.w.offset, this.rows * this.width);
  }

  /** Adam's first moment (empty for Adagrad), `[rows, width]` (a view). */
  get first(): Float32Array {
    return this.floats(this.m.offset, this.m.bytes === 0 ? 0 : this.rows * this.width);
  }

  /** The second moment (Adam) or accumulator (Adagrad), `[rows, width]` (a view). */
  get second(): Float32Array {
    return this.floats(this.s.offset, this.rows * this.width);
  }

  /**
   * Lay out a scratch region of the given element counts (each 16-byte aligned), growing the
   * memory when needed; returns the byte offset of each part.
   * @throws RangeError when the memory cannot grow to hold them.
   */
  scratch(counts: readonly number[]): number[] {
    const offsets: number[] = [];
    let end = this.scratchStart;
    for (const n of counts) {
      offsets.push(end);
      end += align(n * 4);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) throw new RangeError('batch does not fit in 4 GiB of wasm memory');
      this.memory.grow(pages);
    }
    return offsets;
  }

  /** A float32 view of `count` elements at byte `offset` of the memory. */
  floats(offset: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, count);
  }

  /** An int32 view of `count` elements at byte `offset` of the memory. */
  ints(offset: number, count: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, count);
  }

  /** Byte offsets of the parameter regions, for the kernel calls. */
  get offsets(): { w: number; m: number; s: number } {
    return { w: this.w.offset, m: this.m.offset, s: this.s.offset };
  }

  /** The kernels (see first-layer.wat for their contracts). */
  get kernels(): FirstLayerExports {
    return this.exports;
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
