import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/db/open.js';
import { evaluateRun } from '../../src/evaluate/evaluate.js';
import { renderReportHtml } from '../../src/evaluate/html/index.js';
import { subgroupGaps } from '../../src/evaluate/html/optional.js';
import { niceTicks } from '../../src/evaluate/html/svg.js';
import type { CalibrationCurve, SubgroupReport, TaskFeature } from '../../src/evaluate/report-sections.js';
import { type HistoryEntry, readRunReport, writeRunEvaluation } from '../../src/evaluate/store.js';
import { launchBundledChromium } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { syntheticRun } from './fixture.js';

const PIPELINE = '<b>synthetic</b> & "co"';
const MODELS = ['mtl', 'mtl_no_aux', 'stl', 'lr'];
/** Tasks of the constructed relations (the fixture's tasks with both classes). */
const REL_TASKS = ['anxiety', 'depression', 'ptsd', 'gender'];
/** cross_stitch_alpha of mtl at layer 1: 0.9 on the diagonal, 0.1 x (a + b + 1) off it. */
const alpha = (a: number, b: number) => (a === b ? 0.9 : 0.1 * (a + b + 1));
/** The branching of mtl: one branch at layer 1, {anxiety, depression} / {ptsd, gender} at 2, three at 3. */
const BRANCHES: Record<number, Record<string, number>> = {
  1: { anxiety: 0, depression: 0, ptsd: 0, gender: 0 },
  2: { anxiety: 0, depression: 0, ptsd: 1, gender: 1 },
  3: { anxiety: 0, depression: 1, ptsd: 2, gender: 2 },
};
/** Training history: 5 epochs; mtl and mtl_no_aux per task with weights (mtl: gender 0.5 -> 0.3), stl per task. */
function history(): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (let epoch = 1; epoch <= 5; epoch++) {
    for (const task of ['anxiety', 'depression', 'ptsd', 'gender']) {
      const loss = 0.7 / epoch;
      out.push({
        model: 'mtl',
        epoch,
        task,
        loss,
        devLoss: loss + 0.1,
        weight: task === 'gender' ? 0.5 - 0.05 * (epoch - 1) : 1,
      });
      if (task !== 'gender') {
        out.push({ model: 'mtl_no_aux', epoch, task, loss: loss * 1.1, devLoss: loss + 0.15, weight: 1 });
        out.push({ model: `stl:${task}`, epoch, task, loss: loss * 1.2, devLoss: loss + 0.2 });
      }
    }
    out.push({ model: 'mtl', epoch, task: null, devLoss: 0.5, devAuc: 0.7 });
  }
  return out;
}

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
           VALUES ($1, $2, 'succeeded', 21, '0.1.0', 'pglite', '{"ingest": 2.5, "train": 30.125}', now()) RETURNING run_id`,
          [
            PIPELINE,
            JSON.stringify({
              features: { word_ngrams: [1, 2], min_df: 2 },
              training: { epochs: 5, batch_size: 32 },
              tasks: { main: ['anxiety'], auxiliary: ['gender'] },
            }),
          ],
        ),
      );
      runId = Number(rows[0]!.run_id);
      await writeRunEvaluation(backend, runId, input, evaluation, { history: history() });
      await backend.transaction(async (s) => {
        await s.query(
          `INSERT INTO mhmtl.models (run_id, model, family, kind, architecture, tasks, config, backend, best_epoch, train_seconds)
           VALUES ($1, 'mtl', 'mtl', 'mtl', 'cross_stitch', $2, $3, 'cpu', 4, 12.5)`,
          [
            runId,
            REL_TASKS,
            JSON.stringify({ inputDim: 50, architecture: { hidden: [8], alpha_same: 0.9 } }),
          ],
        );
        const rel: unknown[][] = [];
        REL_TASKS.forEach((a, i) => {
          for (const [j, b] of REL_TASKS.entries()) rel.push(['cross_stitch_alpha', 1, a, b, alpha(i, j)]);
          for (let e = 1; e <= 3; e++) rel.push(['gate_mean', e, a, null, (i + e) / 10]);
          for (const layer of [1, 2, 3]) rel.push(['branching', layer, a, null, BRANCHES[layer]![a]]);
        });
        for (const r of rel)
          await s.query(
            `INSERT INTO mhmtl.task_relations (run_id, model, kind, layer, task_a, task_b, value) VALUES ($1, 'mtl', $2, $3, $4, $5, $6)`,
            [runId, ...r],
          );
      });
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
      expect(await page.locator('.auc-point').count()).toBe(16);
      expect(await page.locator('.auc-point.low-support').count()).toBe(4); // ptsd, 4 models
      expect(await page.locator('h2', { hasText: 'Paired comparisons' }).count()).toBe(1);
      expect(await page.locator('b').count()).toBe(0); // the pipeline name was escaped, not rendered
      expect(await page.title()).toContain(PIPELINE);
      expect(requests).toEqual([fileUrl]);
    } finally {
      await browser.close();
    }
  });
  it('lays the HTML report out for a 1400 px window: ticks with values, a legend entry per model, every curve in its own style', async () => {
    const out = path.join(dir, 'layout.html');
    const r = await runCli([...db.cliArgs, 'report', String(runId), '--format', 'html', '--out', out]);
    expect(r.code).toBe(0);
    const browser = await launchBundledChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      // The page fills the window (ROC grid and tables span most of it) without horizontal scrolling.
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        grid: document.querySelector('#roc ~ .grid')!.getBoundingClientRect().width,
        height: document.documentElement.scrollHeight,
      }));
      expect(widths.scroll).toBe(1400);
      expect(widths.grid / 1400).toBeGreaterThan(0.9);
      const png = await page.screenshot({ fullPage: true });
      expect(png.readUInt32BE(16)).toBe(1400); // PNG IHDR: width, height
      expect(png.readUInt32BE(20)).toBe(widths.height);
      // Each ROC panel is drawn at least 300 px wide, with tick values 0.0 ... 1.0 on both axes.
      const panels = await page.$$eval('#roc ~ .grid figure svg', (svgs) =>
        svgs.map((svg) => ({
          width: svg.getBoundingClientRect().width,
          x: Array.from(svg.querySelectorAll('text.x-tick')).map((t) => t.textContent),
          y: Array.from(svg.querySelectorAll('text.y-tick')).map((t) => t.textContent),
        })),
      );
      expect(panels.length).toBe(5);
      for (const p of panels) {
        expect(p.width).toBeGreaterThan(300);
        expect(p.x).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
        expect(p.y).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
      }
      // A legend entry per model, in report order, before the ROC grid.
      expect(
        await page.$$eval('#roc + .legend .legend-entry', (e) => e.map((x) => x.getAttribute('data-model'))),
      ).toEqual(MODELS);
      // Per task, every model's curve is there with its own (colour, dash) pair and the references
      // (stl, lr) are drawn first and wider, so the multi-task curves lie on top of them.
      const curves = await page.$$eval('path.roc-curve', (paths) =>
        paths.map((p) => ({
          model: p.getAttribute('data-model')!,
          task: p.getAttribute('data-task')!,
          stroke: p.getAttribute('stroke')!,
          dash: p.getAttribute('stroke-dasharray') ?? '',
          width: Number(p.getAttribute('stroke-width')),
        })),
      );
      for (const task of ['anxiety', 'depression', 'ptsd', 'gender']) {
        const mine = curves.filter((c) => c.task === task);
        expect(mine.map((c) => c.model).sort()).toEqual([...MODELS].sort());
        expect(new Set(mine.map((c) => c.stroke)).size).toBe(4);
        expect(new Set(mine.map((c) => c.dash)).size).toBe(4);
        const order = mine.map((c) => c.model);
        expect(Math.max(order.indexOf('stl'), order.indexOf('lr'))).toBeLessThan(
          Math.min(order.indexOf('mtl'), order.indexOf('mtl_no_aux')),
        );
        expect(mine.find((c) => c.model === 'lr')!.width).toBeGreaterThan(
          mine.find((c) => c.model === 'mtl')!.width,
        );
      }
      const headings = await page.$$eval('h2', (h) => h.map((x) => x.textContent ?? ''));
      for (const h of [
        'Run and settings',
        'Macro averages',
        'AUC per task',
        'ROC curves',
        'Per task',
        'Dev results',
        'Paired comparisons',
        'Training curves',
        'Learned task relations',
      ])
        expect(
          headings.some((x) => x.startsWith(h)),
          h,
        ).toBe(true);
      // The optional sections are absent from this run, so they are left out.
      for (const h of ['Calibration', 'Subgroups', 'Top terms'])
        expect(
          headings.some((x) => x.startsWith(h)),
          h,
        ).toBe(false);
      // Settings: the pipeline's features and training, the model's own options without inputDim.
      const body = (await page.textContent('body'))!;
      expect(body).toContain('word_ngrams: [1, 2]');
      expect(body).toContain('min_df: 2');
      expect(body).toContain('epochs: 5, batch_size: 32');
      expect(body).toContain('hidden: [8], alpha_same: 0.9');
      expect(body).not.toContain('inputDim');
      // Per task: average precision, Brier and the dev threshold as stored; low support flagged.
      const anxiety = evaluation.reports.find(
        (x) => x.model === 'mtl' && x.task === 'anxiety' && x.split === 'test',
      )!;
      const row = page.locator('table.per-task tr', { hasText: 'anxiety' }).first();
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 2)).toEqual(['anxiety', 'MTL']);
      expect(cells[4]).toBe(anxiety.averagePrecision!.toFixed(3));
      expect(cells[5]).toBe(anxiety.brier!.toFixed(3));
      expect(cells[7]).toBe(anxiety.threshold!.toFixed(3));
      // ptsd and none_positive, 4 models each
      const low = evaluation.reports.filter((x) => x.split === 'test' && x.fold === 0 && x.lowSupport);
      expect(low.length).toBe(8);
      expect(await page.locator('table.per-task tr.low').count()).toBe(low.length);
      // Training curves: loss and dev loss of every model that trained on anxiety; weights of mtl and mtl_no_aux.
      const loss = await page.$$eval('path.loss-curve[data-task="anxiety"]', (p) =>
        p.map((x) => `${x.getAttribute('data-model')}/${x.getAttribute('data-field')}`).sort(),
      );
      expect(loss).toEqual([
        'mtl/devLoss',
        'mtl/loss',
        'mtl_no_aux/devLoss',
        'mtl_no_aux/loss',
        'stl/devLoss',
        'stl/loss',
      ]);
      const weights = await page.$$eval('path.weight-curve[data-task="gender"]', (p) =>
        p.map((x) => ({ model: x.getAttribute('data-model'), d: x.getAttribute('d') })),
      );
      expect(weights.map((w) => w.model)).toEqual(['mtl']);
      expect(weights[0]!.d!.match(/[ML]/g)!.length).toBe(5); // 5 epochs
    } finally {
      await browser.close();
    }
  });

  it('draws the learned task relations: a tasks x tasks heat map with the stored values, task x expert, and the branching as a tree', async () => {
    const report = await (async () => {
      const backend = await openBackend(db.config);
      try {
        return await readRunReport(backend, runId);
      } finally {
        await backend.close();
      }
    })();
    expect(report.relations!.length).toBe(16 + 12 + 12);
    const out = path.join(dir, 'relations.html');
    writeFileSync(out, renderReportHtml(report));
    const browser = await launchBundledChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      const cells = await page.$$eval('figure[data-kind="cross_stitch_alpha"] .heat-cell', (g) =>
        g.map((x) => ({
          row: x.getAttribute('data-row')!,
          col: x.getAttribute('data-col')!,
          value: Number(x.getAttribute('data-value')),
          text: x.querySelector('text')!.textContent,
        })),
      );
      expect(cells.length).toBe(REL_TASKS.length * REL_TASKS.length);
      for (const c of cells) {
        const v = alpha(REL_TASKS.indexOf(c.row), REL_TASKS.indexOf(c.col));
        expect(c.value).toBeCloseTo(v, 12);
        expect(c.text).toBe(v.toFixed(2));
      }
      // Rows and columns in the report's task order (by name).
      expect([...new Set(cells.map((c) => c.row))]).toEqual(['anxiety', 'depression', 'gender', 'ptsd']);
      const gate = await page.$$eval('figure[data-kind="gate_mean"] .heat-cell', (g) =>
        g.map(
          (x) =>
            `${x.getAttribute('data-row')}|${x.getAttribute('data-col')}|${x.querySelector('text')!.textContent}`,
        ),
      );
      expect(gate.length).toBe(4 * 3);
      expect(gate).toContain('ptsd|expert 3|0.50'); // (i + e) / 10 with i = 2, e = 3
      // The branching: 1 + 2 + 3 nodes; the tasks under each; the table says the same.
      const nodes = await page.$$eval('figure.branching .tree-node', (g) =>
        g.map(
          (x) =>
            `${x.getAttribute('data-layer')}:${x.getAttribute('data-branch')}:${x.getAttribute('data-tasks')}`,
        ),
      );
      expect(nodes).toEqual([
        '1:0:anxiety,depression,gender,ptsd',
        '2:0:anxiety,depression',
        '2:1:gender,ptsd',
        '3:0:anxiety',
        '3:1:depression',
        '3:2:gender,ptsd',
      ]);
      // Edges: layer 1 -> 2 (2), layer 2 -> 3 (3), layer 3 -> the 4 task leaves.
      expect(await page.locator('figure.branching .tree-edge').count()).toBe(2 + 3 + 4);
      expect(
        await page.locator('table.branching-table tr', { hasText: 'branch 1: gender, ptsd' }).count(),
      ).toBe(1);
    } finally {
      await browser.close();
    }
  });

  it('renders calibration, subgroups and top terms from constructed data, and omits them when absent', async () => {
    const backend = await openBackend(db.config);
    const base = await readRunReport(backend, runId).finally(() => backend.close());
    const calibration: CalibrationCurve[] = MODELS.map((model, k) => ({
      model,
      task: 'anxiety',
      repeat: 0,
      method: 'raw',
      ece: 0.01 * (k + 1),
      bins: [0, 1, 2, 3].map((bin) => ({
        bin,
        meanScore: 0.2 * bin + 0.1,
        positiveRate: 0.2 * bin + 0.05 * k,
        count: 15,
      })),
    }));
    const subgroup = (model: string, value: string, auc: number | null, n: number): SubgroupReport => ({
      model,
      task: 'anxiety',
      repeat: 0,
      subgroup: 'gender',
      value,
      n,
      positives: 5,
      auc,
      averagePrecision: 0.5,
      brier: 0.2,
    });
    const subgroups = [
      subgroup('mtl', 'female', 0.8, 30),
      subgroup('mtl', 'male', 0.65, 25),
      subgroup('mtl', 'unknown', 0.72, 5),
      subgroup('lr', 'female', 0.7, 30),
      subgroup('lr', 'male', 0.74, 25),
      subgroup('lr', 'unknown', null, 5),
    ];
    const terms: TaskFeature[] = [
      { model: 'lr', task: 'anxiety', rank: 2, term: 'worried', weight: 0.8 },
      { model: 'lr', task: 'anxiety', rank: 1, term: 'panic attack', weight: 1.25 },
      { model: 'lr', task: 'anxiety', rank: 1, term: 'football', weight: -0.5 },
    ];
    // By hand: mtl's gap is 0.80 - 0.65 over female/male/unknown; lr's 0.74 - 0.70 (unknown has no AUC).
    const gaps = subgroupGaps(subgroups);
    expect(gaps.map((g) => [g.model, g.low.value, g.high.value, Number(g.gap.toFixed(10))])).toEqual([
      ['mtl', 'male', 'female', 0.15],
      ['lr', 'female', 'male', 0.04],
    ]);
    const out = path.join(dir, 'optional.html');
    writeFileSync(out, renderReportHtml({ ...base, calibration, subgroups, terms }));
    const empty = path.join(dir, 'empty.html');
    writeFileSync(empty, renderReportHtml({ ...base, calibration: [], subgroups: [], terms: [] }));
    const browser = await launchBundledChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      const headings = await page.$$eval('h2', (h) => h.map((x) => x.textContent ?? ''));
      for (const h of ['Calibration', 'Subgroups', 'Top terms'])
        expect(
          headings.some((x) => x.startsWith(h)),
          h,
        ).toBe(true);
      // A reliability curve per model through its 4 bins, each in its own style, with the ECE in its title.
      const curves = await page.$$eval('path.calibration-curve', (p) =>
        p.map((x) => ({
          model: x.getAttribute('data-model'),
          points: x.getAttribute('d')!.match(/[ML]/g)!.length,
          style: `${x.getAttribute('stroke')}/${x.getAttribute('stroke-dasharray') ?? ''}`,
          title: x.querySelector('title')!.textContent,
        })),
      );
      expect(curves.map((c) => c.model).sort()).toEqual([...MODELS].sort());
      expect(curves.every((c) => c.points === 4)).toBe(true);
      expect(new Set(curves.map((c) => c.style)).size).toBe(4);
      expect(curves.find((c) => c.model === 'lr')!.title).toBe('LR: ECE 0.040');
      const gapRows = await page.$$eval('table.subgroup-gaps tbody tr', (r) =>
        r.map((x) => Array.from(x.querySelectorAll('td')).map((t) => t.textContent)),
      );
      expect(gapRows).toEqual([
        ['anxiety', 'MTL', 'gender', '0.150', 'male: 0.650 (n 25)', 'female: 0.800 (n 30)'],
        ['anxiety', 'LR', 'gender', '0.040', 'female: 0.700 (n 30)', 'male: 0.740 (n 25)'],
      ]);
      // Units of unknown gender are a row of their own, not dropped.
      expect(await page.locator('table.subgroup-metrics tr', { hasText: 'gender = unknown' }).count()).toBe(
        2,
      );
      const termRow = await page.$$eval('table.terms tbody tr td', (t) => t.map((x) => x.textContent));
      expect(termRow).toEqual([
        'anxiety',
        'LR',
        'panic attack (+1.25), worried (+0.800)',
        'football (-0.500)',
      ]);
      await page.goto(pathToFileURL(empty).href, { waitUntil: 'load' });
      expect(await page.locator('.not-computed').count()).toBe(3);
      expect(await page.locator('path.calibration-curve').count()).toBe(0);
    } finally {
      await browser.close();
    }
  });

  it('chooses round tick values (steps of 1, 2 or 5 x 10^k)', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1, 30, 5)).toEqual([10, 20, 30]);
    expect(niceTicks(1, 30, 6)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(niceTicks(0, 0.7, 4)).toEqual([0, 0.2, 0.4, 0.6]);
  });
});
