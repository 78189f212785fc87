import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/evaluate/random.js';
import { runCli } from '../helpers/cli.js';
import {
  createTestDatabase,
  queryDatabase,
  type TestDatabase,
  testBackendNames,
} from '../helpers/databases.js';
import { makeTempDir } from '../helpers/tmp.js';

/**
 * A cohort built so that the model fails on one gender: the signal word of depression ("gloomy")
 * is written only by depressed users of gender 1; depressed users of gender 0 write like everyone
 * else. One user in ten has no gender label. Gender is not a task of the pipeline, only a subgroup.
 */
function writeCohort(dir: string, users: number): { posts: string; labels: string } {
  const rng = new SeededRandom(23);
  const filler = [
    'coffee',
    'walk',
    'movie',
    'rain',
    'work',
    'friend',
    'music',
    'train',
    'game',
    'book',
    'lunch',
    'city',
  ];
  const posts: string[] = [];
  const labels: string[] = [];
  for (let u = 0; u < users; u++) {
    const id = `user-${u}`;
    const depressed = rng.next() < 0.5 ? 1 : 0;
    const gender = u % 10 === 9 ? null : u % 2;
    labels.push(JSON.stringify({ user_id: id, task: 'depression', label: depressed }));
    if (gender !== null) labels.push(JSON.stringify({ user_id: id, task: 'gender', label: gender }));
    for (let p = 0; p < 6; p++) {
      const words = Array.from({ length: 8 }, () => filler[rng.int(filler.length)]!);
      if (depressed && gender === 1 && p < 3) words.push('gloomy');
      posts.push(
        JSON.stringify({
          post_id: `${id}-p${p}`,
          user_id: id,
          created_at: `2020-01-0${p + 1}T10:00:00Z`,
          text: words.join(' '),
        }),
      );
    }
  }
  const postsFile = path.join(dir, 'posts.jsonl');
  const labelsFile = path.join(dir, 'labels.jsonl');
  writeFileSync(postsFile, `${posts.join('\n')}\n`);
  writeFileSync(labelsFile, `${labels.join('\n')}\n`);
  return { posts: postsFile, labels: labelsFile };
}

function writePipeline(dir: string, cohort: { posts: string; labels: string }, subgroups: string[]): string {
  const file = path.join(dir, `subgroups-${subgroups.join('-') || 'none'}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: 'subgroups',
      seed: 5,
      inputs: [
        { kind: 'posts', files: [cohort.posts] },
        { kind: 'labels', files: [cohort.labels] },
      ],
      tasks: { main: ['depression'] },
      features: { word_ngrams: [1, 1], min_df: 2, max_features: 500 },
      models: [{ name: 'lr', kind: 'lr' }],
      evaluation: {
        split: { train: 0.5, dev: 0.2, test: 0.3 },
        bootstrap: 50,
        min_positives: 1,
        calibration: 'isotonic',
        calibration_bins: 5,
        subgroups,
      },
    }),
  );
  return file;
}

let dir: string;
let cohort: { posts: string; labels: string };
beforeAll(() => {
  dir = makeTempDir('mhmtl-subgroups-');
  cohort = writeCohort(dir, 300);
});

for (const name of testBackendNames()) {
  describe(`evaluation.subgroups and calibration in a run [${name}]`, () => {
    let db: TestDatabase;
    const query = <R>(sql: string, params: unknown[] = []) => queryDatabase<R>(db.config, sql, params);
    beforeAll(async () => {
      db = await createTestDatabase(name);
    });
    afterAll(async () => db.cleanup());

    it('a subgroup that is not labelled: one line naming /evaluation/subgroups/0, exit 2, no run recorded', async () => {
      const r = await runCli([
        'run',
        writePipeline(dir, cohort, ['religion']),
        '--workers',
        '1',
        ...db.cliArgs,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain("/evaluation/subgroups/0: 'religion' is not labelled");
      expect(r.stderr).toContain('labelled: depression, gender');
      expect(await query('SELECT run_id FROM mhmtl.runs')).toEqual([]);
      expect(await query('SELECT user_id FROM mhmtl.labels LIMIT 1')).toEqual([]);
    }, 600_000); // a run on an embedded database, on a loaded machine

    it('the gender the model fails on shows as the largest AUC gap; unknown gender is counted', async () => {
      // A fixed pseudonym key: the split follows the pseudonyms, and with a database's own random
      // key the test units (and so the gap) changed from one database to the next.
      const r = await runCli(
        ['run', writePipeline(dir, cohort, ['gender']), '--workers', '1', ...db.cliArgs],
        { env: { MHMTL_PSEUDONYM_KEY: 'subgroups-test-key-0123456789abcdef0123456789' } },
      );
      expect(r.stderr).toContain('succeeded');
      expect(r.code).toBe(0);
      const rows = await query<{ subgroup_value: string; n: number; auc: number | null }>(
        `SELECT subgroup_value, n, auc FROM mhmtl.task_reports
         WHERE subgroup = 'gender' AND model = 'lr' AND task = 'depression' ORDER BY subgroup_value`,
      );
      expect(rows.map((x) => x.subgroup_value)).toEqual(['0', '1', 'unknown']);
      const whole = await query<{ n: number }>(
        `SELECT n FROM mhmtl.task_reports WHERE subgroup = '' AND split = 'test' AND model = 'lr'`,
      );
      expect(rows.reduce((a, x) => a + x.n, 0)).toBe(whole[0]!.n);
      expect(rows[2]!.n).toBeGreaterThan(0);
      const gap = await query<{
        auc_gap: number;
        value_lowest: string;
        value_highest: string;
        auc_highest: number;
      }>(
        `SELECT auc_gap, value_lowest, value_highest, auc_highest FROM mhmtl.subgroup_auc_gaps
         WHERE model = 'lr' AND task = 'depression' AND subgroup = 'gender'`,
      );
      expect(gap).toHaveLength(1);
      expect(gap[0]).toMatchObject({ value_lowest: '0', value_highest: '1' });
      expect(gap[0]!.auc_highest).toBeGreaterThan(0.9);
      expect(gap[0]!.auc_gap).toBeGreaterThan(0.25);
      // raw and isotonic curves of the test split, 5 bins each
      const curves = await query<{ method: string; bins: number; n: number }>(
        `SELECT method, bins, n FROM mhmtl.calibration_errors WHERE model = 'lr' ORDER BY method`,
      );
      expect(curves).toEqual([
        { method: 'isotonic', bins: 5, n: whole[0]!.n },
        { method: 'raw', bins: 5, n: whole[0]!.n },
      ]);

      const gaps = await runCli(['report', '--rows', 'subgroup_gaps', '--format', 'csv', ...db.cliArgs]);
      expect(gaps.code).toBe(0);
      const [header, line] = gaps.stdout.trim().split('\n');
      expect(header).toBe(
        'run_id,repeat,model,task,subgroup,values_compared,auc_gap,value_highest,auc_highest,value_lowest,auc_lowest',
      );
      expect(line).toMatch(new RegExp(`^\\d+,0,lr,depression,gender,2,${gap[0]!.auc_gap},1,`));
      const table = await runCli(['report', '--rows', 'subgroups', ...db.cliArgs]);
      expect(table.stdout).toMatch(/lr\s+\|\s*depression\s+\|\s*gender\s+\|\s*unknown/);
    }, 600_000); // a run on an embedded database, on a loaded machine
  });
}
