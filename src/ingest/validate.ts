import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { PACKAGE_ROOT } from '../version.js';

/** The input contracts in `schemas/`, compiled once per process (ajv, JSON Schema 2020-12). */
export interface Validators {
  post: ValidateFunction;
  labelLong: ValidateFunction;
  labelWide: ValidateFunction;
  reddit: ValidateFunction;
  mapping: ValidateFunction;
}

let cached: Validators | undefined;

function loadSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'schemas', name), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** The compiled validators (compiled on first use, then shared). */
export function validators(): Validators {
  if (cached) return cached;
  const ajv = new Ajv2020({ allErrors: false, strict: false });
  const label = loadSchema('label.schema.json');
  ajv.addSchema(label);
  const id = label.$id as string;
  cached = {
    post: ajv.compile(loadSchema('post.schema.json')),
    labelLong: ajv.getSchema(`${id}#/$defs/long`)!,
    labelWide: ajv.getSchema(`${id}#/$defs/wide`)!,
    reddit: ajv.compile(loadSchema('reddit-post.schema.json')),
    mapping: ajv.compile(loadSchema('reddit-mapping.schema.json')),
  };
  return cached;
}

/** One line describing the first schema error, naming the field: "created_at: must be string,number". */
export function describeSchemaError(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the schema';
  if (e.keyword === 'required')
    return `${(e.params as { missingProperty: string }).missingProperty}: is required`;
  const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(record)';
  if (e.keyword === 'enum') {
    return `${field}: must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? [])
      .map((v) => JSON.stringify(v))
      .join(', ')}`;
  }
  if (e.keyword === 'type') return `${field}: must be ${(e.params as { type: string | string[] }).type}`;
  return `${field}: ${e.message ?? 'is invalid'}`;
}
