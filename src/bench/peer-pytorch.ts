import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainingData } from '../model/types.js';

/**
 * The PyTorch peer of the training benchmark: ./peer_pytorch.py (copied next to this file in dist/
 * by `npm run build`) trains the same network on the same batch data on one thread
 * (EmbeddingBag(mode='sum', sparse=True) with per-sample weights, SparseAdam + Adam). A benchmark
 * peer only: when `python3` or `torch` is missing the bench says it skipped.
 */

/** The peer script: beside this module (dist/bench/ after a build, src/bench/ under a TS runner). */
export const PEER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'peer_pytorch.py');

/** What the bench tells the peer (meta.json). */
export interface PeerSpec {
  hidden: number;
  batch: number;
  epochs: number;
  seed: number;
  learningRate: number;
  dropout: number;
  /** Positive-class weight per task, `[tasks]` (mhmtl's 'balanced' weights on the same labels). */
  posWeight: Float32Array;
}

/** One peer run: per-epoch units/s and the CPU seconds of its steps. */
export interface PeerRun {
  torch: string;
  threads: number;
  unitsPerSecond: number[];
  cpuSeconds: number;
}

/** Environment variable naming the Python interpreter of the peer (default: python3, then /usr/bin/python3). */
export const PEER_PYTHON_ENV = 'MHMTL_PEER_PYTHON';

let interpreter: { python: string | null; reason: string } | undefined;

/**
 * The first interpreter that imports torch: `MHMTL_PEER_PYTHON` when set, else `python3` on the
 * PATH, then `/usr/bin/python3` (Debian's python3-torch, when a pyenv python3 shadows it); null
 * with the reason when none does. Runs `python -c 'import torch'` once per candidate (cached).
 */
export function peerPython(): { python: string | null; reason: string } {
  interpreter ??= findPeerPython();
  return interpreter;
}

function findPeerPython(): { python: string | null; reason: string } {
  if (!existsSync(PEER_SCRIPT))
    return { python: null, reason: `${PEER_SCRIPT} is missing (run npm run build)` };
  const forced = process.env[PEER_PYTHON_ENV];
  const candidates = forced ? [forced] : ['python3', '/usr/bin/python3'];
  const reasons: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.error) reasons.push(`${python} not found`);
    else if (r.status !== 0) reasons.push(`${python} cannot import torch`);
    else return { python, reason: '' };
  }
  return { python: null, reason: `${reasons.join(', ')} (e.g. apt-get install python3-torch)` };
}

/** Why the peer cannot run here ('' when it can); see {@link peerPython}. */
export function peerUnavailableReason(): string {
  return peerPython().reason;
}

/**
 * Write the training units of `data` (CSR rows in `data.train` order, labels, positive weights)
 * and `spec` into a new temporary folder for the peer; the caller removes it with
 * {@link removePeerData}.
 * @returns the folder.
 */
export function writePeerData(data: TrainingData, spec: PeerSpec): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-peer-'));
  const x = data.x;
  const T = data.tasks.length;
  const units = data.train.length;
  const indptr = new Int32Array(units + 1);
  let nnz = 0;
  for (let i = 0; i < units; i++) {
    const u = data.train[i]!;
    nnz += x.indptr[u + 1]! - x.indptr[u]!;
    indptr[i + 1] = nnz;
  }
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const y = new Float32Array(units * T);
  for (let i = 0; i < units; i++) {
    const u = data.train[i]!;
    indices.set(x.indices.subarray(x.indptr[u]!, x.indptr[u + 1]!), indptr[i]!);
    values.set(x.values.subarray(x.indptr[u]!, x.indptr[u + 1]!), indptr[i]!);
    y.set(data.y.subarray(u * T, (u + 1) * T), i * T);
  }
  const bytes = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dir, 'indptr.i32'), bytes(indptr));
  writeFileSync(path.join(dir, 'indices.i32'), bytes(indices));
  writeFileSync(path.join(dir, 'values.f32'), bytes(values));
  writeFileSync(path.join(dir, 'y.f32'), bytes(y));
  writeFileSync(path.join(dir, 'pos_weight.f32'), bytes(spec.posWeight));
  const meta = {
    units,
    features: x.cols,
    hidden: spec.hidden,
    tasks: T,
    batch: spec.batch,
    epochs: spec.epochs,
    seed: spec.seed,
    learningRate: spec.learningRate,
    dropout: spec.dropout,
  };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  return dir;
}

/**
 * Run the peer once on a folder of {@link writePeerData} (synchronously: nothing else of the bench
 * runs meanwhile). Environment: OMP/MKL thread counts forced to 1.
 * @throws Error with the peer's stderr when it fails.
 */
export function runPeer(dir: string): PeerRun {
  const env = { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const python = peerPython().python;
  if (!python) throw new Error(`PyTorch peer unavailable: ${peerUnavailableReason()}`);
  const r = spawnSync(python, [PEER_SCRIPT, dir], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`PyTorch peer failed (exit ${r.status}): ${r.stderr.trim().slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as PeerRun;
}

/** Remove a folder of {@link writePeerData}. */
export function removePeerData(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
