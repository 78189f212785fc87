import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../../src/pipeline/config.js';
import { testBackendNames } from '../../helpers/databases.js';
import { expectPipelineRuns } from './tower-helpers.js';

// The tower architectures in small pipeline runs on each database (one cohort, one ingest, a run
// each), scoring from each run's stored model, and the `mhmtl predict` CLI. A fresh embedded
// database costs most of the time; the limit allows for a loaded machine.
describe('tower architectures end to end', () => {
  it('a pipeline file takes their options; a bad one is named by its JSON path, in one line', () => {
    const error = (model: Record<string, unknown>) => {
      try {
        parsePipeline({ name: 'x', inputs: [], tasks: { main: ['a'] }, model }, '.');
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(error({ architecture: 'soft_sharing', coupling: 'trace_norm', coupling_strength: 0.1 })).toBe(
      'ok',
    );
    expect(error({ architecture: 'sluice', subspaces: 4, beta_init: 'last', orthogonality: 0 })).toBe('ok');
    expect(error({ architecture: 'soft_sharing', coupling: 'l1' })).toMatch(
      /^invalid pipeline: \/model\/coupling: must be one of "l2", "trace_norm"/,
    );
    expect(error({ architecture: 'sluice', subspaces: 0 })).toBe(
      'invalid pipeline: /model/subspaces: must be >= 1, got 0',
    );
    expect(error({ architecture: 'cross_stitch', coupling: 'l2' })).toBe(
      "invalid pipeline: /model: cross_stitch has no option 'coupling' (options: hidden, activation, dropout, alpha_same, mixing_learning_rate_scale, mixing_trainable)",
    );
  });

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
