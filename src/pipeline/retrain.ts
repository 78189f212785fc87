import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { cannotRead, MhmtlError } from '../errors.js';
import type { PipelineInput } from './config.js';

const DATA_FILE = /\.(jsonl|csv|tsv)(\.gz)?$/i;

/**
 * The new fixture files in `dir`, as pipeline inputs: files named `posts*` are posts, `labels*`
 * are labels (JSON Lines, CSV or TSV, optionally gzipped), posts first so that labels of new users
 * join them. Other files are ignored.
 * @throws MhmtlError when the folder cannot be read or holds no posts or labels file.
 */
export function fixtureInputs(dir: string): PipelineInput[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw cannotRead(dir, error, 'fixtures folder');
  }
  const files = (prefix: string) =>
    names
      .filter((n) => n.toLowerCase().startsWith(prefix) && DATA_FILE.test(n))
      .map((n) => path.resolve(dir, n))
      .filter((f) => statSync(f).isFile());
  const posts = files('posts');
  const labels = files('labels');
  if (posts.length === 0 && labels.length === 0) {
    throw new MhmtlError(`no posts* or labels* file (.jsonl, .csv, .tsv, optionally .gz) in ${dir}`);
  }
  return [
    ...(posts.length ? [{ kind: 'posts' as const, files: posts }] : []),
    ...(labels.length ? [{ kind: 'labels' as const, files: labels }] : []),
  ];
}
