import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { UsageError } from '../errors.js';
import { maskedTermProblem } from '../features/masking.js';
import { PACKAGE_ROOT } from '../version.js';

/**
 * The pipeline's leakage controls that name words or patterns: `masked_terms`,
 * `exclude_communities` and `exclude_patterns`. Each is a list whose entries are strings or
 * `{"file": "leakage/conditions.json"}`, a shipped or own list file (schemas/leakage-list.schema.json:
 * `{"description": "...", "terms": [...]}`) whose terms are put in its place. A relative file
 * resolves against the pipeline's folder, then against the package's pipelines/ folder (the
 * shipped lists). After {@link expandLeakageLists} the config holds plain strings, so the run
 * records exactly what was masked and filtered.
 */

/** The three list-valued leakage controls of a pipeline. */
export const LEAKAGE_LISTS = ['masked_terms', 'exclude_communities', 'exclude_patterns'] as const;
export type LeakageList = (typeof LEAKAGE_LISTS)[number];

/** An entry of a leakage list in a pipeline file: a term or a list file. */
export type LeakageEntry = string | { file: string };

const LIST_SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schemas', 'leakage-list.schema.json');
let validateList: ReturnType<Ajv['compile']> | undefined;

/** Where a list file named in a pipeline in `pipelineDir` is: that folder first, then pipelines/. */
function resolveListFile(file: string, pipelineDir: string): string {
  const own = path.resolve(pipelineDir, file);
  if (path.isAbsolute(file) || existsSync(own)) return own;
  const shipped = path.resolve(PACKAGE_ROOT, 'pipelines', file);
  return existsSync(shipped) ? shipped : own;
}

/**
 * The terms of one list file, validated against schemas/leakage-list.schema.json.
 * @throws UsageError naming `where` (the JSON path) when the file cannot be read, is not JSON or
 *   breaks the schema.
 */
export function readLeakageList(file: string, where: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new UsageError(
      `${where}: cannot read leakage list ${file}: ${e.code === 'ENOENT' ? 'no such file (looked in the pipeline folder and pipelines/)' : e.message}`,
    );
  }
  if (!validateList) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validateList = ajv.compile(JSON.parse(readFileSync(LIST_SCHEMA_FILE, 'utf8')) as object);
  }
  if (!validateList(value)) {
    const e = validateList.errors?.[0];
    throw new UsageError(
      `${where}: leakage list ${file}${e?.instancePath ?? ''}: ${e?.message ?? 'does not fit schemas/leakage-list.schema.json'}`,
    );
  }
  return (value as { terms: string[] }).terms;
}

/**
 * Replace every `{"file": ...}` entry of the pipeline's leakage lists with the file's terms
 * (in place, keeping order; duplicates removed), then check each masked term's syntax.
 * @throws UsageError naming the JSON path for an unreadable or invalid list file or a malformed
 *   masked term (e.g. `/masked_terms/2: /suicid(e/: Invalid regular expression: ...`).
 */
export function expandLeakageLists(
  config: Partial<Record<LeakageList, LeakageEntry[]>>,
  pipelineDir: string,
  origin: string,
): void {
  for (const key of LEAKAGE_LISTS) {
    const entries = config[key];
    if (!entries) continue;
    const out: string[] = [];
    for (const [i, entry] of entries.entries()) {
      const where = `${origin}: /${key}/${i}`;
      const terms =
        typeof entry === 'string'
          ? [entry]
          : readLeakageList(resolveListFile(entry.file, pipelineDir), `${where} (${entry.file})`);
      if (key === 'masked_terms')
        for (const term of terms) {
          const problem = maskedTermProblem(term);
          if (problem)
            throw new UsageError(
              `${where}${typeof entry === 'string' ? '' : ` (${entry.file})`}: ${problem}`,
            );
        }
      out.push(...terms);
    }
    config[key] = [...new Set(out)];
  }
}
