import { readFileSync } from 'node:fs';
import path from 'node:path';
import { architectureNames, DEFAULT_ARCHITECTURE, getArchitecture } from '../model/architectures/index.js';
import type { JsonSchema } from '../model/architectures/architecture.js';
import { getWeightingMethod, weightingMethods } from '../model/weighting/index.js';
import { PACKAGE_ROOT } from '../version.js';

/**
 * The pipeline file's JSON Schema. Most of it is written by hand in schemas/pipeline.schema.json;
 * two definitions are generated from the code that owns them, so that an architecture or a task
 * weighting method declares its options once, in its own file:
 * - `definitions.model`: `architecture` (one of the registered names) and, per architecture, its
 *   options (src/model/architectures/<name>.ts `optionsSchema`);
 * - `definitions.weighting`: `method` and, per method, its options (src/model/weighting/<name>.ts).
 * Validation always uses the composed schema; the committed file holds the same composition
 * (`npm run schema` rewrites it; a test checks they agree) so editors that read `$schema` see it.
 */

/** Where the committed schema lives. */
export const PIPELINE_SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schemas', 'pipeline.schema.json');

/** `definitions.<name>` of one family of pluggable methods, selected by the property `key`. */
function pluggable(
  key: string,
  description: string,
  entries: { name: string; summary: string; optionsSchema: JsonSchema }[],
  defaultName: string | null,
): JsonSchema {
  const selected = (name: string): JsonSchema => ({
    properties: { [key]: { const: name } },
    required: [key],
  });
  return {
    type: 'object',
    description,
    properties: {
      [key]: {
        enum: entries.map((e) => e.name),
        ...(defaultName ? { default: defaultName } : {}),
        description: entries.map((e) => `${e.name}: ${e.summary}`).join('; '),
      },
    },
    ...(defaultName ? {} : { required: [key] }),
    allOf: entries.map((e) => ({
      if:
        e.name === defaultName
          ? { anyOf: [{ not: { required: [key] } }, selected(e.name)] }
          : selected(e.name),
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords, not a thenable
      then: {
        ...e.optionsSchema,
        additionalProperties: false,
        properties: {
          [key]: { const: e.name },
          ...((e.optionsSchema.properties as object | undefined) ?? {}),
        },
      },
    })),
  };
}

/**
 * `base` (the hand-written schema) with `definitions.model` and `definitions.weighting` generated
 * from the registries, and `model` / `training.weighting` pointing at them. Pure; idempotent.
 */
export function composePipelineSchema(base: JsonSchema): JsonSchema {
  const schema = structuredClone(base) as {
    properties: Record<string, JsonSchema & { properties?: Record<string, JsonSchema> }>;
    definitions?: Record<string, JsonSchema>;
  };
  schema.definitions ??= {};
  schema.definitions.model = pluggable(
    'architecture',
    'The network architecture and its options (README: The model). Generated from src/model/architectures/ (npm run schema).',
    architectureNames().map((n) => getArchitecture(n)),
    DEFAULT_ARCHITECTURE,
  );
  schema.definitions.weighting = pluggable(
    'method',
    'The task weighting method and its options (README: The model). Generated from src/model/weighting/ (npm run schema).',
    weightingMethods().map((n) => getWeightingMethod(n)),
    null,
  );
  schema.properties.model = { $ref: '#/definitions/model' };
  // `training` is written inline or as a definition (shared with the models list).
  const training = (schema.definitions.training ?? schema.properties.training) as
    | { properties?: Record<string, JsonSchema> }
    | undefined;
  if (training?.properties) training.properties.weighting = { $ref: '#/definitions/weighting' };
  return schema as JsonSchema;
}

let composed: JsonSchema | undefined;

/** The composed schema of the committed file (cached). */
export function pipelineSchema(): JsonSchema {
  composed ??= composePipelineSchema(JSON.parse(readFileSync(PIPELINE_SCHEMA_FILE, 'utf8')) as JsonSchema);
  return composed;
}

/** The composition as the committed file writes it (2-space JSON and a newline). */
export function pipelineSchemaText(): string {
  return `${JSON.stringify(pipelineSchema(), null, 2)}\n`;
}

/** One option of a schema as `--help` lists it: `name (type, default X): description`. */
function describeOption(name: string, schema: Record<string, unknown>): string {
  const type = schema.enum
    ? (schema.enum as unknown[]).map((v) => JSON.stringify(v)).join('|')
    : Array.isArray(schema.type)
      ? (schema.type as string[]).join('|')
      : String(schema.type ?? 'value');
  const dflt = schema.default === undefined ? '' : `, default ${JSON.stringify(schema.default)}`;
  const description = typeof schema.description === 'string' ? `: ${schema.description}` : '';
  return `      ${name} (${type}${dflt})${description}`;
}

/**
 * The architectures and task weighting methods with their options, as `mhmtl train --help` shows
 * them (from the same option schemas as the pipeline schema).
 */
export function modelOptionsHelp(): string {
  const lines: string[] = ['', 'Architectures (--architecture NAME, options with --model-option KEY=VALUE):'];
  for (const name of architectureNames()) {
    const a = getArchitecture(name);
    lines.push(`  ${name}: ${a.summary}${name === DEFAULT_ARCHITECTURE ? ' (the default)' : ''}`);
    for (const [key, s] of Object.entries(
      (a.optionsSchema.properties ?? {}) as Record<string, Record<string, unknown>>,
    ))
      lines.push(describeOption(key, s));
  }
  lines.push('', 'Task weighting methods (--weighting NAME, options with --weighting-option KEY=VALUE):');
  for (const name of weightingMethods()) {
    const m = getWeightingMethod(name);
    lines.push(`  ${name}: ${m.summary}${name === 'fixed' ? ' (the default)' : ''}`);
    for (const [key, s] of Object.entries(
      (m.optionsSchema.properties ?? {}) as Record<string, Record<string, unknown>>,
    ))
      lines.push(describeOption(key, s));
  }
  return `${lines.join('\n')}\n`;
}
