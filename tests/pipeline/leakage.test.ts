import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import {
  createTestDatabase,
  queryDatabase,
  type TestDatabase,
  testBackendNames,
} from '../helpers/databases.js';
import { writeOneTaskPipeline } from '../helpers/pipeline-file.js';
import { makeTempDir } from '../helpers/tmp.js';

/**
 * Leakage filters on a cohort whose leak is known in advance: 160 users, half positive for
 * `cond`; every user writes 4 posts of words drawn at random from one vocabulary (no signal), and
 * every positive one more post, in the community r/leaky, "ZZDiagnosed #zzcondition" (tokens
 * only positives use). Without a filter the test AUC is near 1 (the leak); each filter removes
 * the leak tokens (the vocabulary holds none), and the AUC falls to chance.
 */
const USERS = 160;
const WORDS =
  'apple river stone cloud music garden window paper bread coffee train light chair ocean road book table phone shoe glass'.split(
    ' ',
  );

function writeCohort(dir: string): { posts: string; labels: string } {
  let state = 12345;
  const rand = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const posts: string[] = [];
  const labels: string[] = [];
  for (let u = 0; u < USERS; u++) {
    const positive = u % 2 === 0;
    const day = (k: number) => new Date(Date.UTC(2020, 0, 1 + u, k)).toISOString();
    for (let k = 0; k < 4; k++) {
      const text = Array.from({ length: 8 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
      posts.push(
        JSON.stringify({
          user_id: `u${u}`,
          post_id: `u${u}p${k}`,
          created_at: day(k),
          text,
          community: 'casual',
        }),
      );
    }
    if (positive)
      posts.push(
        JSON.stringify({
          user_id: `u${u}`,
          post_id: `u${u}leak`,
          created_at: day(5),
          text: 'ZZDiagnosed #zzcondition',
          community: 'r/Leaky',
        }),
      );
    labels.push(JSON.stringify({ user_id: `u${u}`, task: 'cond', label: positive ? 1 : 0 }));
  }
  const files = { posts: path.join(dir, 'posts.jsonl'), labels: path.join(dir, 'labels.jsonl') };
  writeFileSync(files.posts, `${posts.join('\n')}\n`);
  writeFileSync(files.labels, `${labels.join('\n')}\n`);
  return files;
}

let dir: string;
let files: { posts: string; labels: string };

/** A pipeline over the cohort with the given leakage controls; returns its path. */
function pipeline(name: string, extra: Record<string, unknown>): string {
  return writeOneTaskPipeline(dir, name, files, {
    evaluation: { bootstrap: 0, min_positives: 1 },
    baselines: { lr: true, stl: false, mtl_no_aux: false },
    ...extra,
  });
}

beforeAll(() => {
  dir = makeTempDir('mhmtl-leak-');
  files = writeCohort(dir);
});

/** A CLI run trains and writes: on a loaded 2-core machine it takes minutes. */
const CLI_TIMEOUT = 300_000;

for (const name of testBackendNames()) {
  describe(`leakage filters [${name}]`, () => {
    let db: TestDatabase;
    const query = <R>(sql: string, params: unknown[] = []) => queryDatabase<R>(db.config, sql, params);
    /** Run a pipeline; the run's LR test AUC on cond, its vocabulary's leak terms and post filter record. */
    async function run(file: string) {
      const r = await runCli(['run', file, '--workers', '1', ...db.cliArgs]);
      expect(r.stderr).toContain('succeeded');
      const [last] = await query<{ run_id: number; post_filters: Record<string, number> | null }>(
        'SELECT run_id::int, post_filters FROM mhmtl.runs ORDER BY run_id DESC LIMIT 1',
      );
      const [report] = await query<{ auc: number }>(
        `SELECT auc FROM mhmtl.task_reports WHERE run_id = $1 AND model = 'lr' AND task = 'cond' AND split = 'test'`,
        [last!.run_id],
      );
      const [space] = await query<{ leaks: number }>(
        `SELECT count(*)::int AS leaks FROM mhmtl.feature_spaces f, jsonb_array_elements_text(f.state -> 'vocabulary') t
         WHERE f.run_id = $1 AND t LIKE '%zz%'`,
        [last!.run_id],
      );
      return { auc: report!.auc, leaks: space!.leaks, postFilters: last!.post_filters, stderr: r.stderr };
    }

    beforeAll(async () => {
      db = await createTestDatabase(name);
    });
    afterAll(async () => db.cleanup());

    it(
      'without a filter the planted leak is learned: test AUC near 1',
      async () => {
        const r = await run(pipeline('off', {}));
        expect(r.leaks).toBeGreaterThan(0);
        expect(r.auc).toBeGreaterThan(0.95);
        expect(r.postFilters).toBeNull();
      },
      CLI_TIMEOUT,
    );

    it(
      'masked_terms with a prefix and a regular expression remove the leak: AUC falls to chance',
      async () => {
        const r = await run(pipeline('masked', { masked_terms: ['zzdiag*', '/zzcond\\w*/'] }));
        expect(r.leaks).toBe(0);
        expect(r.auc).toBeLessThan(0.8);
      },
      CLI_TIMEOUT,
    );

    it(
      'exclude_patterns drops the disclosure posts, counted in the run',
      async () => {
        const r = await run(pipeline('patterns', { exclude_patterns: ['\\yzzdiagnosed\\y'] }));
        expect(r.leaks).toBe(0);
        expect(r.auc).toBeLessThan(0.8);
        expect(r.postFilters).toEqual({
          exclude_communities: 0,
          exclude_patterns: 1,
          posts: USERS * 4 + USERS / 2,
          community: 0,
          pattern: USERS / 2,
          dropped: USERS / 2,
        });
        expect(r.stderr).toContain(`post filters: dropped ${USERS / 2} of ${USERS * 4 + USERS / 2} posts`);
      },
      CLI_TIMEOUT,
    );

    it(
      'exclude_communities drops the posts of a listed community (case and r/ ignored)',
      async () => {
        const r = await run(pipeline('communities', { exclude_communities: ['leaky'] }));
        expect(r.leaks).toBe(0);
        expect(r.auc).toBeLessThan(0.8);
        expect(r.postFilters).toMatchObject({
          exclude_communities: 1,
          community: USERS / 2,
          dropped: USERS / 2,
        });
      },
      CLI_TIMEOUT,
    );

    it(
      'a shipped list file is expanded into the recorded config',
      async () => {
        await run(pipeline('shipped', { masked_terms: ['zzdiag*', { file: 'leakage/conditions.json' }] }));
        const [c] = await query<{ terms: string[] }>(
          `SELECT config -> 'masked_terms' AS terms FROM mhmtl.runs ORDER BY run_id DESC LIMIT 1`,
        );
        expect(c!.terms.slice(0, 3)).toEqual(['zzdiag*', 'depress*', 'antidepressant*']);
      },
      CLI_TIMEOUT,
    );

    it(
      'malformed patterns: one line naming the pattern and the engine message, exit 2, no run recorded',
      async () => {
        const before = await query<{ n: number }>('SELECT count(*)::int AS n FROM mhmtl.runs');
        const bad = await runCli([
          'run',
          pipeline('bad-mask', { masked_terms: ['/zz(cond/'] }),
          ...db.cliArgs,
        ]);
        expect(bad.code).toBe(2);
        expect(bad.stderr.trim().split('\n')).toHaveLength(1);
        expect(bad.stderr).toMatch(
          /\/masked_terms\/0: \/zz\(cond\/: Invalid regular expression: .*Unterminated group/,
        );
        const badPattern = await runCli([
          'run',
          pipeline('bad-pattern', { exclude_patterns: ['zz(cond'] }),
          ...db.cliArgs,
        ]);
        expect(badPattern.code).toBe(2);
        expect(badPattern.stderr.trim().split('\n')).toHaveLength(1);
        expect(badPattern.stderr).toMatch(
          /\/exclude_patterns: zz\(cond: .*invalid regular expression: parentheses \(\) not balanced/,
        );
        const boundary = await runCli([
          'run',
          pipeline('bad-boundary', { exclude_patterns: ['\\bzz'] }),
          ...db.cliArgs,
        ]);
        expect(boundary.code).toBe(2);
        expect(boundary.stderr).toMatch(/use \\y for a word boundary/);
        const after = await query<{ n: number }>('SELECT count(*)::int AS n FROM mhmtl.runs');
        expect(after[0]!.n).toBe(before[0]!.n);
      },
      CLI_TIMEOUT,
    );
  });
}
