import { type ChildProcess, spawn } from 'node:child_process';
import { makeTempDir } from '../helpers/tmp.js';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { openBackend } from '../../src/db/open.js';
import { RUN_LOCK_KEY } from '../../src/pipeline/runs.js';
import { generateCohort } from '../../src/synth/generate.js';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';

/** A small, fast pipeline over a generated cohort; `slow` trains long enough to be caught mid-run. */
function writePipeline(dir: string, cohort: { postsFile: string; labelsFile: string }, slow = false): string {
  const file = path.join(dir, slow ? 'slow.json' : 'fast.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: slow ? 'slow' : 'fast',
      seed: 7,
      inputs: [
        { kind: 'posts', files: [cohort.postsFile] },
        { kind: 'labels', files: [cohort.labelsFile] },
      ],
      tasks: { main: ['neurotypical', 'anxiety', 'depression'], auxiliary: ['gender'] },
      features: { word_ngrams: [1, 1], min_df: 2, max_features: 2000 },
      model: { hidden: [16], dropout: 0.1 },
      training: slow ? { epochs: 400, patience: 400, batch_size: 8 } : { epochs: 3, patience: 2 },
      // 16 test users: every task would be low support at the default 10 (tested elsewhere).
      evaluation: { bootstrap: 50, min_positives: 1 },
      // The slow pipeline also trains an STL network per task after the MTL model, so that a test
      // that waits for the first stored model still catches the run well before its reports.
      baselines: { stl: slow, lr: true, mtl_no_aux: false },
    }),
  );
  return file;
}

interface Spawned {
  child: ChildProcess;
  /** Standard error so far. */
  stderr(): string;
  done: Promise<{ code: number | null; stderr: string }>;
}

function spawnCli(args: string[]): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout?.resume();
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

async function waitFor(what: string, check: () => Promise<boolean>, seconds = 90): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let dir: string;
let fast: string;
let slow: string;
let cohort: Awaited<ReturnType<typeof generateCohort>>;

beforeAll(async () => {
  dir = makeTempDir('mhmtl-run-');
  cohort = await generateCohort({
    users: 80,
    seed: 11,
    out: path.join(dir, 'cohort'),
    minPosts: 5,
    maxPosts: 12,
  });
  fast = writePipeline(dir, cohort);
  slow = writePipeline(dir, cohort, true);
});

for (const name of testBackendNames()) {
  describe(`mhmtl run [${name}]`, () => {
    let db: TestDatabase;
    /** Query the database between CLI runs (embedded: opened and closed each time, it is one process at a time). */
    async function query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
      const backend = await openBackend(db.config);
      try {
        return await backend.transaction((s) => s.query<R>(sql, params), { readOnly: true });
      } finally {
        await backend.close();
      }
    }

    beforeAll(async () => {
      db = await createTestDatabase(name);
    });
    afterAll(async () => db.cleanup());

    it('runs a pipeline end to end and records the run', async () => {
      const r = await runCli(['run', fast, '--workers', '1', ...db.cliArgs]);
      expect(r.stderr).toContain('succeeded');
      expect(r.code).toBe(0);
      // posts count duplicates; labels are upserted and say so, as `mhmtl ingest labels` does
      expect(r.stderr).toMatch(/ingested posts\.jsonl: [1-9]\d* inserted, 0 duplicates, 0 rejected/);
      expect(r.stderr).toMatch(
        /ingested labels\.jsonl: [1-9]\d* inserted, 0 updated, 0 unchanged, 0 rejected/,
      );
      expect(r.stdout).toMatch(/macro \(3 main\)\s+\| mtl/);
      const runs = await query<{
        status: string;
        seed: number;
        stage_durations: Record<string, number>;
        data_fingerprint: string;
        backend: string;
      }>('SELECT status, seed, stage_durations, data_fingerprint, backend FROM mhmtl.runs ORDER BY run_id');
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'succeeded', seed: 7 });
      expect(runs[0]?.backend).toMatch(new RegExp(`^${name}; tfjs `));
      // jsonb keeps no key order: compare as a set; every duration is seconds >= 0.
      expect(Object.keys(runs[0]!.stage_durations).sort()).toEqual([
        'evaluate',
        'features',
        'ingest',
        'labels',
        'tokenize',
        'train',
        'write',
      ]);
      expect(Object.values(runs[0]!.stage_durations).every((v) => v >= 0)).toBe(true);
      expect(runs[0]?.data_fingerprint).toMatch(/^[0-9a-f]{32}$/);
      const reports = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM mhmtl.task_reports WHERE run_id = 1 AND split = 'test' AND model = 'mtl'`,
      );
      expect(reports[0]?.n).toBe(4);
    });

    it('--if-changed skips when nothing changed, and runs again when a label changes', async () => {
      const skipped = await runCli(['run', fast, '--if-changed', '--workers', '1', ...db.cliArgs]);
      expect(skipped.code).toBe(0);
      expect(skipped.stdout).toMatch(/run 2 skipped: no post, label or configuration changed since run 1/);
      const labelFile = path.join(dir, `relabel-${name}.jsonl`);
      const someone = cohort.manifest.userIds[0]!;
      writeFileSync(
        labelFile,
        `${JSON.stringify({ user_id: someone, task: 'self_disclosure', label: 1 })}\n`,
      );
      const ingest = await runCli(['ingest', 'labels', labelFile, '--quiet', ...db.cliArgs]);
      expect(ingest.code).toBe(0);
      const again = await runCli(['run', fast, '--if-changed', '--workers', '1', ...db.cliArgs]);
      expect(again.code).toBe(0);
      const runs = await query<{ run_id: number; status: string; note: string | null }>(
        'SELECT run_id, status, note FROM mhmtl.runs ORDER BY run_id',
      );
      expect(runs.map((r) => r.status)).toEqual(['succeeded', 'skipped', 'succeeded']);
      expect(runs[1]?.note).toContain('since run 1');
      const reportsOfSkipped = await query<{ n: number }>(
        'SELECT count(*)::int AS n FROM mhmtl.task_reports WHERE run_id = 2',
      );
      expect(reportsOfSkipped[0]?.n).toBe(0);
    });

    it('allows one run at a time: a second run exits 75, and --wait waits for the first', async () => {
      const first = spawnCli(['run', slow, '--workers', '1', ...db.cliArgs]);
      if (name === 'pglite') {
        await waitFor('the first run to hold the data directory', async () =>
          existsSync(`${(db.config as { dataDir: string }).dataDir}.lock`),
        );
      } else {
        await waitFor('the first run to start', async () => {
          const r = await query<{ n: number }>(
            `SELECT count(*)::int AS n FROM mhmtl.runs WHERE status = 'running'`,
          );
          return (r[0]?.n ?? 0) > 0;
        });
      }
      const second = await runCli(['run', fast, '--workers', '1', ...db.cliArgs]);
      expect(second.code).toBe(75);
      expect(second.stderr).toMatch(/^mhmtl: another run is in progress/);
      first.child.kill('SIGKILL');
      await first.done;

      // --wait: hold the lock here, start a waiting run, release, and it proceeds.
      const holder: Backend = await openBackend(db.config);
      const lock = await holder.advisoryLock(RUN_LOCK_KEY);
      expect(lock).not.toBeNull();
      const waiting = spawnCli(['run', fast, '--wait', '--workers', '1', ...db.cliArgs]);
      await sleep(1500);
      expect(waiting.child.exitCode).toBeNull();
      await lock!.release();
      await holder.close();
      const waited = await waiting.done;
      expect(waited.stderr).toContain('succeeded');
      expect(waited.code).toBe(0);
    });

    it('a run killed mid-way leaves no report; the next run marks it failed and proceeds', async () => {
      const before = await query<{ max: number }>(
        'SELECT coalesce(max(run_id), 0)::int AS max FROM mhmtl.runs',
      );
      const killed = spawnCli(['run', slow, '--workers', '1', ...db.cliArgs]);
      const killedRun = (before[0]?.max ?? 0) + 1;
      if (name === 'pglite') {
        // Embedded, the database is the killed process's until it dies: watch its log for training.
        await waitFor('training to start', async () => /stage train: started/.test(killed.stderr()));
      } else {
        await waitFor('training to start', async () => {
          const r = await query<{ n: number }>(
            'SELECT count(*)::int AS n FROM mhmtl.models WHERE run_id = $1',
            [killedRun],
          );
          return (r[0]?.n ?? 0) > 0;
        });
      }
      killed.child.kill('SIGKILL');
      await killed.done;
      const next = await runCli(['run', fast, '--workers', '1', ...db.cliArgs]);
      expect(next.code).toBe(0);
      expect(next.stderr).toMatch(
        new RegExp(`marked interrupted run\\(s\\) (\\d+, )*${killedRun} as failed`),
      );
      const runs = await query<{ status: string; error: string }>(
        'SELECT status, error FROM mhmtl.runs WHERE run_id = $1',
        [killedRun],
      );
      expect(runs[0]).toMatchObject({ status: 'failed' });
      expect(runs[0]?.error).toMatch(/^interrupted/);
      const partial = await query<{ n: number }>(
        'SELECT count(*)::int AS n FROM mhmtl.task_reports WHERE run_id = $1',
        [killedRun],
      );
      expect(partial[0]?.n).toBe(0);
    });

    it('SIGTERM stops at a stage boundary and marks the run failed with the reason', async () => {
      const run = spawnCli(['run', slow, '--workers', '1', ...db.cliArgs]);
      await waitFor('training to start', async () => /stage train: started/.test(run.stderr()));
      run.child.kill('SIGTERM');
      const { code, stderr } = await run.done;
      expect(code).toBe(143);
      expect(stderr).toMatch(/mhmtl: interrupted by SIGTERM; stopped (before|during) stage '[^']+'/);
      const last = await query<{ status: string; error: string }>(
        'SELECT status, error FROM mhmtl.runs ORDER BY run_id DESC LIMIT 1',
      );
      expect(last[0]?.status).toBe('failed');
      expect(last[0]?.error).toMatch(/^interrupted by SIGTERM/);
    });
  });
}
