import type { ReportContext } from './context.js';
import { esc, labelOf } from './style.js';
import { keyValueTable, optionsText, table } from './tables.js';

/**
 * The run section of the HTML report: what was run (pipeline, status, seed, code, data), how the
 * units were split and repeated, and the settings a reader needs to reproduce it — features and
 * vocabulary size, tasks and their weights, training, and the options of every named model.
 */

const iso = (d: Date | string | null): string =>
  d === null ? '' : d instanceof Date ? d.toISOString() : String(d);

/** "holdout train 0.7 / dev 0.1 / test 0.2, 3 repeats (seeds 1, 2, 3), min 10 positives". */
function splitText(design: Record<string, unknown> | null, repeats: number): string {
  if (!design) return repeats > 1 ? `${repeats} repeats` : '';
  const parts: string[] = [];
  const kind = String(design.kind ?? 'holdout');
  const given = design.ratios as number[] | Record<string, number> | undefined;
  const ratios = Array.isArray(given) ? { train: given[0], dev: given[1], test: given[2] } : given;
  parts.push(
    kind === 'cv'
      ? `${design.folds ?? '?'}-fold cross-validation`
      : `${kind}${
          ratios
            ? ` (${Object.entries(ratios)
                .map(([k, v]) => `${k} ${Number(v).toFixed(2)}`)
                .join(' / ')})`
            : ''
        }`,
  );
  const seeds = design.seeds as number[] | undefined;
  parts.push(
    `${repeats} repeat${repeats === 1 ? '' : 's'}${seeds && seeds.length > 0 ? ` (seeds ${seeds.join(', ')})` : ''}`,
  );
  if (design.min_positives !== undefined)
    parts.push(`low support below ${design.min_positives} positives or negatives`);
  const transfer = design.transfer as { from_run?: number; units_kept_out_of_test?: number } | undefined;
  if (transfer)
    parts.push(
      `transfer from run ${transfer.from_run}: ${transfer.units_kept_out_of_test} units kept out of test`,
    );
  for (const [k, v] of Object.entries(design))
    if (
      ![
        'kind',
        'ratios',
        'folds',
        'seeds',
        'repeats',
        'min_positives',
        'transfer',
        'models_stored_for_repeat',
      ].includes(k)
    )
      parts.push(`${k}: ${optionsText(v)}`);
  return parts.join('; ');
}

/**
 * A model's own options for people: its architecture's options (or, for LR, its grid and the C
 * chosen on dev per task) and its weighting method; the input size and the training options every
 * model shares (shown once, under training) are left out.
 */
function modelOptions(config: Record<string, unknown>): string {
  const { inputDim: _, training, architecture, chosen, ...rest } = config;
  const parts: string[] = [];
  if (architecture && typeof architecture === 'object') parts.push(optionsText(architecture));
  else if (architecture !== undefined) parts.push(`architecture: ${optionsText(architecture)}`);
  const own = Object.fromEntries(
    Object.entries(rest).filter(
      ([k]) => !['seed', 'epochs', 'patience', 'minEpochs', 'posWeight', 'posWeightCap'].includes(k),
    ),
  );
  if (Object.keys(own).length > 0) parts.push(optionsText(own));
  if (chosen && typeof chosen === 'object')
    parts.push(
      `C chosen on dev: ${Object.entries(chosen as Record<string, { c?: unknown }>)
        .map(([task, v]) => `${task} ${v && typeof v === 'object' ? String(v.c) : optionsText(v)}`)
        .join(', ')}`,
    );
  const weighting = (training as { weighting?: unknown } | undefined)?.weighting;
  if (weighting !== undefined) parts.push(`weighting: {${optionsText(weighting)}}`);
  return parts.join('; ');
}

/** The run's metadata and settings. */
export function runSection(c: ReportContext): string {
  const r = c.report.run;
  const settings = c.report.settings;
  const config = settings?.config ?? {};
  const units = c.report.units
    .map((u) => (u.fold === 0 ? `${u.split} ${u.units}` : `fold ${u.fold} ${u.split} ${u.units}`))
    .join(', ');
  const meta: [string, string][] = [
    ['pipeline', r.pipeline],
    ['run', `${r.runId} (${r.status})`],
    ['seed', String(r.seed)],
    ['backend, code version', `${r.backend}, ${r.codeVersion}`],
    ['data fingerprint', r.dataFingerprint ?? ''],
    ['started / finished', `${iso(r.startedAt)} / ${iso(r.finishedAt)}`],
    ['units per split (first repeat)', units],
    ['split design', splitText(r.splitDesign, c.report.repeats)],
  ];
  const durations = Object.entries(r.stageDurations ?? {});
  if (durations.length > 0)
    meta.push(['seconds per stage', durations.map(([k, v]) => `${k} ${Number(v).toFixed(1)}`).join(', ')]);
  const tasks = config.tasks as Record<string, unknown> | undefined;
  const evaluation = { ...((config.evaluation as Record<string, unknown> | undefined) ?? {}) };
  const compare = evaluation.compare as unknown[] | undefined;
  if (compare) evaluation.compare = `${compare.length} pairs`;
  const masked = config.masked_terms as unknown[] | undefined;
  const setting: [string, string][] = [
    [
      'features',
      `${optionsText(config.features)}${settings?.features !== null && settings?.features !== undefined ? ` — vocabulary size ${settings.features.toLocaleString('en')} columns, fitted on ${settings.featureUnits ?? '?'} units` : ''}`,
    ],
    ['tasks', optionsText(tasks)],
    ['masked terms', masked === undefined ? '' : `${masked.length} term(s) masked`],
    ['training', optionsText(config.training)],
    ['evaluation', optionsText(evaluation)],
    ['unit of analysis', optionsText(config.unit)],
  ].filter(([, v]) => v !== '') as [string, string][];
  const models = settings?.models ?? [];
  const modelTable =
    models.length > 0
      ? `<h3>Models</h3>${table(
          ['model', 'kind', 'architecture', 'options', 'stored models', 'training seconds', 'best epoch'],
          [...models]
            .sort((a, b) => c.models.indexOf(a.name) - c.models.indexOf(b.name))
            .map((m) => [
              labelOf(m.name),
              m.kind,
              m.architecture,
              modelOptions(m.config),
              String(m.stored),
              m.trainSeconds === null ? '' : m.trainSeconds.toFixed(1),
              m.bestEpoch === null ? '' : String(m.bestEpoch),
            ]),
        )}`
      : '';
  return `<h2 id="run">Run and settings</h2>
<div class="cols"><div>${keyValueTable(meta)}</div><div>${
    setting.length > 0
      ? keyValueTable(setting)
      : `<p class="note">${esc('settings not stored for this run')}</p>`
  }</div></div>
${modelTable}`;
}
