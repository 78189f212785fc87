import type { StoredRunReport } from '../store.js';
import { reportContext } from './context.js';
import { calibrationSection, rocSection, trainingSection } from './curves.js';
import { subgroupSection, termsSection } from './optional.js';
import { relationsSection } from './relations.js';
import {
  aucChart,
  comparisonsSection,
  devSection,
  macroSection,
  perTaskSection,
  repeatsSection,
} from './results.js';
import { runSection } from './settings.js';
import { CSS, esc } from './style.js';
import { legend } from './svg.js';

/**
 * The HTML report of a stored run: ONE self-contained file (inline CSS and SVG; no script, font,
 * image, stylesheet or network request) laid out for a 1400 px screen and for print. Sections, each
 * omitted when the run has no data for it: run and settings (split design, repeats, features and
 * vocabulary size, training, every model's options); macro averages; per task (AUC with CI, AP,
 * Brier, TPR at FPR, dev threshold with precision / recall / F1, deltas; low support flagged); the
 * AUC dot plot; ROC curves; dev results; paired comparisons; spread over repeats; training curves
 * with task weights; learned task relations (heat maps, branching tree); calibration; subgroups;
 * top terms. Every string from the database is HTML-escaped. Pure: no I/O.
 */
export function renderReportHtml(report: StoredRunReport): string {
  const c = reportContext(report);
  const r = report.run;
  const missing = (title: string, id: string) =>
    `<h2 id="${id}">${title}</h2><p class="note not-computed">not computed for this run</p>`;
  const sections = [
    runSection(c),
    macroSection(c),
    `<h2 id="auc">AUC per task (test)</h2>${legend(c.entries)}${aucChart(c)}`,
    rocSection(c),
    perTaskSection(c),
    devSection(c),
    comparisonsSection(c),
    repeatsSection(c),
    trainingSection(c),
    relationsSection(c),
    calibrationSection(c) ||
      (report.calibration === undefined ? '' : missing('Calibration (test)', 'calibration')),
    subgroupSection(c) || (report.subgroups === undefined ? '' : missing('Subgroups (test)', 'subgroups')),
    termsSection(c) || (report.terms === undefined ? '' : missing('Top terms per model and task', 'terms')),
  ].filter((s) => s !== '');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`mhmtl report: run ${r.runId} (${r.pipeline})`)}</title>
<style>${CSS}</style></head>
<body>
<h1>${esc(`mhmtl report: run ${r.runId}, pipeline ${r.pipeline}`)}</h1>
${sections.join('\n')}
</body></html>
`;
}
