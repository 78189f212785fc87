import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ingestFile } from '../../src/ingest/index.js';
import { createLogger } from '../../src/pipeline/log.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { generateCohort } from '../../src/synth/generate.js';
import { describeBackends } from '../helpers/databases.js';

/**
 * What a run stores of its models' learning besides their weights: the task relations an
 * architecture learned (mhmtl.task_relations) and each epoch's task weights
 * (mhmtl.training_history.weight), on every test database.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-relations-'));
let cohort: { postsFile: string; labelsFile: string };
beforeAll(async () => {
  cohort = await generateCohort({
    users: 60,
    seed: 31,
    out: path.join(dir, 'cohort'),
    minPosts: 3,
    maxPosts: 6,
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeBackends('task relations and task weights of a run', (ctx) => {
  it('stores MMoE gate means that sum to 1 per task, and DWA weights that sum to the number of tasks', async () => {
    await ingestFile(ctx.backend, cohort.postsFile, { kind: 'posts' });
    await ingestFile(ctx.backend, cohort.labelsFile, { kind: 'labels' });
    const tasks = ['anxiety', 'depression', 'neurotypical'];
    const result = await runPipeline(
      ctx.backend,
      {
        file: null,
        config: {
          name: 'relations-test',
          seed: 3,
          inputs: [],
          tasks: { main: tasks },
          features: { word_ngrams: [1, 1], min_df: 2 },
          training: { epochs: 4, patience: 4, min_epochs: 4 },
          evaluation: { bootstrap: 0, min_positives: 1 },
          models: [
            {
              name: 'moe',
              kind: 'mtl',
              model: { architecture: 'mmoe', experts: 3, hidden: [8] },
              training: { weighting: { method: 'dwa', temperature: 2 } },
            },
            { name: 'lr', kind: 'lr' },
          ],
        },
      },
      { log: createLogger('text', { quiet: true }), skipIngest: true, workers: 0 },
    );
    expect(result.status).toBe('succeeded');
    const rows = await ctx.backend.transaction((s) =>
      s.query<{
        model: string;
        kind: string;
        layer: number | null;
        task_a: string;
        task_b: string | null;
        value: number;
      }>(
        'SELECT model, kind, layer, task_a, task_b, value FROM mhmtl.task_relations WHERE run_id = $1 ORDER BY kind, task_a, layer, task_b',
        [result.runId],
      ),
    );
    const gates = rows.filter((r) => r.kind === 'gate_mean');
    expect(gates.every((r) => r.model === 'moe' && r.task_b === null)).toBe(true);
    expect(gates.length).toBe(3 * tasks.length);
    for (const t of tasks) {
      const own = gates.filter((r) => r.task_a === t);
      expect(own.map((r) => r.layer)).toEqual([1, 2, 3]);
      expect(own.reduce((a, r) => a + r.value, 0)).toBeCloseTo(1, 5);
    }
    // The gate similarity of a task with itself is 1.
    const self = rows.filter((r) => r.kind === 'gate_similarity' && r.task_a === r.task_b);
    expect(self.length).toBe(tasks.length);
    for (const r of self) expect(r.value).toBeCloseTo(1, 5);

    const weights = await ctx.backend.transaction((s) =>
      s.query<{ epoch: number; task: string; weight: number | null }>(
        `SELECT epoch, task, weight FROM mhmtl.training_history
         WHERE run_id = $1 AND model = 'moe' AND task IS NOT NULL ORDER BY epoch, task`,
        [result.runId],
      ),
    );
    expect(weights.length).toBe(4 * tasks.length);
    for (let epoch = 1; epoch <= 4; epoch++) {
      const w = weights.filter((r) => r.epoch === epoch).map((r) => r.weight!);
      // DWA: weight 1 in the first two epochs, then K softmax(ratios / T), summing to K.
      if (epoch <= 2) expect(w).toEqual([1, 1, 1]);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(tasks.length, 4);
    }
    // Logistic regression has no task weights and no relations.
    const lr = await ctx.backend.transaction((s) =>
      s.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM mhmtl.training_history WHERE run_id = $1 AND model LIKE 'lr:%' AND weight IS NOT NULL`,
        [result.runId],
      ),
    );
    expect(lr[0]!.n).toBe(0);
  }, 240_000);
});
