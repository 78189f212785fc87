import { expect, it } from 'vitest';
import {
  buildFeatures,
  listUnits,
  loadLabelMatrix,
  streamUnitDocuments,
  transformUnits,
} from '../../src/features/database.js';
import { TfidfVectorizer } from '../../src/features/tfidf.js';
import { tokenizePosts } from '../../src/text/tokenize-posts.js';
import { describeBackends } from '../helpers/databases.js';

// u1 has three posts over three days, u2 two, u3 one (no labels).
const POSTS = [
  ['u1', 'p1', '2024-01-01T10:00:00Z', 'first day alpha'],
  ['u1', 'p2', '2024-01-02T10:00:00Z', 'second day beta'],
  ['u1', 'p3', '2024-01-03T10:00:00Z', 'third day gamma'],
  ['u2', 'q1', '2024-01-01T12:00:00Z', 'hello alpha'],
  ['u2', 'q2', '2024-01-05T12:00:00Z', 'hello delta'],
  ['u3', 'r1', '2024-01-02T00:00:00Z', 'zebra only here'],
] as const;

async function collect(it: AsyncIterable<{ unitId: string; tokens: string[] }[]>) {
  const out: Record<string, string[]> = {};
  for await (const batch of it) for (const d of batch) out[d.unitId] = d.tokens;
  return out;
}

describeBackends('features database adapter', (ctx) => {
  it('refuses to build features from untokenized posts', async () => {
    await ctx.backend.transaction(async (s) => {
      for (const u of ['u1', 'u2', 'u3']) await s.query('INSERT INTO mhmtl.users (user_id) VALUES ($1)', [u]);
      for (const [u, p, at, text] of POSTS) {
        await s.query(
          'INSERT INTO mhmtl.posts (user_id, post_id, created_at, text, text_hash) VALUES ($1, $2, $3, $4, md5($4))',
          [u, p, at, text],
        );
      }
      await s.query(
        `INSERT INTO mhmtl.labels (user_id, task, label) VALUES
         ('u1', 'depression', 1), ('u1', 'anxiety', NULL), ('u2', 'depression', 0), ('u2', 'anxiety', 1)`,
      );
    });
    await expect(buildFeatures(ctx.backend, { trainUnitIds: ['u1'] })).rejects.toThrow(/not tokenized/);
    await tokenizePosts(ctx.backend, { workers: 0 });
  });

  it('lists user units and concatenates posts in time order with boundaries', async () => {
    expect(await listUnits(ctx.backend)).toEqual(['u1', 'u2', 'u3']);
    const docs = await collect(streamUnitDocuments(ctx.backend, {}, undefined, 2));
    expect(docs['u1']).toEqual([
      'first',
      'day',
      'alpha',
      '',
      'second',
      'day',
      'beta',
      '',
      'third',
      'day',
      'gamma',
    ]);
    expect(docs['u3']).toEqual(['zebra', 'only', 'here']);
  });

  it('selects the last N posts and a time window [from, to)', async () => {
    const last1 = await collect(streamUnitDocuments(ctx.backend, { last_n_posts: 1 }));
    expect(last1['u1']).toEqual(['third', 'day', 'gamma']);
    expect(last1['u2']).toEqual(['hello', 'delta']);
    const window = { time_window: { from: '2024-01-02T00:00:00Z', to: '2024-01-03T10:00:00Z' } };
    expect(await listUnits(ctx.backend, window)).toEqual(['u1', 'u3']);
    const docs = await collect(streamUnitDocuments(ctx.backend, window));
    expect(docs['u1']).toEqual(['second', 'day', 'beta']);
  });

  it('takes posts as units, with their user labels', async () => {
    const sel = { unit: 'post' as const, last_n_posts: 2 };
    const units = await listUnits(ctx.backend, sel);
    expect(units).toEqual(['u1/p2', 'u1/p3', 'u2/q1', 'u2/q2', 'u3/r1']);
    const docs = await collect(streamUnitDocuments(ctx.backend, sel, units));
    expect(docs['u2/q1']).toEqual(['hello', 'alpha']);
    const y = await loadLabelMatrix(ctx.backend, sel, units, ['depression', 'anxiety']);
    expect(Array.from(y)).toEqual([1, Number.NaN, 1, Number.NaN, 0, 1, 0, 1, Number.NaN, Number.NaN]);
  });

  it('loads labels as [units x tasks] with NaN for unknown and missing', async () => {
    const y = await loadLabelMatrix(ctx.backend, {}, ['u1', 'u2', 'u3'], ['anxiety', 'depression', 'ptsd']);
    expect(Array.from(y)).toEqual([
      Number.NaN,
      1,
      Number.NaN,
      1,
      0,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
  });

  it('fits on training units only and rebuilds identical features from the stored state', async () => {
    const config = { word_ngrams: [1, 1] as [number, number], min_df: 1, max_features: null };
    const { unitIds, x, vectorizer } = await buildFeatures(ctx.backend, {
      config,
      trainUnitIds: ['u1', 'u2'],
    });
    expect(unitIds).toEqual(['u1', 'u2', 'u3']);
    expect(x.rows).toBe(3);
    expect(vectorizer.vocabulary).not.toContain('w:zebra');
    expect(vectorizer.vocabulary).toContain('w:gamma');
    expect(x.indptr[3]! - x.indptr[2]!).toBe(0); // u3's words are all unseen in training
    const state = JSON.parse(JSON.stringify(vectorizer.toJSON()));
    expect(state.meta.tokenizer[0]).toMatch(/^mhmtl-wink /);
    const again = await transformUnits(ctx.backend, TfidfVectorizer.fromJSON(state), {}, unitIds);
    expect(again).toEqual(x);
  });

  it('puts fit-transformed training rows and the other units in unit order (training units in any order)', async () => {
    const config = { word_ngrams: [1, 2] as [number, number], min_df: 1, max_features: null };
    const built = await buildFeatures(ctx.backend, { config, trainUnitIds: ['u3', 'u1'] });
    const plain = new TfidfVectorizer(config);
    await plain.fitBatches(
      (async function* () {
        for await (const b of streamUnitDocuments(ctx.backend, {}, ['u3', 'u1']))
          yield b.map((d) => d.tokens);
      })(),
    );
    expect(built.vectorizer.vocabulary).toEqual(plain.vocabulary);
    expect(built.unitIds).toEqual(['u1', 'u2', 'u3']);
    expect(built.x).toEqual(await transformUnits(ctx.backend, plain, {}, built.unitIds));
  });
});
