import { TfidfVectorizer } from '../features/tfidf.js';
import { nnz, vstack } from '../features/csr.js';
import type { BenchResult } from './types.js';

/**
 * Synthetic user documents, regenerated deterministically per user (so fit and transform can
 * stream them without holding all of them): `postsPerUser` posts of 8-32 tokens drawn from a
 * Zipf-like vocabulary of `vocabulary` words, posts separated by the boundary token ''.
 */
export function* syntheticUserDocuments(
  users: number,
  postsPerUser: number,
  batch: number,
  vocabulary = 30_000,
  from = 0,
): Generator<string[][]> {
  const words = Array.from({ length: vocabulary }, (_, i) => `w${i.toString(36)}`);
  for (let start = from; start < users; start += batch) {
    const docs: string[][] = [];
    for (let u = start; u < Math.min(users, start + batch); u++) {
      let s = (u + 1) * 2654435761;
      const rand = () => {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        return (s >>> 0) / 4294967296;
      };
      const doc: string[] = [];
      for (let p = 0; p < postsPerUser; p++) {
        if (p > 0) doc.push('');
        const n = 8 + Math.floor(rand() * 25);
        // Zipf-like: index = vocabulary^r - 1 puts most mass on the first words.
        for (let k = 0; k < n; k++) doc.push(words[Math.floor(vocabulary ** rand()) - 1]!);
      }
      docs.push(doc);
    }
    yield docs;
  }
}

/**
 * Featurization throughput: fit (on 80% of the users) and transform (all users) of word 1-2-gram
 * TF-IDF over `users` synthetic users of `postsPerUser` posts, streamed in batches of 500 users,
 * as the pipeline does it (src/features/database.ts buildFeatures): fit-transform of the training
 * users (each counted once), then transform of the others.
 * Reports units/s and non-zeros/s of the whole fit + transform, its wall time against the target
 * of 60 s (ratio = 60 / seconds), and peak RSS (MB) with the matrix size in extra.
 */
export async function benchFeatures(
  options: {
    users?: number;
    postsPerUser?: number;
    config?: ConstructorParameters<typeof TfidfVectorizer>[0];
  } = {},
): Promise<BenchResult[]> {
  const users = options.users ?? 10_000;
  const posts = options.postsPerUser ?? 100;
  const train = Math.floor(users * 0.8);
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const v = new TfidfVectorizer(options.config ?? {});
  const xTrain = await v.fitTransformBatches(() => syntheticUserDocuments(train, posts, 500));
  const tFit = performance.now();
  const xTest = await v.transformBatches(syntheticUserDocuments(users, posts, 500, undefined, train));
  const x = vstack([xTrain, xTest]);
  const seconds = (performance.now() - t0) / 1000;
  const n = nnz(x);
  const matrixMb = (n * 8 + (x.rows + 1) * 4) / 2 ** 20;
  const extra = {
    posts_per_user: posts,
    vocabulary: v.vocabulary.length,
    nnz: n,
    nnz_per_unit: Math.round(n / users),
    matrix_mb: Math.round(matrixMb),
    fit_transform_train_s: Number(((tFit - t0) / 1000).toFixed(2)),
    transform_test_s: Number(((performance.now() - tFit) / 1000).toFixed(2)),
    rss_before_mb: Math.round(rssBefore / 2 ** 20),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  const base = { stage: 'features', users, baseline: null, baselineValue: null, ratio: null, extra };
  return [
    { ...base, name: 'features fit+transform units/s', unit: 'units/s', value: users / seconds },
    { ...base, name: 'features fit+transform non-zeros/s', unit: 'nnz/s', value: n / seconds },
    {
      ...base,
      name: 'features fit+transform wall time',
      unit: 's',
      value: seconds,
      baseline: 'target 60 s',
      baselineValue: 60,
      ratio: 60 / seconds,
    },
  ];
}
