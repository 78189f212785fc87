import type { Backend } from '../db/backend.js';
import { MhmtlError } from '../errors.js';

/**
 * The split side of transfer learning: a run that starts from run N's weights must never evaluate
 * on a unit that run N trained or early-stopped on, or its test figures measure memory, not
 * generalization (issue 13: 52 of 90 test users had been run 3's training users; MTL macro AUC
 * 0.937 -> 0.983 from that alone). Those units may still train.
 */

/** The units an earlier run learned from, and where that came from. */
export interface TrainedUnits {
  runId: number;
  /** Unit ids in run N's train or dev split (first repeat; any fold of a cross-validated run). */
  units: Set<string>;
}

/**
 * Load the units of run `runId` that were in its train or dev split (mhmtl.splits, first repeat:
 * the one whose models a later run can start from; in a cross-validated run, every unit that
 * trained in some fold).
 * @throws MhmtlError when the run stored no split (it does not exist or did not finish).
 */
export async function loadTrainedUnits(backend: Backend, runId: number): Promise<TrainedUnits> {
  const rows = await backend.db
    .selectFrom('mhmtl.splits')
    .select('unit_id')
    .distinct()
    .where('run_id', '=', runId)
    .where('repeat', '=', 0)
    .where('split', 'in', ['train', 'dev'])
    .execute();
  if (rows.length === 0)
    throw new MhmtlError(
      `run ${runId} stored no train or dev split: cannot keep its training units out of test`,
    );
  return { runId, units: new Set(rows.map((r) => r.unit_id)) };
}
