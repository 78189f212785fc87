import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { selectRows } from '../../src/features/csr.js';
import { modelFromArtifact } from '../../src/model/io/artifact.js';
import { initTensorflow } from '../../src/model/backend.js';
import { exportModel } from '../../src/model/export.js';
import { LogisticRegression } from '../../src/model/baselines/logistic-regression.js';
import { loadModel, saveModel } from '../../src/model/store.js';
import { NeuralModel } from '../../src/model/neural-model.js';
import { describeBackends } from '../helpers/databases.js';
import { densify, sharedSignalCohort } from './synthetic.js';

const { data, test } = sharedSignalCohort({
  units: 400,
  features: 150,
  signal: 15,
  noisePerUnit: 12,
  signalStrength: 2,
  commonRate: 0.3,
  rareRate: 0.1,
  seed: 21,
});
const xTest = selectRows(data.x, test);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describeBackends('model store and export', (ctx) => {
  let runId = 0;
  let mtl: NeuralModel;
  let lr: LogisticRegression;

  beforeAll(async () => {
    await initTensorflow();
    const rows = await ctx.backend.transaction((s) =>
      s.query<{ run_id: string }>(
        `INSERT INTO mhmtl.runs (pipeline, config, status, seed, code_version, backend)
         VALUES ('test', '{}', 'running', 1, 'test', $1) RETURNING run_id`,
        [ctx.name],
      ),
    );
    runId = Number(rows[0]!.run_id);
    await ctx.backend.transaction((s) =>
      s.query(
        `INSERT INTO mhmtl.feature_spaces (run_id, config, state, n_features, n_units) VALUES ($1, $2, $3, $4, $5)`,
        [
          runId,
          JSON.stringify({ ngrams: [1] }),
          JSON.stringify({ vocabulary: ['a', 'b'] }),
          data.x.cols,
          data.x.rows,
        ],
      ),
    );
    mtl = new NeuralModel({
      tasks: ['common', 'rare'],
      auxTasks: ['common'],
      architectureConfig: { hidden: [12, 6] },
      training: { epochs: 2, batchSize: 32, learningRate: 0.01 },
    });
    await mtl.fit(data);
    lr = new LogisticRegression(['rare'], { epochs: 2 });
    await lr.fit(data);
  });

  it('save then load gives identical scores, tasks, history (inside a caller session)', async () => {
    await ctx.backend.transaction(async (session) => {
      await saveModel(
        session,
        runId,
        { name: 'mtl', reportedAs: 'mtl', kind: 'mtl' },
        await mtl.toArtifact(),
      );
      await saveModel(
        session,
        runId,
        { name: 'lr:rare', reportedAs: 'lr', kind: 'lr' },
        await lr.toArtifact(),
      );
    });
    const artifact = await loadModel(ctx.backend, runId, 'mtl');
    expect(artifact.tasks).toEqual(['common', 'rare']);
    expect(artifact.auxTasks).toEqual(['common']);
    expect(artifact.history.length).toBe(2);
    expect(artifact.backend).toBe('wasm');
    const loaded = modelFromArtifact(artifact);
    expect([...loaded.predict(xTest)]).toEqual([...mtl.predict(xTest)]);
    loaded.dispose();
    const loadedLr = modelFromArtifact(await loadModel(ctx.backend, runId, 'lr:rare'));
    expect([...loadedLr.predict(xTest)]).toEqual([...lr.predict(xTest)]);
    await expect(loadModel(ctx.backend, runId, 'nope')).rejects.toThrow(/has no model 'nope'.*lr:rare, mtl/);
  });

  it('stores the weight bytes exactly (bytea in binary on PGlite) and reads them back byte for byte', async () => {
    const artifact = await mtl.toArtifact();
    await saveModel(ctx.backend, runId, { name: 'mtl_bytes', reportedAs: 'mtl', kind: 'mtl' }, artifact);
    const [row] = await ctx.backend.transaction((s) =>
      s.query<{ n: number; md5: string; head: string }>(
        `SELECT octet_length(weights) AS n, md5(weights) AS md5, encode(substr(weights, 1, 8), 'hex') AS head
         FROM mhmtl.models WHERE run_id = $1 AND model = 'mtl_bytes'`,
        [runId],
      ),
    );
    const bytes = artifact.weights;
    // 4 bytes per float32 weight: the raw bytes, not their hex text (which would be twice as long)
    expect(Number(row!.n)).toBe(bytes.length);
    expect(bytes.length).toBe(4 * (150 * 12 + 12 + 12 * 6 + 6 + 6 * 2 + 2));
    expect(row!.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(row!.head).toBe(Buffer.from(bytes.subarray(0, 8)).toString('hex'));
    const loaded = await loadModel(ctx.backend, runId, 'mtl_bytes');
    expect(loaded.weights).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(loaded.weights).equals(Buffer.from(bytes))).toBe(true);
  });

  it('export writes a tfjs layers model that tf.loadLayersModel reads and scores as predict does', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-export-'));
    try {
      for (const [name, model] of [
        ['mtl', mtl],
        ['lr:rare', lr],
      ] as const) {
        const out = path.join(dir, name.replace(':', '_'));
        const result = await exportModel(ctx.backend, runId, name, out);
        expect(result.files.map((f) => path.basename(f))).toEqual([
          'model.json',
          'weights.bin',
          'features.json',
        ]);
        const json = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
        const weights = readFileSync(path.join(out, 'weights.bin'));
        const reloaded = await tf.loadLayersModel(
          tf.io.fromMemory({
            modelTopology: json.modelTopology,
            weightSpecs: json.weightsManifest[0].weights,
            weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
          }),
        );
        const dense = tf.tensor2d(densify(xTest), [xTest.rows, xTest.cols]);
        const scores = reloaded.predict(dense) as tf.Tensor;
        expect(maxAbsDiff(scores.dataSync(), model.predict(xTest))).toBeLessThan(1e-5);
        tf.dispose([dense, scores]);
        reloaded.dispose();
        const features = JSON.parse(readFileSync(path.join(out, 'features.json'), 'utf8'));
        expect(features.state.vocabulary).toEqual(['a', 'b']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
