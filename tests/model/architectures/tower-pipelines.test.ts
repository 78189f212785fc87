import { describe, it } from 'vitest';
import { testBackendNames } from '../../helpers/databases.js';
import { expectPipelineRuns } from './helpers.js';

// The tower architectures in small pipeline runs on each database (one cohort, one ingest, a run
// each), scoring from each run's stored model, and the `mhmtl predict` CLI. A fresh embedded
// database costs most of the time; the limit allows for a loaded machine.
describe('tower architectures end to end', () => {
  for (const name of testBackendNames()) {
    it(`soft_sharing, cross_stitch and sluice train in a pipeline run; mhmtl predict scores from the stored models [${name}]`, async () => {
      await expectPipelineRuns(name, [
        { architecture: 'soft_sharing', hidden: [8], coupling: 'trace_norm', coupling_strength: 0.01 },
        { architecture: 'cross_stitch', hidden: [8, 8] },
        { architecture: 'sluice', hidden: [8, 8], subspaces: 2 },
      ]);
    }, 300_000);
  }
});
