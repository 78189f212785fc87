import { readFileSync } from 'node:fs';
import { cannotRead, UsageError } from '../errors.js';
import type { CommunityMapping } from './types.js';
import { describeSchemaError, validators } from './validate.js';

/** A checked mapping, indexed by lower-cased community name. */
export interface ResolvedMapping {
  /** Every mapped task, in mapping order. */
  tasks: string[];
  /** lower-cased community -> its task, or null for a control community. */
  communities: Map<string, string | null>;
}

/**
 * Check a community mapping (schemas/reddit-mapping.schema.json) and index it.
 * @throws UsageError on a schema violation or a community listed twice.
 */
export function resolveMapping(mapping: unknown): ResolvedMapping {
  const v = validators().mapping;
  if (!v(mapping)) throw new UsageError(`community mapping: ${describeSchemaError(v.errors)}`);
  const m = mapping as CommunityMapping;
  const communities = new Map<string, string | null>();
  const add = (community: string, task: string | null) => {
    const key = community.toLowerCase();
    if (communities.has(key)) throw new UsageError(`community mapping: '${community}' is listed twice`);
    communities.set(key, task);
  };
  for (const [task, list] of Object.entries(m.tasks)) for (const c of list) add(c, task);
  for (const c of m.controls ?? []) add(c, null);
  return { tasks: Object.keys(m.tasks), communities };
}

/**
 * Read a mapping given on the command line: inline JSON (starting with '{') or a JSON file path.
 * @throws UsageError when the file cannot be read or is not JSON.
 */
export function loadMapping(spec: string): CommunityMapping {
  let text = spec.trim();
  if (!text.startsWith('{')) {
    try {
      text = readFileSync(spec, 'utf8');
    } catch (error) {
      throw cannotRead(spec, error, 'mapping file', 2);
    }
  }
  try {
    return JSON.parse(text) as CommunityMapping;
  } catch (error) {
    throw new UsageError(
      `mapping ${spec.startsWith('{') ? '(inline)' : spec} is not JSON: ${(error as Error).message}`,
    );
  }
}
