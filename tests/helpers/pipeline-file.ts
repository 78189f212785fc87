import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Write a small pipeline file `<dir>/<name>.json` over a generated cohort: three main tasks and
 * gender auxiliary, unigrams, one hidden layer of 16, and the given training and baselines
 * sections (e.g. many epochs, to catch a run mid-way). Returns the file's path.
 */
export function writeTestPipeline(
  dir: string,
  name: string,
  cohort: { postsFile: string; labelsFile: string },
  sections: { training: Record<string, unknown>; baselines: Record<string, unknown> },
): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      seed: 7,
      inputs: [
        { kind: 'posts', files: [cohort.postsFile] },
        { kind: 'labels', files: [cohort.labelsFile] },
      ],
      tasks: { main: ['neurotypical', 'anxiety', 'depression'], auxiliary: ['gender'] },
      features: { word_ngrams: [1, 1], min_df: 2, max_features: 2000 },
      model: { hidden: [16], dropout: 0.1 },
      training: sections.training,
      // Few test users: every task would be low support at the default 10 (tested elsewhere).
      evaluation: { bootstrap: 50, min_positives: 1 },
      baselines: sections.baselines,
    }),
  );
  return file;
}

/**
 * Write `<dir>/<name>.json`: a one-task (`cond`) pipeline over a posts and a labels file, unigrams,
 * a tiny network, with `sections` merged over it. Returns its path.
 */
export function writeOneTaskPipeline(
  dir: string,
  name: string,
  files: { posts: string; labels: string },
  sections: Record<string, unknown>,
): string {
  const base = {
    name,
    seed: 3,
    tasks: { main: ['cond'] },
    model: { hidden: [8] },
    training: { epochs: 2, patience: 1 },
  };
  const inputs = [
    { kind: 'posts', files: [files.posts] },
    { kind: 'labels', files: [files.labels] },
  ];
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ ...base, inputs, features: { word_ngrams: [1, 1], min_df: 2 }, ...sections }),
  );
  return file;
}
