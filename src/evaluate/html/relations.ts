import type { StoredTaskRelation } from '../store.js';
import type { ReportContext } from './context.js';
import { esc, labelOf, n2 } from './style.js';
import { table } from './tables.js';

/**
 * What the models learned about how their tasks relate (mhmtl.task_relations), drawn as heat maps:
 * tasks x tasks per (model, kind, layer) for pairwise kinds (cross_stitch_alpha, sluice_alpha,
 * tower_distance, gate_similarity, task_covariance, ...), tasks x layer (or expert, for gate_mean)
 * per (model, kind) for per-task kinds (task_b null), and the `branching` kind of fully-adaptive
 * feature sharing (Lu et al., CVPR 2017: value = the branch of task_a at a layer) as a tree of
 * branches per layer with a table beside it.
 */

/** Kinds whose `layer` numbers experts, not layers (MMoE's mean gate weight per expert). */
const PER_EXPERT = new Set(['gate_mean']);

/**
 * A colour for v: white (smallest) to blue (largest) when all values have one sign; red / white /
 * blue around 0 when signs differ.
 */
function colorScale(values: readonly number[]): (v: number) => { fill: string; dark: boolean } {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const mix = (a: number[], t: number) => {
    const c = a.map((x) => Math.round(255 + (x - 255) * t));
    return `rgb(${c.join(',')})`;
  };
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi) || 1;
    return (v) => {
      const t = Math.min(1, Math.abs(v) / m);
      return { fill: mix(v < 0 ? [178, 24, 43] : [33, 102, 172], t), dark: t > 0.6 };
    };
  }
  const span = hi - lo || 1;
  return (v) => {
    const t = Math.min(1, Math.max(0, (v - lo) / span));
    return { fill: mix([8, 69, 148], t), dark: t > 0.6 };
  };
}

/** Cell text: integers as they are, else decimals by the map's largest magnitude (1, 2 or 3); no "-0.00". */
function formatter(values: readonly number[]): (v: number) => string {
  const top = Math.max(0, ...values.map(Math.abs));
  const d = top >= 10 ? 1 : top >= 0.1 ? 2 : 3;
  return (v) => (Number.isInteger(v) ? String(v) : (Math.abs(v) < 0.5 * 10 ** -d ? 0 : v).toFixed(d));
}

/** One heat map: rows x cols, each cell (class heat-cell) coloured by its value and labelled with it. */
export function heatmap(
  title: string,
  rows: readonly string[],
  cols: readonly string[],
  value: (r: string, c: string) => number | null,
  attrs: Record<string, string>,
): string {
  const cell = 34;
  const left = 12 + Math.max(...rows.map((r) => r.length)) * 6.6;
  const longestCol = Math.max(...cols.map((c) => c.length)) * 6.6 * Math.SQRT1_2;
  const top = 12 + longestCol;
  const width = left + cell * cols.length + longestCol + 4;
  const height = top + cell * rows.length + 8;
  // The diagonal of a task x task map (often 1, or 0) is left out of the colour scale and drawn grey.
  const diagonal = (r: string, c: string) => r === c && rows.includes(c);
  const values = rows
    .flatMap((r) => cols.map((c) => (diagonal(r, c) ? null : value(r, c))))
    .filter((v): v is number => v !== null);
  const color = colorScale(values.length > 0 ? values : [0]);
  const fmt = formatter(values);
  const cells = rows
    .map((r, i) =>
      cols
        .map((c, j) => {
          const v = value(r, c);
          const x = left + j * cell;
          const y = top + i * cell;
          if (v === null)
            return `<rect class="heat-empty" x="${n2(x)}" y="${n2(y)}" width="${cell}" height="${cell}" fill="#fafafa" stroke="#eee"/>`;
          const k = diagonal(r, c) ? { fill: '#e4e4e4', dark: false } : color(v);
          return `<g class="heat-cell" data-row="${esc(r)}" data-col="${esc(c)}" data-value="${v}"><rect x="${n2(x)}" y="${n2(y)}" width="${cell}" height="${cell}" fill="${k.fill}" stroke="#fff"/><text x="${n2(x + cell / 2)}" y="${n2(y + cell / 2 + 4)}" text-anchor="middle" style="fill:${k.dark ? '#fff' : '#111'}">${esc(fmt(v))}</text><title>${esc(`${r} × ${c}: ${Number(v.toPrecision(6))}`)}</title></g>`;
        })
        .join(''),
    )
    .join('');
  const rowLabels = rows
    .map(
      (r, i) =>
        `<text x="${n2(left - 5)}" y="${n2(top + i * cell + cell / 2 + 4)}" text-anchor="end">${esc(r)}</text>`,
    )
    .join('');
  const colLabels = cols
    .map((c, j) => {
      const x = left + j * cell + cell / 2;
      return `<text x="${n2(x)}" y="${n2(top - 5)}" transform="rotate(-45 ${n2(x)} ${n2(top - 5)})">${esc(c)}</text>`;
    })
    .join('');
  const data = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
  return `<figure class="heatmap"${data}><figcaption>${esc(title)}</figcaption><svg class="plot heat" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n2(width)} ${n2(height)}" style="width:${n2(width)}px;max-width:100%" role="img" aria-label="${esc(title)}">${colLabels}${rowLabels}${cells}</svg></figure>`;
}

/** Tasks in the report's order, then any others the relations name. */
function taskOrder(c: ReportContext, names: Iterable<string>): string[] {
  const set = new Set(names);
  return [...c.tasks.filter((t) => set.has(t)), ...[...set].filter((t) => !c.tasks.includes(t)).sort()];
}

/**
 * The branching of one model as a tree: a row of nodes per layer (layer 1 at the top), one node per
 * branch listing its tasks, lines from a branch to the branches of the next layer that hold its
 * tasks, and the tasks as leaves under the last layer. Plus the same as a table.
 */
export function branchingTree(c: ReportContext, model: string, rows: readonly StoredTaskRelation[]): string {
  const layers = [...new Set(rows.map((r) => r.layer ?? 1))].sort((a, b) => a - b);
  const branchOf = new Map<string, number>(rows.map((r) => [`${r.layer ?? 1}|${r.taskA}`, r.value]));
  const path = (t: string) => layers.map((l) => branchOf.get(`${l}|${t}`) ?? -1);
  const tasks = taskOrder(
    c,
    rows.map((r) => r.taskA),
  ).sort((a, b) => {
    const pa = path(a);
    const pb = path(b);
    for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
    return 0;
  });
  const colW = Math.max(70, 8 + Math.max(...tasks.map((t) => t.length)) * 6.6);
  const rowH = 56;
  const width = 90 + colW * tasks.length;
  const height = 24 + rowH * (layers.length + 1) + 10;
  const leafX = (t: string) => 90 + colW * tasks.indexOf(t) + colW / 2;
  const nodes = layers.map((l, li) => {
    const groups = new Map<number, string[]>();
    for (const t of tasks) {
      const b = branchOf.get(`${l}|${t}`);
      if (b === undefined) continue;
      groups.set(b, [...(groups.get(b) ?? []), t]);
    }
    return [...groups].map(([b, ts]) => ({
      layer: l,
      branch: b,
      tasks: ts,
      x: ts.reduce((a, t) => a + leafX(t), 0) / ts.length,
      y: 24 + li * rowH + rowH / 2,
    }));
  });
  const edges: string[] = [];
  for (let li = 0; li < nodes.length; li++) {
    for (const n of nodes[li]!) {
      const below =
        li + 1 < nodes.length ? nodes[li + 1]!.filter((m) => m.tasks.some((t) => n.tasks.includes(t))) : [];
      if (li + 1 < nodes.length)
        for (const m of below)
          edges.push(
            `<line class="tree-edge" x1="${n2(n.x)}" y1="${n2(n.y)}" x2="${n2(m.x)}" y2="${n2(m.y)}" stroke="#666" stroke-width="1.5"/>`,
          );
      else
        for (const t of n.tasks)
          edges.push(
            `<line class="tree-edge" x1="${n2(n.x)}" y1="${n2(n.y)}" x2="${n2(leafX(t))}" y2="${n2(height - 28)}" stroke="#aaa" stroke-width="1"/>`,
          );
    }
  }
  const drawn = nodes
    .flat()
    .map(
      (n) =>
        `<g class="tree-node" data-layer="${n.layer}" data-branch="${n.branch}" data-tasks="${esc(n.tasks.join(','))}"><circle cx="${n2(n.x)}" cy="${n2(n.y)}" r="11" fill="#fff" stroke="#08519c" stroke-width="2"/><text x="${n2(n.x)}" y="${n2(n.y + 4)}" text-anchor="middle">${n.branch}</text><title>${esc(`layer ${n.layer}, branch ${n.branch}: ${n.tasks.join(', ')}`)}</title></g>`,
    )
    .join('');
  const layerLabels = layers
    .map((l, li) => `<text x="6" y="${n2(24 + li * rowH + rowH / 2 + 4)}">layer ${l}</text>`)
    .join('');
  const leaves = tasks
    .map(
      (t) =>
        `<text class="tree-leaf" x="${n2(leafX(t))}" y="${n2(height - 12)}" text-anchor="middle">${esc(t)}</text>`,
    )
    .join('');
  const svg = `<svg class="plot tree" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n2(width)} ${height}" style="width:${n2(width)}px;max-width:100%" role="img" aria-label="${esc(`branching of ${model}`)}">${layerLabels}${edges.join('')}${drawn}${leaves}</svg>`;
  const tbl = table(
    ['layer', 'branches (tasks)'],
    nodes.map((ns, li) => [
      String(layers[li]),
      ns.map((n) => `branch ${n.branch}: ${n.tasks.join(', ')}`).join(' | '),
    ]),
    'branching-table',
  );
  return `<figure class="branching" data-model="${esc(model)}"><figcaption>${esc(`${labelOf(model)}: branching (which task sits in which branch, per layer)`)}</figcaption>${svg}${tbl}</figure>`;
}

/** The relations section; omitted when the run stored none. */
export function relationsSection(c: ReportContext): string {
  const all = c.report.relations ?? [];
  if (all.length === 0) return '';
  const models = [...new Set(all.map((r) => r.model))].sort(
    (a, b) => (c.models.indexOf(a) + 1 || 1e9) - (c.models.indexOf(b) + 1 || 1e9) || a.localeCompare(b),
  );
  const out: string[] = [];
  for (const model of models) {
    const mine = all.filter((r) => r.model === model);
    const figures: string[] = [];
    for (const kind of [...new Set(mine.map((r) => r.kind))].sort()) {
      const rows = mine.filter((r) => r.kind === kind);
      if (kind === 'branching') {
        figures.push(branchingTree(c, model, rows));
        continue;
      }
      const pairwise = rows.filter((r) => r.taskB !== null);
      for (const layer of [...new Set(pairwise.map((r) => r.layer))].sort((a, b) => (a ?? 0) - (b ?? 0))) {
        const at = pairwise.filter((r) => r.layer === layer);
        const ta = taskOrder(
          c,
          at.map((r) => r.taskA),
        );
        const tb = taskOrder(
          c,
          at.map((r) => r.taskB!),
        );
        const v = new Map(at.map((r) => [`${r.taskA}|${r.taskB}`, r.value]));
        figures.push(
          heatmap(
            `${labelOf(model)} · ${kind}${layer === null ? '' : ` · layer ${layer}`}`,
            ta,
            tb,
            (a, b) => v.get(`${a}|${b}`) ?? null,
            { 'data-model': model, 'data-kind': kind, 'data-layer': String(layer ?? '') },
          ),
        );
      }
      const single = rows.filter((r) => r.taskB === null);
      if (single.length > 0) {
        const expert = PER_EXPERT.has(kind);
        const colName = (l: number | null) => (l === null ? 'value' : `${expert ? 'expert' : 'layer'} ${l}`);
        const cols = [...new Set(single.map((r) => r.layer))]
          .sort((a, b) => (a ?? 0) - (b ?? 0))
          .map(colName);
        const v = new Map(single.map((r) => [`${r.taskA}|${colName(r.layer)}`, r.value]));
        figures.push(
          heatmap(
            `${labelOf(model)} · ${kind} (task × ${expert ? 'expert' : 'layer'})`,
            taskOrder(
              c,
              single.map((r) => r.taskA),
            ),
            cols,
            (a, b) => v.get(`${a}|${b}`) ?? null,
            { 'data-model': model, 'data-kind': kind, 'data-layer': '' },
          ),
        );
      }
    }
    out.push(`<h3>${esc(labelOf(model))}</h3><div class="heatmaps">${figures.join('')}</div>`);
  }
  return `<h2 id="relations">Learned task relations</h2>
<p class="note">From mhmtl.task_relations. Rows: task_a; columns: task_b (or the layer / expert of a per-task value). cross_stitch_alpha, sluice_alpha: how much task_a's layer mixes in task_b's (Misra et al. 2016; Ruder et al. 2019); sluice_beta: the weight of each layer in a task's head; tower_distance: distance between the tasks' towers (soft sharing); gate_mean: MMoE's mean gate weight per expert, gate_similarity: overlap of two tasks' gate distributions (Ma et al. 2018); task_covariance: the learned task covariance (Long &amp; Wang 2015); task_layer: the layer a task's head sits on; branching: the branch each task sits in per layer (Lu et al. 2017). Each map is coloured from its smallest value (white) to its largest (blue), or red / white / blue around 0 when it holds both signs; the diagonal (a task with itself) is grey and not in the scale.</p>
${out.join('\n')}`;
}
