/**
 * Memory attribution of a Node process, loaded with `node --import ./dist/bench/memory-trace.js`
 * (measuring only; nothing in mhmtl imports it). Every `MHMTL_MEMORY_TRACE_MS` milliseconds (default
 * 25) it samples `process.memoryUsage()` (rss, heapUsed, external, arrayBuffers) and the size of
 * every WebAssembly memory created in the process (PGlite's PostgreSQL, tfjs-backend-wasm, the
 * sparse kernel), and keeps each field's peak per pipeline stage: the stage is the last
 * `stage NAME: started` line the run logged on stderr (`mhmtl run` without --quiet). At exit it
 * writes a table (MB) to `MHMTL_MEMORY_TRACE_FILE` (default: stderr): one row per stage, the
 * fields' peaks within it, and the values at the sample where the stage's RSS peaked.
 *
 * WebAssembly memories are found by wrapping `WebAssembly.Memory`, `WebAssembly.instantiate` and
 * `WebAssembly.Instance` (exported memories); a memory's size is its buffer's byteLength (what
 * was reserved by growing; a WebAssembly memory never shrinks).
 */
import { writeFileSync } from 'node:fs';

const MB = 2 ** 20;
/** Weak references: the trace must not keep a dead network's memory alive. */
const memories: { label: string; memory: WeakRef<WebAssembly.Memory> }[] = [];
const seen = new WeakSet<WebAssembly.Memory>();

/** Who created a memory: the first package (or mhmtl module) named on the stack. */
function creator(): string {
  const stack = new Error().stack ?? '';
  const m =
    /node_modules\/(@[^/]+\/[^/]+|[^/@]+)\//.exec(stack) ?? /\/(model\/layers\/wasm\/[\w-]+)/.exec(stack);
  return m ? m[1]!.replace(/^@[^/]+\//, '') : 'other';
}

function remember(memory: unknown, label: string): void {
  if (memory instanceof WebAssembly.Memory && !seen.has(memory)) {
    seen.add(memory);
    memories.push({ label: `${label}${creator()}`, memory: new WeakRef(memory) });
  }
}

function rememberExports(instance: WebAssembly.Instance): void {
  for (const value of Object.values(instance.exports)) remember(value, 'wasm:');
}

const OriginalMemory = WebAssembly.Memory;
const TracedMemory = function (this: unknown, descriptor: WebAssembly.MemoryDescriptor) {
  const m = new OriginalMemory(descriptor);
  remember(m, 'wasm:');
  return m;
} as unknown as typeof WebAssembly.Memory;
TracedMemory.prototype = OriginalMemory.prototype;
Object.defineProperty(TracedMemory, Symbol.hasInstance, {
  value: (v: unknown) => v instanceof OriginalMemory,
});
(WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = TracedMemory;

const originalInstantiate = WebAssembly.instantiate.bind(WebAssembly);
(WebAssembly as { instantiate: unknown }).instantiate = async (...args: unknown[]) => {
  const result = await (originalInstantiate as (...a: unknown[]) => Promise<unknown>)(...args);
  const instance =
    result instanceof WebAssembly.Instance ? result : (result as { instance: WebAssembly.Instance }).instance;
  if (instance) rememberExports(instance);
  return result;
};
const originalStreaming = WebAssembly.instantiateStreaming?.bind(WebAssembly);
if (originalStreaming) {
  (WebAssembly as { instantiateStreaming: unknown }).instantiateStreaming = async (...args: unknown[]) => {
    const result = await (
      originalStreaming as (...a: unknown[]) => Promise<WebAssembly.WebAssemblyInstantiatedSource>
    )(...args);
    rememberExports(result.instance);
    return result;
  };
}
const OriginalInstance = WebAssembly.Instance;
const TracedInstance = function (this: unknown, module: WebAssembly.Module, imports?: WebAssembly.Imports) {
  const instance = new OriginalInstance(module, imports);
  rememberExports(instance);
  return instance;
} as unknown as typeof WebAssembly.Instance;
TracedInstance.prototype = OriginalInstance.prototype;
Object.defineProperty(TracedInstance, Symbol.hasInstance, {
  value: (v: unknown) => v instanceof OriginalInstance,
});
(WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = TracedInstance;

type Sample = Record<string, number>;
let stage = 'start';
const order: string[] = [];
const peaks = new Map<string, Sample>();
const atRssPeak = new Map<string, Sample>();

function sample(): Sample {
  const m = process.memoryUsage();
  const s: Sample = {
    rss: m.rss / MB,
    heapUsed: m.heapUsed / MB,
    heapTotal: m.heapTotal / MB,
    external: m.external / MB,
    arrayBuffers: m.arrayBuffers / MB,
  };
  let wasm = 0;
  for (const { label, memory } of memories) {
    const size = (memory.deref()?.buffer.byteLength ?? 0) / MB;
    // memories of one creator are summed (e.g. the sparse layers of the networks alive now)
    s[label] = (s[label] ?? 0) + size;
    wasm += size;
  }
  s.wasmTotal = wasm;
  return s;
}

function record(): void {
  const s = sample();
  if (!peaks.has(stage)) order.push(stage);
  const p = peaks.get(stage) ?? {};
  for (const [k, v] of Object.entries(s)) p[k] = Math.max(p[k] ?? 0, v);
  peaks.set(stage, p);
  if ((atRssPeak.get(stage)?.rss ?? -1) < (s.rss ?? 0)) atRssPeak.set(stage, s);
}

const originalWrite = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : '';
  const m = /stage (\S+): started/.exec(text);
  if (m) {
    record();
    stage = m[1]!;
    record();
  }
  return (originalWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stderr.write;

const timer = setInterval(record, Number(process.env.MHMTL_MEMORY_TRACE_MS ?? 25));
timer.unref();

process.on('exit', () => {
  record();
  const f = (v: number | undefined) => (v === undefined ? '' : v.toFixed(0));
  const keys = [...new Set(order.flatMap((st) => Object.keys(peaks.get(st) ?? {})))];
  const lines = [`stage\t${keys.join('\t')}\t|\t${keys.map((k) => `${k}@rssPeak`).join('\t')}`];
  for (const st of order) {
    const p = peaks.get(st)!;
    const a = atRssPeak.get(st)!;
    lines.push(`${st}\t${keys.map((k) => f(p[k])).join('\t')}\t|\t${keys.map((k) => f(a[k])).join('\t')}`);
  }
  const text = `${lines.join('\n')}\n`;
  const file = process.env.MHMTL_MEMORY_TRACE_FILE;
  if (file) writeFileSync(file, text);
  else originalWrite(text);
});
