import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { installWasmWorkarounds } from './ops.js';

/**
 * TensorFlow.js backend selection, in one place. Preference order: `@tensorflow/tfjs-node` (native
 * libtensorflow; an optionalDependency that npm drops where its download cannot be reached), then
 * `@tensorflow/tfjs-backend-wasm` (its .wasm files are read from node_modules, never the network),
 * then tfjs's pure-JavaScript 'cpu' backend. The environment variable `MHMTL_TF_BACKEND`
 * (`node`, `wasm` or `cpu`) overrides the preference of the caller.
 */
export type TfBackendPreference = 'node' | 'wasm' | 'cpu';

/** Environment variable that forces a backend (`node`, `wasm`, `cpu`). */
export const TF_BACKEND_ENV = 'MHMTL_TF_BACKEND';

const require = createRequire(import.meta.url);
let initialized: Promise<string> | null = null;
let initializedWith: TfBackendPreference | undefined;

function parsePreference(value: string | undefined, where: string): TfBackendPreference | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'node' || value === 'wasm' || value === 'cpu') return value;
  throw new UsageError(`${where}: unknown TensorFlow.js backend '${value}' (expected node, wasm or cpu)`);
}

/**
 * Choose and initialize the TensorFlow.js backend; idempotent (later calls return the first
 * call's result; a later call asking for a different explicit backend switches to it).
 * `preferred` (or `MHMTL_TF_BACKEND`, which wins) names the first backend to try; the chain
 * falls through node -> wasm -> cpu when one is not installed or fails to start. On wasm it also
 * installs the matMul workaround (see {@link installWasmWorkarounds}).
 * @returns the tfjs backend name now active: 'tensorflow' (tfjs-node), 'wasm' or 'cpu'.
 */
export function initTensorflow(preferred?: TfBackendPreference): Promise<string> {
  const wanted = parsePreference(process.env[TF_BACKEND_ENV], TF_BACKEND_ENV) ?? preferred;
  if (initialized && (wanted === undefined || wanted === initializedWith)) return initialized;
  initializedWith = wanted;
  initialized = selectBackend(wanted);
  return initialized;
}

async function selectBackend(wanted: TfBackendPreference | undefined): Promise<string> {
  const chain: TfBackendPreference[] =
    wanted === 'cpu' ? ['cpu'] : wanted === 'wasm' ? ['wasm', 'cpu'] : ['node', 'wasm', 'cpu'];
  for (const candidate of chain) {
    if (candidate === 'node' && (await tryNode())) break;
    if (candidate === 'wasm' && (await tryWasm())) break;
    if (candidate === 'cpu' && (await tf.setBackend('cpu'))) break;
  }
  await tf.ready();
  if (tf.getBackend() === 'wasm') installWasmWorkarounds();
  return tf.getBackend();
}

async function tryNode(): Promise<boolean> {
  try {
    // A variable specifier keeps TypeScript from requiring the (optional) package's types.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.join(
      path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    wasm.setWasmPaths(`${dir}${path.sep}`);
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/** The active tfjs backend name ('tensorflow', 'wasm', 'cpu'), or null before {@link initTensorflow}. */
export function activeBackend(): string | null {
  return initialized ? tf.getBackend() : null;
}

/** What `mhmtl doctor` prints about the machine-learning side. */
export interface TensorflowInfo {
  backend: string;
  versions: Record<string, string>;
  /** Logical cores of this machine (os.availableParallelism). */
  cores: number;
  /** wasm only: SIMD instructions in use; null on other backends. */
  simd: boolean | null;
  /** wasm only: worker threads in use (off in Node); null on other backends. */
  threads: boolean | null;
}

/** Initialize (as {@link initTensorflow}) and describe the backend. */
export async function tensorflowInfo(preferred?: TfBackendPreference): Promise<TensorflowInfo> {
  const backend = await initTensorflow(preferred);
  const versions: Record<string, string> = { ...(tf.version as Record<string, string>) };
  let simd: boolean | null = null;
  let threads: boolean | null = null;
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    versions['tfjs-backend-wasm'] = wasm.version_wasm;
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) && wasm.getThreadsCount() > 1;
  }
  if (backend === 'tensorflow') {
    try {
      const name = '@tensorflow/tfjs-node';
      const node = (await import(name)) as { version?: Record<string, string> };
      if (node.version?.['tfjs-node']) versions['tfjs-node'] = node.version['tfjs-node'];
    } catch {
      // reported as the backend name alone
    }
  }
  return { backend, versions, cores: os.availableParallelism(), simd, threads };
}
