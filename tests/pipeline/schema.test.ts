import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { architectureNames, getArchitecture } from '../../src/model/architectures/index.js';
import { getWeightingMethod, weightingMethods } from '../../src/model/weighting/index.js';
import { parsePipeline } from '../../src/pipeline/config.js';
import { PIPELINE_SCHEMA_FILE, pipelineSchemaText } from '../../src/pipeline/schema.js';

const base = { name: 'x', inputs: [], tasks: { main: ['a'] } };
const error = (value: object): string => {
  try {
    parsePipeline({ ...base, ...value }, '.');
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
};

describe('the pipeline schema', () => {
  it('is committed as composed from the architectures and weighting methods (run npm run schema)', () => {
    expect(readFileSync(PIPELINE_SCHEMA_FILE, 'utf8')).toBe(pipelineSchemaText());
  });

  it('takes each architecture and weighting method option from the code that owns it', () => {
    const schema = JSON.parse(pipelineSchemaText()) as {
      definitions: Record<string, { allOf: { then: { properties: Record<string, unknown> } }[] }>;
    };
    const model = schema.definitions.model!.allOf.map((b) => Object.keys(b.then.properties).sort());
    expect(model).toEqual(
      architectureNames().map((n) =>
        ['architecture', ...Object.keys(getArchitecture(n).optionsSchema.properties as object)].sort(),
      ),
    );
    const weighting = schema.definitions.weighting!.allOf.map((b) => Object.keys(b.then.properties).sort());
    expect(weighting).toEqual(
      weightingMethods().map((n) =>
        ['method', ...Object.keys(getWeightingMethod(n).optionsSchema.properties as object)].sort(),
      ),
    );
  });

  it('names the JSON path of a bad architecture or weighting option, in one line', () => {
    expect(error({ model: { hidden: [4] } })).toBe('ok');
    expect(error({ model: { architecture: 'hard_sharing', foo: 1 } })).toBe(
      "invalid pipeline: /model: hard_sharing has no option 'foo' (options: hidden, activation, dropout)",
    );
    expect(error({ model: { hidden: [4], foo: 1 } })).toBe(
      "invalid pipeline: /model: hard_sharing has no option 'foo' (options: hidden, activation, dropout)",
    );
    expect(error({ model: { architecture: 'nope' } })).toMatch(
      /^invalid pipeline: \/model\/architecture: must be one of "hard_sharing"/,
    );
    expect(error({ model: { dropout: 1 } })).toBe('invalid pipeline: /model/dropout: must be < 1, got 1');
    expect(error({ training: { weighting: { method: 'fixed', main_weight: 2 } } })).toBe('ok');
    expect(error({ training: { weighting: { method: 'fixed', alpha: 1 } } })).toBe(
      "invalid pipeline: /training/weighting: fixed has no option 'alpha' (options: main_weight, aux_weight, weights)",
    );
    expect(error({ training: { weighting: {} } })).toBe(
      "invalid pipeline: /training/weighting: must have required property 'method'",
    );
    expect(error({ training: { selection: 'dev_f1' } })).toMatch(
      /^invalid pipeline: \/training\/selection: must be one of/,
    );
  });
});
