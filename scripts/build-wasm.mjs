// Compiles the WebAssembly text kernels (src/**/*.wat) with wabt into dist/, next to the
// JavaScript that loads them: src/model/layers/wasm/first-layer.wat -> dist/model/layers/wasm/first-layer.wasm.
// Part of `npm run build`.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

const wabt = await initWabt();
const entries = await readdir(src, { recursive: true });
/** Compile WebAssembly text to `out` (SIMD, bulk memory and threads: shared memory, atomics). */
async function compile(rel, text, out) {
  const features = { simd: true, bulk_memory: true, threads: true };
  const module = wabt.parseWat(rel, text, features);
  try {
    module.resolveNames();
    module.validate(features);
    const { buffer } = module.toBinary({ log: false, write_debug_names: true });
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, buffer);
  } finally {
    module.destroy();
  }
}

// A module that imports `(memory 1)` also gets a `-shared.wasm` twin importing a shared memory
// (`(memory 1 65536 shared)`), which worker threads can run on together.
const MEMORY_IMPORT = '(import "env" "memory" (memory 1))';
for (const rel of entries.filter((e) => e.endsWith('.wat')).sort()) {
  const text = await readFile(path.join(src, rel), 'utf8');
  const out = path.join(dist, rel.replace(/\.wat$/, '.wasm'));
  await compile(rel, text, out);
  if (text.includes(MEMORY_IMPORT)) {
    const shared = text.replace(MEMORY_IMPORT, '(import "env" "memory" (memory 1 65536 shared))');
    await compile(rel, shared, out.replace(/\.wasm$/, '-shared.wasm'));
  }
}

// The benchmark's PyTorch peer (src/bench/peer_pytorch.py) beside the bench's JavaScript in dist/,
// where `npm run bench` runs it from.
for (const rel of entries.filter((e) => e.endsWith('.py')).sort()) {
  const out = path.join(dist, rel);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, await readFile(path.join(src, rel)));
}
