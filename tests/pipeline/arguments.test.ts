import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/db/open.js';
import { runCli } from '../helpers/cli.js';
import { countRows, createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';
import { makeTempDir } from '../helpers/tmp.js';

// Users' mistakes: a command checks its arguments (the runs it names exist and hold the model)
// before it writes anything. Today's `retrain --from-run 12` ingested the folder, then failed.

for (const name of testBackendNames()) {
  describe(`commands check the runs they are given before writing [${name}]`, () => {
    let db: TestDatabase;

    const counts = () => countRows(db.config, ['sources', 'posts', 'labels', 'quarantine', 'runs']);

    beforeAll(async () => {
      db = await createTestDatabase(name);
      const backend = await openBackend(db.config);
      try {
        // Run 1: failed before training (no models); run 2: one stored model, mtl.
        await backend.transaction(async (s) => {
          await s.query(
            `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend)
             VALUES (1, 'p', '{}', 'failed', 1, 't', 'x'), (2, 'p', '{}', 'succeeded', 1, 't', 'x')`,
          );
          await s.query(
            `INSERT INTO mhmtl.models (run_id, model, family, kind, architecture, tasks, config, topology, weights, backend)
             VALUES (2, 'mtl', 'mtl', 'mtl', 'hard_sharing', '{a}', '{}', '{}', '\\x00', 'wasm')`,
          );
        });
      } finally {
        await backend.close();
      }
    });
    afterAll(async () => db.cleanup());

    it('retrain --from-run with no such run: exit 2 naming it missing, nothing ingested', async () => {
      const r = await runCli(['retrain', '--fixtures', 'fixtures/cohort', '--from-run', '12', ...db.cliArgs]);
      expect(r.stderr).toBe('mhmtl: --from-run: run 12 does not exist\n');
      expect(r.code).toBe(2);
      expect(await counts()).toEqual({ sources: 0, posts: 0, labels: 0, quarantine: 0, runs: 2 });
    });

    it('retrain --from-run with a run that has no mtl model: exit 2, nothing ingested', async () => {
      const r = await runCli(['retrain', '--fixtures', 'fixtures/cohort', '--from-run', '1', ...db.cliArgs]);
      expect(r.stderr).toBe("mhmtl: --from-run: run 1 (failed) has no model 'mtl' (it has no models)\n");
      expect(r.code).toBe(2);
      const s = await runCli(['retrain', '--fixtures', 'fixtures/cohort', '--from-run', '2', ...db.cliArgs]);
      expect(s.stderr).toBe('mhmtl: --from-run: run 2 has no stored feature space\n');
      expect(s.code).toBe(2);
      expect(await counts()).toEqual({ sources: 0, posts: 0, labels: 0, quarantine: 0, runs: 2 });
    });

    it('export-model names a missing run as missing, and a missing model with those the run has', async () => {
      const out = path.join(makeTempDir('mhmtl-export-'), 'model');
      const a = await runCli(['export-model', '--run', '3', '--out', out, ...db.cliArgs]);
      expect(a.stderr).toBe('mhmtl: --run: run 3 does not exist\n');
      expect(a.code).toBe(2);
      const b = await runCli(['export-model', '--run', '2', '--model', 'stl:a', '--out', out, ...db.cliArgs]);
      expect(b.stderr).toBe("mhmtl: --run: run 2 (succeeded) has no model 'stl:a' (it has: mtl)\n");
      expect(b.code).toBe(2);
      expect(existsSync(out)).toBe(false);
    });
  });
}
