import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/db/open.js';
import { evaluateRun } from '../../src/evaluate/evaluate.js';
import { writeRunEvaluation } from '../../src/evaluate/store.js';
import { launchBundledChromium } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { syntheticRun } from './fixture.js';

const PIPELINE = '<b>synthetic</b> & "co"';

describe('mhmtl report (built CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  let runId: number;
  const input = syntheticRun(300, 21);
  const evaluation = evaluateRun(input, { seed: 21, bootstrapResamples: 100 });

  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-report-'));
    const backend = await openBackend(db.config);
    try {
      const rows = await backend.transaction((s) =>
        s.query<{ run_id: number }>(
          `INSERT INTO mhmtl.runs (pipeline, config, status, seed, code_version, backend, stage_durations, finished_at)
           VALUES ($1, '{}', 'succeeded', 21, '0.1.0', 'pglite', '{"ingest": 2.5, "train": 30.125}', now()) RETURNING run_id`,
          [PIPELINE],
        ),
      );
      runId = Number(rows[0]!.run_id);
      await writeRunEvaluation(backend, runId, input, evaluation);
    } finally {
      await backend.close();
    }
  });
  afterAll(async () => {
    await db.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the table of the latest run: per task AUC [CI], TPR@10%FPR, F1, deltas, macro and Δm', async () => {
    const r = await runCli([...db.cliArgs, 'report']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${runId} (${PIPELINE}, succeeded)`);
    for (const h of ['pos/n', 'AUC [95% CI]', 'TPR@10%FPR', 'F1', 'Δ vs LR', 'Δ vs STL'])
      expect(r.stdout).toContain(h);
    const mtl = evaluation.reports.find(
      (x) => x.model === 'mtl' && x.task === 'anxiety' && x.split === 'test',
    )!;
    expect(r.stdout).toContain(
      `${mtl.auc!.toFixed(3)} [${mtl.aucCiLow!.toFixed(3)}, ${mtl.aucCiHigh!.toFixed(3)}]`,
    );
    expect(r.stdout).toContain('single_class');
    expect(r.stdout).toContain('gender (aux)');
    const s = evaluation.summaries.find((x) => x.model === 'mtl' && x.split === 'test')!;
    // ptsd has 8% positives: low support in 60 test units, marked, without interval, not averaged.
    const ptsd = evaluation.reports.find(
      (x) => x.model === 'mtl' && x.task === 'ptsd' && x.split === 'test',
    )!;
    expect(ptsd.lowSupport).toBe(true);
    expect(r.stdout).toContain(`${ptsd.positives}/${ptsd.n} low`);
    expect(r.stdout).toContain(`${ptsd.auc!.toFixed(3)} [no CI: low support]`);
    expect(s).toMatchObject({ tasksAveraged: 2, tasksLowSupport: 1 });
    expect(r.stdout).toMatch(/macro \(2 main; 1 low support left out\)/);
    // The comparisons: per task with DeLong p and Holm, then the macro row.
    expect(r.stdout).toContain('paired comparisons on the same units');
    const c = evaluation.comparisons.find(
      (x) => x.model === 'mtl' && x.reference === 'lr' && x.task === 'anxiety',
    )!;
    expect(r.stdout).toMatch(
      new RegExp(
        `mtl − lr\\s+\\| repeat 1\\s+\\| anxiety\\s+\\| \\+${c.deltaAuc!.toFixed(3)} \\[[-+]${Math.abs(c.ciLow!).toFixed(3)}, [-+]${Math.abs(c.ciHigh!).toFixed(3)}\\]`,
      ),
    );
    expect(r.stdout).toMatch(/mtl − lr\s+\| repeat 1\s+\| macro \(2 tasks; 2 left out\)/);
    expect(r.stdout).toContain(`Δm ${s.deltaM! >= 0 ? '+' : ''}${(s.deltaM! * 100).toFixed(2)}%`);
  });

  it('writes JSON and CSV with full precision', async () => {
    const j = await runCli([...db.cliArgs, 'report', String(runId), '--format', 'json']);
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.run.runId).toBe(runId);
    expect(doc.rows.length).toBe(20);
    const mtl = evaluation.reports.find((x) => x.model === 'mtl' && x.task === 'ptsd' && x.split === 'test')!;
    expect(
      doc.rows.find((x: { model: string; task: string }) => x.model === 'mtl' && x.task === 'ptsd').auc,
    ).toBe(mtl.auc);
    const c = await runCli([...db.cliArgs, 'report', '--pipeline', PIPELINE, '--format', 'csv']);
    expect(c.code).toBe(0);
    const rows = parse(c.stdout, { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(20);
    expect(Number(rows.find((x) => x.model === 'mtl' && x.task === 'ptsd')!.auc)).toBe(mtl.auc);
    expect(rows.find((x) => x.task === 'none_positive')!.null_reason).toBe('single_class');
    expect(rows.find((x) => x.task === 'ptsd')!.low_support).toBe('1');
    const comparisons = doc.comparison_rows as {
      model: string;
      reference: string;
      task: string | null;
      p_value: number;
    }[];
    expect(comparisons.length).toBe(evaluation.comparisons.length);
    const cc = await runCli([...db.cliArgs, 'report', '--format', 'csv', '--rows', 'comparisons']);
    expect(cc.code).toBe(0);
    const crow = (parse(cc.stdout, { columns: true }) as Record<string, string>[]).find(
      (x) => x.model === 'mtl' && x.reference === 'stl' && x.task === 'depression',
    )!;
    const original = evaluation.comparisons.find(
      (x) => x.model === 'mtl' && x.reference === 'stl' && x.task === 'depression',
    )!;
    expect(Number(crow.p_value)).toBe(original.pValue);
    expect(Number(crow.p_holm)).toBe(original.pHolm);
    const bad = await runCli([...db.cliArgs, 'report', '--format', 'csv', '--rows', 'everything']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rows must be one of tasks, comparisons, repeats/);
  });

  it('refuses an unknown run (exit 2) and an unknown format (exit 2)', async () => {
    const a = await runCli([...db.cliArgs, 'report', '999']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/run 999 does not exist/);
    const c = await runCli([...db.cliArgs, 'report', '--format', 'pdf']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--format must be one of table, json, csv, html/);
  });

  it('writes one self-contained HTML file whose curves the bundled Chromium draws without any network request', async () => {
    const out = path.join(dir, 'report.html');
    const r = await runCli([...db.cliArgs, 'report', '--format', 'html', '--out', out]);
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script|<link|@import|url\(|src=/i);
    expect(html).toContain('&lt;b&gt;synthetic&lt;/b&gt; &amp; &quot;co&quot;');
    // The Chromium that `npm install` brought (@sparticuz/chromium), never a system browser.
    const browser = await launchBundledChromium();
    try {
      const page = await browser.newPage();
      const fileUrl = pathToFileURL(out).href;
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(fileUrl, { waitUntil: 'load' });
      const drawn = await page.$$eval('path.roc-curve', (paths) =>
        paths.map((p) => {
          const b = (p as SVGGraphicsElement).getBBox();
          return {
            model: p.getAttribute('data-model'),
            task: p.getAttribute('data-task'),
            w: b.width,
            h: b.height,
          };
        }),
      );
      // 4 models x 4 tasks with both classes (none_positive has no curve)
      expect(drawn.length).toBe(16);
      for (const d of drawn) {
        expect(d.w, `${d.model} ${d.task}`).toBeGreaterThan(50);
        expect(d.h, `${d.model} ${d.task}`).toBeGreaterThan(50);
      }
      expect(new Set(drawn.map((d) => `${d.model}/${d.task}`)).size).toBe(16);
      expect(await page.locator('circle.auc-point').count()).toBe(16);
      expect(await page.locator('circle.auc-point.low-support').count()).toBe(4); // ptsd, 4 models
      expect(await page.locator('h2', { hasText: 'Paired comparisons' }).count()).toBe(1);
      expect(await page.locator('b').count()).toBe(0); // the pipeline name was escaped, not rendered
      expect(await page.title()).toContain(PIPELINE);
      expect(requests).toEqual([fileUrl]);
    } finally {
      await browser.close();
    }
  });
});
