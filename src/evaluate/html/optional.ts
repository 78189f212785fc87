import type { SubgroupReport } from '../report-sections.js';
import { type ReportContext, taskLabel } from './context.js';
import { esc, f3, labelOf } from './style.js';
import { type Row, table } from './tables.js';

/**
 * The subgroup and top-term sections of the HTML report (issue 18 items 4 and 5), drawn from the
 * report's optional `subgroups` and `terms`; each is omitted when the run has none.
 */

/** The largest AUC gap between the values of one subgroup attribute, for one model and task. */
export interface SubgroupGap {
  model: string;
  task: string;
  subgroup: string;
  gap: number;
  low: SubgroupReport;
  high: SubgroupReport;
}

/**
 * Per model, task and subgroup attribute: the largest AUC difference between two of its values
 * (max AUC − min AUC over the values that have one), first repeat. Values without an AUC are skipped.
 */
export function subgroupGaps(rows: readonly SubgroupReport[]): SubgroupGap[] {
  const groups = new Map<string, SubgroupReport[]>();
  for (const r of rows) {
    if (r.repeat !== 0 || r.auc === null) continue;
    const k = JSON.stringify([r.model, r.task, r.subgroup]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].flatMap((g) => {
    if (g.length < 2) return [];
    const low = g.reduce((a, b) => (b.auc! < a.auc! ? b : a));
    const high = g.reduce((a, b) => (b.auc! > a.auc! ? b : a));
    return [
      { model: low.model, task: low.task, subgroup: low.subgroup, gap: high.auc! - low.auc!, low, high },
    ];
  });
}

/** Metrics per subgroup value, then the largest AUC gap per model and task. */
export function subgroupSection(c: ReportContext): string {
  const rows = (c.report.subgroups ?? []).filter((r) => r.repeat === 0);
  if (rows.length === 0) return '';
  const order = (m: string) => c.models.indexOf(m);
  const sorted = [...rows].sort(
    (a, b) =>
      c.tasks.indexOf(a.task) - c.tasks.indexOf(b.task) ||
      order(a.model) - order(b.model) ||
      a.subgroup.localeCompare(b.subgroup) ||
      a.value.localeCompare(b.value),
  );
  const gaps = subgroupGaps(rows).sort((a, b) => b.gap - a.gap);
  const num = (text: string) => ({ text, className: 'num' });
  const body: Row[] = sorted.map((r) => ({
    className: r.value === 'unknown' ? 'low' : '',
    cells: [
      taskLabel(c, r.task),
      labelOf(r.model),
      `${r.subgroup} = ${r.value}`,
      num(`${r.positives}/${r.n}`),
      num(r.auc === null ? 'no AUC' : f3(r.auc)),
      num(f3(r.averagePrecision)),
      num(f3(r.brier)),
    ],
  }));
  return `<h2 id="subgroups">Subgroups (test)</h2>
<h3>Largest AUC gap between subgroups</h3>
${table(
  ['task', 'model', 'subgroup', 'AUC gap', 'lowest', 'highest'],
  gaps.map((g) => [
    taskLabel(c, g.task),
    labelOf(g.model),
    g.subgroup,
    num(f3(g.gap)),
    `${g.low.value}: ${f3(g.low.auc)} (n ${g.low.n})`,
    `${g.high.value}: ${f3(g.high.auc)} (n ${g.high.n})`,
  ]),
  'subgroup-gaps',
)}
<h3>Every metric per subgroup value</h3>
${table(['task', 'model', 'subgroup', 'positives/n', 'AUC', 'AP', 'Brier'], body, 'subgroup-metrics')}
<p class="note">Units whose subgroup value is unknown are counted in their own row (shaded), never dropped. A gap is the largest AUC minus the smallest over the values of one attribute.</p>`;
}

/** The top terms per model and task: toward the condition (weight &gt; 0) and away from it. */
export function termsSection(c: ReportContext): string {
  const terms = c.report.terms ?? [];
  if (terms.length === 0) return '';
  const keys = [...new Set(terms.map((t) => JSON.stringify([t.model, t.task])))].map(
    (k) => JSON.parse(k) as [string, string],
  );
  keys.sort(
    (a, b) =>
      c.tasks.indexOf(a[1]) - c.tasks.indexOf(b[1]) || c.models.indexOf(a[0]) - c.models.indexOf(b[0]),
  );
  const list = (model: string, task: string, toward: boolean) =>
    terms
      .filter((t) => t.model === model && t.task === task && (toward ? t.weight > 0 : t.weight < 0))
      .sort((a, b) => a.rank - b.rank)
      .map((t) => `${t.term} (${t.weight >= 0 ? '+' : ''}${t.weight.toPrecision(3)})`)
      .join(', ');
  return `<h2 id="terms">Top terms per model and task</h2>
${table(
  ['task', 'model', 'toward the condition', 'away from the condition'],
  keys.map(([m, t]) => [taskLabel(c, t), labelOf(m), list(m, t, true), list(m, t, false)]),
  'terms',
)}
<p class="note">${esc('The n-grams each head relies on most, ranked by weight (LR: coefficients; networks: the attribution stored with the run). Terms seen in fewer than min_df training units never appear.')}</p>`;
}
