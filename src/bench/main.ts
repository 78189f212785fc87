/**
 * `npm run bench`: every stage against a raw baseline measured in the same run, at several cohort
 * sizes, printed as one table and written to bench/results.json (compared across commits).
 *
 * Each (stage, size, backend) runs in its own child process (this file with the hidden
 * `--child` option), so a stage's peak RSS is its own (`process.resourceUsage().maxRSS` of the
 * child) and no state (tfjs, wink, PGlite) leaks from one stage into the next. End to end is
 * `mhmtl run` as a child process, its peak RSS from `/usr/bin/time -v` ("Maximum resident set
 * size") when that exists, else from an `--import` hook that records the child's own maxRSS at exit.
 */
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import pg from 'pg';
import { renderRows } from '../cli/output.js';
import { maskUrl } from '../db/config.js';
import { generateCohort } from '../synth/generate.js';
import { PACKAGE_ROOT, VERSION } from '../version.js';
import { runMeasuredNode } from './measure.js';
import type { BenchResult } from './types.js';

export const STAGES = ['ingest', 'tokenize', 'features', 'train', 'end_to_end', 'methods'] as const;
/** Stages measured only when --stages names them (ingest_memory writes and loads a ~1 GB file). */
export const OPT_IN_STAGES = ['ingest_memory'] as const;
export type Stage = (typeof STAGES)[number] | (typeof OPT_IN_STAGES)[number];
type DbBackend = 'pglite' | 'postgres';

const DEFAULT_SIZES = [2000, 10_000, 50_000];
const QUICK_SIZES = [500, 2000];
/** Posts per user of the bench cohorts, log-uniform (mean about 22). */
const MIN_POSTS = 5;
const MAX_POSTS = 60;

/** Options of one bench run (the command line, parsed). */
export interface BenchOptions {
  sizes: number[];
  stages: Stage[];
  backends: DbBackend[];
  databaseUrl: string | undefined;
  out: string;
  dataDir: string;
  seed: number;
  /** Training benchmark units are min(users, maxTrainUsers). */
  maxTrainUsers: number;
  /** End to end runs at sizes <= maxEndToEndUsers only (larger sizes are reported as capped). */
  maxEndToEndUsers: number;
  /** Epochs (and patience) of every model in the end-to-end pipeline. */
  endToEndEpochs: number;
  /** Synthetic texts of the tokenize benchmark: min(posts of the cohort, maxTokenizeTexts). */
  maxTokenizeTexts: number;
  /** Size of the generated posts file of the ingest_memory stage, MiB. */
  memoryFileMb: number;
}

/** What a child process runs: one stage at one size on one backend. */
interface ChildSpec {
  stage: Exclude<Stage, 'end_to_end' | 'ingest_memory'>;
  /** The method of the `methods` stage (a name of BENCH_METHODS). */
  method?: string;
  users: number;
  posts: number;
  postsFile: string;
  backend: DbBackend | null;
  databaseUrl: string | null;
  maxTrainUsers: number;
  maxTokenizeTexts: number;
}

interface Cohort {
  users: number;
  posts: number;
  dir: string;
  postsFile: string;
  labelsFile: string;
  generatedSeconds: number | null;
}

const thisFile = fileURLToPath(import.meta.url);
const cliMain = path.join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Child side: one stage, results written as JSON to a file.

async function runChild(spec: ChildSpec, outFile: string): Promise<void> {
  const started = performance.now();
  let results: BenchResult[];
  switch (spec.stage) {
    case 'ingest': {
      const { openBackend } = await import('../db/open.js');
      const { benchIngest } = await import('./ingest.js');
      let dir: string | null = null;
      if (spec.backend === 'pglite') dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-bench-'));
      const backend = await openBackend(
        dir ? { kind: 'embedded', dataDir: dir } : { kind: 'server', url: spec.databaseUrl! },
      );
      try {
        results = await benchIngest({ backend, file: spec.postsFile, users: spec.users });
      } finally {
        await backend.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
      break;
    }
    case 'tokenize': {
      const { benchTokenize } = await import('./tokenize.js');
      const texts = Math.min(spec.posts, spec.maxTokenizeTexts);
      results = (await benchTokenize({ texts, repeats: 2 })).map((r) => ({ ...r, users: spec.users }));
      break;
    }
    case 'features': {
      const { benchFeatures } = await import('./features.js');
      const postsPerUser = Math.max(1, Math.round(spec.posts / spec.users));
      results = await benchFeatures({ users: spec.users, postsPerUser });
      break;
    }
    case 'train': {
      const { benchTrain } = await import('./train.js');
      results = await benchTrain({ units: Math.min(spec.users, spec.maxTrainUsers) });
      // users: the cohort size of this row; units actually trained are in extra.units
      results = results.map((r) => ({
        ...r,
        users: spec.users,
        extra: { ...r.extra, units: Math.min(spec.users, spec.maxTrainUsers) },
      }));
      break;
    }
    case 'methods': {
      const { benchMethod } = await import('./methods.js');
      results = await benchMethod(spec.method!, { units: spec.users });
      break;
    }
  }
  const payload = {
    results,
    seconds: (performance.now() - started) / 1000,
    maxRssKb: process.resourceUsage().maxRSS,
  };
  writeFileSync(outFile, JSON.stringify(payload));
}

// ---------------------------------------------------------------------------------------------
// Parent side.

function spawnWait(cmd: string, args: string[], options: SpawnOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, options);
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Run one stage in a child process; its results carry the child's peak RSS and wall time. */
async function runStageChild(spec: ChildSpec, tmp: string): Promise<BenchResult[]> {
  const outFile = path.join(
    tmp,
    `child-${spec.stage}${spec.method ? `-${spec.method}` : ''}-${spec.users}-${spec.backend ?? 'none'}.json`,
  );
  rmSync(outFile, { force: true });
  const code = await spawnWait(
    process.execPath,
    [thisFile, '--child', JSON.stringify(spec), '--child-out', outFile],
    { stdio: ['ignore', 2, 2] },
  );
  if (code !== 0 || !existsSync(outFile))
    throw new Error(`${spec.stage} at ${spec.users} users failed (exit ${code})`);
  const payload = JSON.parse(readFileSync(outFile, 'utf8')) as {
    results: BenchResult[];
    seconds: number;
    maxRssKb: number;
  };
  return payload.results.map((r) => ({
    ...r,
    extra: {
      ...r.extra,
      ...(spec.backend ? { database: spec.backend } : {}),
      stage_peak_rss_mb: Math.round(payload.maxRssKb / 1024),
      stage_seconds: Number(payload.seconds.toFixed(2)),
    },
  }));
}

/** Generate (or reuse: same seed, users and posts range) the cohort of one size under `dataDir`. */
async function ensureCohort(dataDir: string, users: number, seed: number): Promise<Cohort> {
  const dir = path.resolve(dataDir, `cohort-s${seed}-u${users}-p${MIN_POSTS}-${MAX_POSTS}`);
  const metaFile = path.join(dir, 'meta.json');
  const postsFile = path.join(dir, 'posts.jsonl');
  const labelsFile = path.join(dir, 'labels.jsonl');
  if (existsSync(metaFile) && existsSync(postsFile) && existsSync(labelsFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { posts: number; users: number; seed: number };
    if (meta.users === users && meta.seed === seed) {
      log(`cohort ${users} users: reusing ${path.relative(process.cwd(), dir)} (${meta.posts} posts)`);
      return { users, posts: meta.posts, dir, postsFile, labelsFile, generatedSeconds: null };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  const result = await generateCohort({ users, seed, out: dir, minPosts: MIN_POSTS, maxPosts: MAX_POSTS });
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(
    metaFile,
    JSON.stringify({ users, seed, minPosts: MIN_POSTS, maxPosts: MAX_POSTS, posts: result.posts }, null, 2),
  );
  log(`cohort ${users} users: generated ${result.posts} posts in ${seconds.toFixed(1)} s`);
  return { users, posts: result.posts, dir, postsFile, labelsFile, generatedSeconds: seconds };
}

/** A scratch database on the server, created and dropped by the harness (never any other). */
class ScratchDatabase {
  readonly name = `mhmtl_bench_${process.pid}`;
  readonly url: string;
  constructor(private readonly adminUrl: string) {
    const u = new URL(adminUrl);
    u.pathname = `/${this.name}`;
    this.url = u.toString();
  }
  private async admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
  /** Drop (if present) and create the scratch database: a fresh, empty database. */
  async recreate(): Promise<void> {
    await this.admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${this.name}`);
    });
  }
  async drop(): Promise<void> {
    await this.admin((c) => c.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`));
  }
  async serverVersion(): Promise<string> {
    return this.admin(async (c) => (await c.query('SHOW server_version')).rows[0].server_version as string);
  }
}

/**
 * End to end: `mhmtl run` on a pipeline made from pipelines/benton2017.json with its inputs
 * replaced by the cohort's files and every model's epochs (and patience) set to `epochs`, on a
 * fresh data directory (PGlite) or a freshly created scratch database (server).
 * @returns wall time (s) and peak RSS (MB) of the child process, with the run's stage durations.
 */
async function runEndToEnd(
  cohort: Cohort,
  backend: DbBackend,
  scratch: ScratchDatabase | null,
  epochs: number,
  tmp: string,
): Promise<BenchResult[]> {
  const base = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'pipelines', 'benton2017.json'), 'utf8'));
  const pipeline = {
    ...base,
    $schema: undefined,
    name: `bench_e2e_${cohort.users}`,
    description: `benchmark: benton2017 on the generated ${cohort.users}-user cohort, ${epochs} epoch(s)`,
    inputs: [
      { kind: 'posts', files: [cohort.postsFile] },
      { kind: 'labels', files: [cohort.labelsFile] },
    ],
    training: { ...base.training, epochs, patience: epochs },
  };
  const pipelineFile = path.join(tmp, `pipeline-${cohort.users}.json`);
  writeFileSync(pipelineFile, JSON.stringify(pipeline, null, 2));
  let dbArgs: string[];
  let dataDir: string | null = null;
  if (backend === 'pglite') {
    dataDir = path.join(tmp, `e2e-data-${cohort.users}`);
    rmSync(dataDir, { recursive: true, force: true });
    dbArgs = ['--data-dir', dataDir];
  } else {
    await scratch!.recreate();
    dbArgs = ['--database-url', scratch!.url];
  }
  const run = await runMeasuredNode([cliMain, ...dbArgs, 'run', pipelineFile, '--quiet'], tmp);
  if (run.code !== 0) throw new Error(`mhmtl run failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  const { seconds, peakRssKb: rssKb } = run;
  // the run's own stage durations, read back with `mhmtl sql`
  const q = spawnSync(
    process.execPath,
    [
      cliMain,
      ...dbArgs,
      'sql',
      'select stage_durations from mhmtl.runs order by run_id desc limit 1',
      '--format',
      'json',
    ],
    { encoding: 'utf8' },
  );
  const stages: Record<string, number | string> = {};
  try {
    const rows = JSON.parse(q.stdout) as { stage_durations: Record<string, number> }[];
    for (const [k, v] of Object.entries(rows[0]?.stage_durations ?? {}))
      stages[`${k}_s`] = Number(Number(v).toFixed(2));
  } catch {
    // the figures stand without the breakdown
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  const extra = {
    database: backend,
    ...(rssKb !== null ? { stage_peak_rss_mb: Math.round(rssKb / 1024) } : {}),
    stage_seconds: Number(seconds.toFixed(2)),
    posts: cohort.posts,
    epochs,
    peak_rss_source: run.peakRssSource,
    ...stages,
  };
  const where = backend === 'postgres' ? 'server' : 'embedded';
  const rows: BenchResult[] = [
    {
      stage: 'end_to_end',
      name: `mhmtl run wall time (${where}, ${epochs} epoch(s))`,
      users: cohort.users,
      unit: 's',
      value: seconds,
      baseline: null,
      baselineValue: null,
      ratio: null,
      extra,
    },
  ];
  if (rssKb !== null) {
    rows.push({
      stage: 'end_to_end',
      name: `mhmtl run peak RSS (${where})`,
      users: cohort.users,
      unit: 'MB',
      value: rssKb / 1024,
      baseline: null,
      baselineValue: null,
      ratio: null,
      extra,
    });
  }
  return rows;
}

function packageVersion(name: string): string | null {
  try {
    const file = path.join(PACKAGE_ROOT, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

function git(args: string[]): string | null {
  const r = spawnSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function fmt(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  return v.toPrecision(3);
}

/** The aligned table of the results (one row per figure). */
export function resultsTable(results: readonly BenchResult[]): string {
  return renderRows(
    results.map((r) => ({
      stage: r.stage,
      what: r.name,
      users: r.users,
      value: fmt(r.value),
      unit: r.unit,
      baseline: r.baseline ?? '',
      'baseline value': fmt(r.baselineValue),
      ratio: r.ratio === null ? '' : r.ratio.toFixed(2),
      'peak RSS MB': r.extra?.stage_peak_rss_mb ?? '',
    })),
    'table',
  );
}

/** Run the benchmarks the options name; returns what it wrote to `out`. */
export async function runBench(options: BenchOptions): Promise<Record<string, unknown>> {
  const startedAt = new Date();
  const t0 = performance.now();
  mkdirSync(options.dataDir, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-bench-run-'));
  const needsServer = options.backends.includes('postgres');
  if (needsServer && !options.databaseUrl)
    throw new InvalidArgumentError('--backend postgres needs --database-url or DATABASE_URL');
  const scratch = needsServer ? new ScratchDatabase(options.databaseUrl!) : null;
  const cleanup = () => {
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanup();
    void (scratch ? scratch.drop().catch(() => {}) : Promise.resolve()).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: BenchResult[] = [];
  const capped: string[] = [];
  const failures: string[] = [];
  const cohorts: Record<string, { posts: number; generated_s: number | null }> = {};
  let serverVersion: string | null = null;
  try {
    if (scratch) serverVersion = await scratch.serverVersion();
    const perSizeStages = options.stages.filter((s) => s !== 'ingest_memory' && s !== 'methods');
    for (const users of perSizeStages.length > 0 ? options.sizes : []) {
      const cohort = await ensureCohort(options.dataDir, users, options.seed);
      cohorts[users] = { posts: cohort.posts, generated_s: cohort.generatedSeconds };
      for (const stage of options.stages) {
        if (stage === 'ingest_memory' || stage === 'methods') continue; // once, after the sizes
        const perBackend = stage === 'ingest' || stage === 'end_to_end';
        for (const backend of perBackend ? options.backends : [null]) {
          const label = `${stage} ${users} users${backend ? ` ${backend}` : ''}`;
          if (stage === 'end_to_end' && users > options.maxEndToEndUsers) {
            const note = `end_to_end at ${users} users skipped: above --max-e2e-users ${options.maxEndToEndUsers}`;
            if (!capped.includes(note)) capped.push(note);
            log(`CAPPED ${note}`);
            continue;
          }
          if (stage === 'train' && users > options.maxTrainUsers) {
            const note = `train at ${users} users measured on ${options.maxTrainUsers} units (--max-train-users)`;
            capped.push(note);
            log(`CAPPED ${note}`);
          }
          if (stage === 'tokenize' && cohort.posts > options.maxTokenizeTexts) {
            const note = `tokenize at ${users} users measured on ${options.maxTokenizeTexts} of ${cohort.posts} texts (--max-tokenize-texts)`;
            capped.push(note);
            log(`CAPPED ${note}`);
          }
          log(`${label}...`);
          const s0 = performance.now();
          let rows: BenchResult[] = [];
          try {
            if (stage === 'end_to_end') {
              rows = await runEndToEnd(cohort, backend!, scratch, options.endToEndEpochs, tmp);
            } else {
              if (backend === 'postgres') await scratch!.recreate();
              rows = await runStageChild(
                {
                  stage,
                  users,
                  posts: cohort.posts,
                  postsFile: cohort.postsFile,
                  backend,
                  databaseUrl: backend === 'postgres' ? scratch!.url : null,
                  maxTrainUsers: options.maxTrainUsers,
                  maxTokenizeTexts: options.maxTokenizeTexts,
                },
                tmp,
              );
            }
          } catch (error) {
            // one failed stage does not lose the others' figures: recorded, and the exit code is 1
            const message = `${label}: ${error instanceof Error ? error.message : String(error)}`;
            failures.push(message);
            log(`FAILED ${message}`);
          }
          results.push(...rows);
          log(`${label}: done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
          for (const r of rows)
            log(
              `  ${r.name}: ${fmt(r.value)} ${r.unit}${r.ratio !== null ? ` (ratio ${r.ratio.toFixed(2)})` : ''}`,
            );
        }
      }
    }
    if (options.stages.includes('methods')) {
      // once, at the training benchmark's shape (2,000 units), one child per method
      const { BENCH_METHODS } = await import('./methods.js');
      const units = Math.min(2000, options.maxTrainUsers);
      for (const method of BENCH_METHODS) {
        const label = `methods ${method.name} ${units} units`;
        log(`${label}...`);
        const s0 = performance.now();
        try {
          const rows = await runStageChild(
            {
              stage: 'methods',
              method: method.name,
              users: units,
              posts: 0,
              postsFile: '',
              backend: null,
              databaseUrl: null,
              maxTrainUsers: options.maxTrainUsers,
              maxTokenizeTexts: options.maxTokenizeTexts,
            },
            tmp,
          );
          results.push(...rows);
          for (const r of rows)
            log(`  ${r.name}: ${fmt(r.value)} ${r.unit} (ratio to hard sharing ${r.ratio?.toFixed(2)})`);
        } catch (error) {
          const message = `${label}: ${error instanceof Error ? error.message : String(error)}`;
          failures.push(message);
          log(`FAILED ${message}`);
        }
        log(`${label}: done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
      }
    }
    if (options.stages.includes('ingest_memory')) {
      const { benchIngestMemory, ensureBigPostsFile } = await import('./ingest.js');
      const source = await ensureCohort(options.dataDir, 2000, options.seed);
      const target = options.memoryFileMb * 2 ** 20;
      const out = path.resolve(options.dataDir, `posts-${options.memoryFileMb}mb.jsonl`);
      log(`ingest_memory: writing (or reusing) ${path.relative(process.cwd(), out)}...`);
      const big = await ensureBigPostsFile(source.postsFile, out, target);
      log(`ingest_memory: ${big.posts} posts, ${big.users} users, ${(big.bytes / 2 ** 20).toFixed(0)} MiB`);
      for (const backend of options.backends) {
        const s0 = performance.now();
        try {
          const dataDir = path.join(tmp, 'ingest-memory-data');
          rmSync(dataDir, { recursive: true, force: true });
          if (backend === 'postgres') await scratch!.recreate();
          const rows = await benchIngestMemory({
            cliMain,
            big,
            backend,
            dataDir,
            ...(scratch ? { databaseUrl: scratch.url } : {}),
            tmp,
          });
          rmSync(dataDir, { recursive: true, force: true });
          results.push(...rows);
          for (const r of rows) log(`  ${r.name}: ${fmt(r.value)} ${r.unit}`);
        } catch (error) {
          const message = `ingest_memory ${backend}: ${error instanceof Error ? error.message : String(error)}`;
          failures.push(message);
          log(`FAILED ${message}`);
        }
        log(`ingest_memory ${backend}: done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (scratch) await scratch.drop().catch((e) => log(`could not drop ${scratch.name}: ${e}`));
    cleanup();
  }
  const tfjsBackend = results.find((r) => r.stage === 'train')?.extra?.backend ?? null;
  const commit = git(['rev-parse', 'HEAD']);
  const report = {
    schema: 1,
    date: startedAt.toISOString(),
    duration_s: Number(((performance.now() - t0) / 1000).toFixed(1)),
    git: { commit, dirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '' },
    mhmtl: VERSION,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? null,
      memory_gb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      loadavg_at_start: os.loadavg().map((l) => Number(l.toFixed(2))),
    },
    versions: {
      node: process.version,
      '@tensorflow/tfjs': packageVersion('@tensorflow/tfjs'),
      '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
      '@tensorflow/tfjs-node': packageVersion('@tensorflow/tfjs-node'),
      '@electric-sql/pglite': packageVersion('@electric-sql/pglite'),
      pg: packageVersion('pg'),
      'pg-copy-streams': packageVersion('pg-copy-streams'),
      'wink-nlp': packageVersion('wink-nlp'),
      'wink-eng-lite-web-model': packageVersion('wink-eng-lite-web-model'),
    },
    backends: {
      database: options.backends,
      postgres_server: serverVersion,
      server_url: options.databaseUrl && needsServer ? maskUrl(options.databaseUrl) : null,
      tfjs: tfjsBackend,
    },
    sizes: options.sizes,
    stages: options.stages,
    cohort: { seed: options.seed, min_posts: MIN_POSTS, max_posts: MAX_POSTS, by_users: cohorts },
    limits: {
      max_train_users: options.maxTrainUsers,
      max_e2e_users: options.maxEndToEndUsers,
      e2e_epochs: options.endToEndEpochs,
      max_tokenize_texts: options.maxTokenizeTexts,
      memory_file_mb: options.memoryFileMb,
    },
    capped,
    failures,
    results,
  };
  mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Command line.

function intList(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 10))
    throw new InvalidArgumentError('expected a comma-separated list of integers >= 10');
  return list;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

function stageList(value: string): Stage[] {
  const list = value.split(',').map((s) => s.trim());
  const known: readonly string[] = [...STAGES, ...OPT_IN_STAGES];
  const bad = list.filter((s) => !known.includes(s));
  if (bad.length > 0)
    throw new InvalidArgumentError(`unknown stage(s) ${bad.join(', ')}; one of ${known.join(', ')}`);
  return list as Stage[];
}

function buildProgram(): Command {
  return new Command('bench')
    .description(
      'measure every stage against a raw baseline in the same run, at several cohort sizes; print a table and write a JSON report',
    )
    .option('--sizes <list>', 'cohort sizes in users, comma-separated', intList, DEFAULT_SIZES)
    .option(
      '--quick',
      `the quick preset: sizes ${QUICK_SIZES.join(',')} (overrides --sizes); the databases are still --backend's`,
    )
    .option(
      '--stages <list>',
      `stages to measure, comma-separated: ${STAGES.join(',')} (the default), and ${OPT_IN_STAGES.join(',')} when named`,
      stageList,
      [...STAGES],
    )
    .addOption(
      new Option(
        '--backend <name>',
        'database backend of ingest, ingest_memory and end_to_end (default: embedded only)',
      )
        .choices(['pglite', 'postgres', 'both'])
        .default('pglite'),
    )
    .option(
      '--database-url <url>',
      'PostgreSQL server for --backend postgres|both (default: DATABASE_URL); the harness creates and drops its own scratch database there',
    )
    .option('--out <file>', 'JSON report', 'bench/results.json')
    .option('--data <dir>', 'where generated cohorts are kept and reused', 'bench/data')
    .option('--seed <n>', 'cohort generator seed', positiveInt, 1)
    .option('--max-train-users <n>', 'train benchmark units: at most this many users', positiveInt, 10_000)
    .option('--max-e2e-users <n>', 'end_to_end only at sizes up to this many users', positiveInt, 10_000)
    .option('--e2e-epochs <n>', 'epochs (and patience) of every model in the end-to-end run', positiveInt, 3)
    .option('--max-tokenize-texts <n>', 'tokenize benchmark texts: at most this many', positiveInt, 200_000)
    .option('--memory-file-mb <n>', 'ingest_memory: size of the generated posts file, MiB', positiveInt, 1024)
    .addOption(new Option('--child <json>').hideHelp())
    .addOption(new Option('--child-out <file>').hideHelp())
    .addHelpText(
      'after',
      '\nExamples:\n  npm run bench                          # 2000, 10000, 50000 users\n  npm run bench -- --quick               # 500, 2000 users\n  npm run bench -- --stages ingest --backend both --database-url postgres://postgres@127.0.0.1:5432/postgres\n',
    );
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.parse();
  const o = program.opts<{
    sizes: number[];
    quick?: boolean;
    stages: Stage[];
    backend: 'pglite' | 'postgres' | 'both';
    databaseUrl?: string;
    out: string;
    data: string;
    seed: number;
    maxTrainUsers: number;
    maxE2eUsers: number;
    e2eEpochs: number;
    maxTokenizeTexts: number;
    memoryFileMb: number;
    child?: string;
    childOut?: string;
  }>();
  if (o.child) {
    await runChild(JSON.parse(o.child) as ChildSpec, o.childOut!);
    process.exit(0); // worker pools and wasm keep no reason to linger
  }
  const options: BenchOptions = {
    sizes: o.quick ? QUICK_SIZES : o.sizes,
    stages: o.stages,
    backends: o.backend === 'both' ? ['pglite', 'postgres'] : [o.backend],
    databaseUrl: o.databaseUrl ?? process.env.DATABASE_URL,
    out: o.out,
    dataDir: o.data,
    seed: o.seed,
    maxTrainUsers: o.maxTrainUsers,
    maxEndToEndUsers: o.maxE2eUsers,
    endToEndEpochs: o.e2eEpochs,
    maxTokenizeTexts: o.maxTokenizeTexts,
    memoryFileMb: o.memoryFileMb,
  };
  if (options.backends.includes('postgres') && !options.databaseUrl)
    program.error('error: --backend postgres|both needs --database-url or DATABASE_URL', { exitCode: 2 });
  if (program.getOptionValueSource('backend') === 'default') {
    process.stderr.write(
      'bench: embedded database (PGlite) only; --backend both --database-url URL (or DATABASE_URL) measures a PostgreSQL server too\n',
    );
  }
  const report = await runBench(options);
  const results = report.results as BenchResult[];
  const machine = report.machine as { cores: number };
  process.stdout.write(
    `\nmhmtl bench: ${machine.cores} cores, node ${process.version}, tfjs ${String((report.backends as { tfjs: unknown }).tfjs ?? '-')}, database ${options.backends.join('+')}, commit ${String((report.git as { commit: string | null }).commit ?? '?').slice(0, 10)}\n\n`,
  );
  process.stdout.write(resultsTable(results));
  const capped = report.capped as string[];
  if (capped.length > 0) process.stdout.write(`\ncapped:\n${capped.map((c) => `  - ${c}`).join('\n')}\n`);
  process.stdout.write(`\nwrote ${options.out} (${report.duration_s} s)\n`);
  const failures = report.failures as string[];
  if (failures.length > 0) {
    process.stdout.write(`\nFAILED:\n${failures.map((f) => `  - ${f.split('\n')[0]}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exit(1);
});
