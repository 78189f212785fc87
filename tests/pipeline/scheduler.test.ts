import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/db/open.js';
import { generateCohort } from '../../src/synth/generate.js';
import { runCli } from '../helpers/cli.js';
import { writeTestPipeline } from '../helpers/pipeline-file.js';
import { makeTempDir } from '../helpers/tmp.js';

// Operators' faults: the scheduler (cron's shell, npx) is killed with SIGKILL while a run is in
// progress. Whatever the documented command started must not leave a run holding the lock.
// Embedded database: the lock is the data directory's `.lock` file, held by one live process.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let dir: string;
let slow: string;
let fast: string;

function pipeline(name: string, cohort: { postsFile: string; labelsFile: string }, epochs: number): string {
  return writeTestPipeline(dir, name, cohort, {
    training: { epochs, patience: epochs, batch_size: 8 },
    baselines: { stl: false, lr: false, mtl_no_aux: false },
  });
}

beforeAll(async () => {
  dir = makeTempDir('mhmtl-scheduler-');
  const cohort = await generateCohort({
    users: 60,
    seed: 3,
    out: path.join(dir, 'cohort'),
    minPosts: 5,
    maxPosts: 10,
  });
  slow = pipeline('slow', cohort, 2000);
  fast = pipeline('fast', cohort, 2);
});

/** `sh -c LINE`, as cron runs a crontab line, in its own process group; stdio ignored. */
function shell(line: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('/bin/sh', ['-c', line], { env, stdio: 'ignore', detached: true });
}

async function waitFor(what: string, check: () => boolean, seconds = 90): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether process `pid` still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The runs of an embedded database (opened once the lock is free). */
async function runsOf(dataDir: string): Promise<{ run_id: number; status: string; error: string | null }[]> {
  const backend = await openBackend({ kind: 'embedded', dataDir });
  try {
    return await backend.transaction(
      (s) =>
        s.query<{ run_id: number; status: string; error: string | null }>(
          'SELECT run_id::int, status, error FROM mhmtl.runs ORDER BY run_id',
        ),
      { readOnly: true },
    );
  } finally {
    await backend.close();
  }
}

/** The cron line of README.md's "Scheduled runs", pointed at this checkout and a scratch directory. */
function readmeCronLine(dataDir: string, pipelineFile: string, log: string): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```cron\n([^\n]+)\n```/.exec(readme);
  expect(block, 'README.md has a ```cron block').not.toBeNull();
  const line = block![1]!.replace(/^(\S+\s+){5}/, ''); // the command, without the schedule
  expect(line).toContain('cd /srv/mhmtl && DATABASE_URL=postgres://mhmtl@db/mhmtl ');
  return line
    .replace('/srv/mhmtl', ROOT)
    .replace('DATABASE_URL=postgres://mhmtl@db/mhmtl', `MHMTL_DATA_DIR=${dataDir}`)
    .replace('pipelines/benton2017.json', pipelineFile)
    .replace('/var/log/mhmtl.log', log);
}

describe('a scheduler killed with SIGKILL leaves no run holding the lock', () => {
  it("README's cron line: killing the process it starts ends the run; the next run proceeds", async () => {
    const dataDir = path.join(dir, 'cron-data');
    const log = path.join(dir, 'cron.log');
    const cron = shell(readmeCronLine(dataDir, slow, log), {
      ...process.env,
      DATABASE_URL: undefined,
    });
    await waitFor(
      'training to start',
      () => existsSync(log) && /stage train: started/.test(readFileSync(log, 'utf8')),
    );
    expect(existsSync(`${dataDir}.lock`)).toBe(true);
    process.kill(cron.pid!, 'SIGKILL');
    // The process cron started is node itself (exec): nothing is left to hold the data directory.
    const lockHolder = Number(readFileSync(`${dataDir}.lock`, 'utf8').trim());
    await waitFor('the run to be gone', () => !alive(lockHolder), 10);
    expect(lockHolder).toBe(cron.pid);
    const next = await runCli(['run', fast, '--workers', '1', '--data-dir', dataDir]);
    expect(next.stderr).toMatch(/marked interrupted run\(s\) 1 as failed/);
    expect(next.code).toBe(0);
    const runs = await runsOf(dataDir);
    expect(runs.map((r) => r.status)).toEqual(['failed', 'succeeded']);
  });

  it('npx: killing npm stops the run as SIGTERM would, marked failed, and frees the lock', async () => {
    // A deployment folder with mhmtl installed as a dependency, as `npm install mhmtl` leaves it.
    const deploy = path.join(dir, 'deploy');
    mkdirSync(path.join(deploy, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(
      path.join(deploy, 'package.json'),
      JSON.stringify({ name: 'deploy', private: true, dependencies: { mhmtl: `file:${ROOT}` } }),
    );
    symlinkSync(ROOT, path.join(deploy, 'node_modules', 'mhmtl'));
    symlinkSync('../mhmtl/dist/cli/main.js', path.join(deploy, 'node_modules', '.bin', 'mhmtl'));
    const dataDir = path.join(dir, 'npx-data');
    const log = path.join(dir, 'npx.log');
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
    for (const k of Object.keys(env))
      if (k.startsWith('npm_') && k !== 'npm_config_update_notifier') delete env[k];
    const npx = shell(
      `cd ${deploy} && exec npx mhmtl run ${slow} --workers 1 --data-dir ${dataDir} >> ${log} 2>&1`,
      env,
    );
    await waitFor(
      'training to start',
      () => existsSync(log) && /stage train: started/.test(readFileSync(log, 'utf8')),
    );
    const node = Number(readFileSync(`${dataDir}.lock`, 'utf8').trim());
    expect(node).not.toBe(npx.pid); // npm -> sh -> node: the run is npm's grandchild
    process.kill(npx.pid!, 'SIGKILL');
    await waitFor('the orphaned run to stop', () => !alive(node), 30);
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/warning: npm's process \d+, which started this run, is gone: stopping/);
    expect(text).toMatch(/mhmtl: interrupted: npm's process \d+, which started this run, is gone; stopped/);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    const runs = await runsOf(dataDir);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'failed' });
    expect(runs[0]!.error).toMatch(
      new RegExp(`^interrupted: npm's process ${npx.pid}, which started this run, is gone`),
    );
  });
});
