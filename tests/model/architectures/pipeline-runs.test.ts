import { describe, it } from 'vitest';
import { testBackendNames } from '../../helpers/databases.js';
import { pipelineRoundTrips } from './helpers.js';

/**
 * MMoE and deep relationship networks end to end on every test database: one ingest, a pipeline
 * run of each, `mhmtl predict` (CLI) on each stored model giving the scores the run stored.
 */
describe('architectures in a pipeline run', () => {
  for (const name of testBackendNames()) {
    it(`mmoe and deep_relationship train, store and predict [${name}]`, async () => {
      await pipelineRoundTrips(name, [
        { architecture: 'mmoe', experts: 2, hidden: [8], dropout: 0.1 },
        { architecture: 'deep_relationship', hidden: [8, 4], task_specific_layers: 1 },
      ]);
    }, 180_000);
  }
});
