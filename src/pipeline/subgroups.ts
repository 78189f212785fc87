import type { Backend } from '../db/backend.js';
import { UsageError } from '../errors.js';
import { labelValue, type SubgroupAttribute } from '../evaluate/subgroups.js';
import type { UnitSelection } from '../features/config.js';
import { loadLabelMatrix } from '../features/database.js';
import { createPseudonymizer, openClean } from '../ingest/index.js';
import type { PipelineConfig, PipelineInput } from './config.js';

/**
 * The pipeline's `evaluation.subgroups`: checked before a run is recorded, and each unit's value
 * read from mhmtl.labels for the evaluation (see src/evaluate/subgroups.ts).
 */

/**
 * The tasks the run's own inputs will label: known labels of its label files (read as ingest reads
 * them, under a throwaway pseudonym key: nothing is stored) and the tasks of its Reddit mappings.
 */
async function inputTasks(inputs: readonly PipelineInput[]): Promise<string[]> {
  const tasks = new Set<string>();
  const pseudo = createPseudonymizer('subgroup-check-only-nothing-is-stored', 'environment');
  for (const input of inputs) {
    if (input.kind === 'reddit' && input.mapping && typeof input.mapping === 'object')
      for (const t of Object.keys(input.mapping.tasks)) tasks.add(t);
    if (input.kind !== 'labels') continue;
    for (const file of input.files) {
      const clean = await openClean(
        file,
        {
          kind: 'labels',
          format: input.format ?? 'auto',
          ...(input.columns ? { columns: input.columns } : {}),
        },
        pseudo,
      );
      for await (const row of clean.rows) if (row.type === 'label' && row.label !== null) tasks.add(row.task);
    }
  }
  return [...tasks];
}

/**
 * Check that every subgroup of `evaluation.subgroups` is labelled: a task of the pipeline (main or
 * auxiliary), a task with a known label in the label files the run will ingest (`inputs`), or a
 * task with at least one known label in mhmtl.labels.
 * @param inputs the inputs the run ingests (none for `mhmtl train`).
 * @throws UsageError (exit 2) naming the first that is not, as `/evaluation/subgroups/<i>`, with the labelled tasks.
 */
export async function checkSubgroups(
  backend: Backend,
  config: PipelineConfig,
  inputs: readonly PipelineInput[],
  origin: string,
): Promise<void> {
  const subgroups = config.evaluation?.subgroups ?? [];
  if (subgroups.length === 0) return;
  const own = new Set([...config.tasks.main, ...(config.tasks.auxiliary ?? [])]);
  if (subgroups.every((g) => own.has(g))) return;
  for (const t of await inputTasks(inputs)) own.add(t);
  const rows = await backend.db
    .selectFrom('mhmtl.labels')
    .select('task')
    .distinct()
    .where('label', 'is not', null)
    .orderBy('task')
    .execute();
  const labelled = new Set([...own, ...rows.map((r) => r.task)]);
  for (const [i, name] of subgroups.entries()) {
    if (!labelled.has(name)) {
      throw new UsageError(
        `${origin}: /evaluation/subgroups/${i}: '${name}' is not labelled (a subgroup must be a task of the pipeline, or labelled in its label files or in mhmtl.labels; labelled: ${[...labelled].sort().join(', ') || 'none'})`,
      );
    }
  }
}

/**
 * Each unit's value of every subgroup attribute: its label as '1' / '0', null when unknown.
 * @param unitIds `[units]` the run's units, in order.
 */
export async function loadSubgroups(
  backend: Backend,
  selection: Partial<UnitSelection>,
  unitIds: readonly string[],
  names: readonly string[],
): Promise<SubgroupAttribute[]> {
  if (names.length === 0) return [];
  const y = await loadLabelMatrix(backend, selection, unitIds, names);
  return names.map((name, j) => ({
    name,
    values: unitIds.map((_, u) => {
      const v = labelValue(y[u * names.length + j]!);
      return v === 'unknown' ? null : v;
    }),
  }));
}
