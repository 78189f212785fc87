import { describe, expect, it } from 'vitest';
import { type CsrMatrix, nnz, vstack } from '../../src/features/csr.js';
import { type FeatureConfig, resolveFeatureConfig } from '../../src/features/config.js';
import { TfidfVectorizer } from '../../src/features/tfidf.js';

/** Row i of a CSR matrix as { term: value }. */
function row(x: CsrMatrix, vocabulary: readonly string[], i: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let k = x.indptr[i]!; k < x.indptr[i + 1]!; k++) out[vocabulary[x.indices[k]!]!] = x.values[k]!;
  return out;
}

const words = { word_ngrams: [1, 1] as [number, number], min_df: 1, max_features: null };

describe('TfidfVectorizer', () => {
  it('matches scikit-learn TfidfVectorizer(sublinear_tf=True, smooth_idf=True, norm="l2") by hand', () => {
    // Corpus d0 = a b a, d1 = b c, d2 = a. n = 3; df(a) = 2, df(b) = 2, df(c) = 1.
    // scikit-learn: idf = ln((1 + n) / (1 + df)) + 1 -> idf(a) = idf(b) = ln(4/3) + 1 = 1.287682,
    // idf(c) = ln(4/2) + 1 = 1.693147. sublinear tf = 1 + ln(count): d0 a -> 1 + ln 2.
    // d0 = [ (1 + ln 2) * 1.287682, 1 * 1.287682, 0 ] = [2.180236, 1.287682, 0] / 2.532104
    //    = [0.861038, 0.508543, 0]; d1 = [0, 1.287682, 1.693147] / 2.127175 = [0, 0.605346, 0.795961];
    // d2 = [1, 0, 0].
    const v = new TfidfVectorizer(words).fit([['a', 'b', 'a'], ['b', 'c'], ['a']]);
    expect(v.vocabulary).toEqual(['w:a', 'w:b', 'w:c']);
    const idfAB = Math.log(4 / 3) + 1;
    const idfC = Math.log(4 / 2) + 1;
    expect(Array.from(v.idf)).toEqual([idfAB, idfAB, idfC]);
    const x = v.transform([['a', 'b', 'a'], ['b', 'c'], ['a']]);
    expect(x.rows).toBe(3);
    expect(x.cols).toBe(3);
    const d0a = (1 + Math.log(2)) * idfAB;
    const n0 = Math.hypot(d0a, idfAB);
    expect(row(x, v.vocabulary, 0)['w:a']).toBeCloseTo(d0a / n0, 6);
    expect(row(x, v.vocabulary, 0)['w:b']).toBeCloseTo(idfAB / n0, 6);
    expect(row(x, v.vocabulary, 0)['w:a']).toBeCloseTo(0.861038, 5);
    expect(row(x, v.vocabulary, 1)['w:c']).toBeCloseTo(0.795961, 5);
    expect(row(x, v.vocabulary, 2)).toEqual({ 'w:a': 1 });
  });

  it('uses raw tf, unsmoothed idf and no norm when asked', () => {
    // idf = ln(n / df) + 1: idf(a) = ln(3/2) + 1; d0's a has raw count 2.
    const v = new TfidfVectorizer({ ...words, sublinear_tf: false, smooth_idf: false, norm: null });
    v.fit([['a', 'b', 'a'], ['b', 'c'], ['a']]);
    const x = v.transform([['a', 'b', 'a']]);
    expect(row(x, v.vocabulary, 0)['w:a']).toBeCloseTo(2 * (Math.log(3 / 2) + 1), 6);
    expect(row(x, v.vocabulary, 0)['w:b']).toBeCloseTo(Math.log(3 / 2) + 1, 6);
  });

  it('builds word n-grams that never span a post boundary', () => {
    const v = new TfidfVectorizer({ word_ngrams: [1, 2], min_df: 1, max_features: null });
    v.fit([['i', 'feel', '', 'ok', 'now']]);
    expect(v.vocabulary).toEqual(['w:feel', 'w:i', 'w:i feel', 'w:now', 'w:ok', 'w:ok now']);
  });

  it('builds character n-grams within word boundaries (scikit-learn char_wb), emoji whole', () => {
    const v = new TfidfVectorizer({ word_ngrams: null, char_ngrams: [2, 3], min_df: 1, max_features: null });
    // ' ab ' -> 2-grams ' a', 'ab', 'b '; 3-grams ' ab', 'ab '. ' 😂 ' (3 code points) -> ' 😂', '😂 ', ' 😂 '.
    v.fit([['ab', '😂']]);
    expect([...v.vocabulary].sort()).toEqual(
      ['c: a', 'c:ab', 'c:b ', 'c: ab', 'c:ab ', 'c: 😂', 'c:😂 ', 'c: 😂 '].sort(),
    );
    // No lone surrogates (PostgreSQL's jsonb rejects them).
    for (const term of v.vocabulary) expect(/\p{Cs}/u.test(term)).toBe(false);
  });

  it('applies min_df, max_df and max_features (by total count, ties by df then term)', () => {
    const docs = [
      ['a', 'a', 'a', 'b', 'c'],
      ['a', 'b', 'd'],
      ['a', 'b', 'e', 'e'],
      ['a', 'f'],
    ];
    // df: a 4, b 3, c 1, d 1, e 1, f 1; totals: a 6, b 3, e 2, c/d/f 1.
    expect(new TfidfVectorizer({ ...words, min_df: 2 }).fit(docs).vocabulary).toEqual(['w:a', 'w:b']);
    expect(new TfidfVectorizer({ ...words, min_df: 0.5 }).fit(docs).vocabulary).toEqual(['w:a', 'w:b']);
    expect(new TfidfVectorizer({ ...words, max_df: 0.75 }).fit(docs).vocabulary).toEqual([
      'w:b',
      'w:c',
      'w:d',
      'w:e',
      'w:f',
    ]);
    expect(new TfidfVectorizer({ ...words, max_df: 3 }).fit(docs).vocabulary).not.toContain('w:a');
    // Top 4 by total count: a (6), b (3), e (2), then c, d, f tie at 1 with df 1: c by term order.
    expect(new TfidfVectorizer({ ...words, max_features: 4 }).fit(docs).vocabulary).toEqual([
      'w:a',
      'w:b',
      'w:c',
      'w:e',
    ]);
    expect(() => new TfidfVectorizer({ ...words, min_df: 5 }).fit(docs)).toThrow(/no terms remain/);
  });

  it('masks terms case-insensitively, as hashtags, r/ names and multi-word phrases', () => {
    const v = new TfidfVectorizer({
      word_ngrams: [1, 2],
      min_df: 1,
      max_features: null,
      masked_terms: ['Depression', 'suicide watch'],
    });
    v.fit([
      ['my', 'depression', 'and', '#depression', 'in', 'r/depression', 'read', 'suicide', 'watch', 'today'],
    ]);
    const vocab = v.vocabulary.join('|');
    expect(vocab).not.toMatch(/depression|suicide|watch/);
    expect(v.vocabulary).not.toContain('w:read today');
    expect(v.vocabulary).toContain('w:read');
    expect(v.vocabulary).toContain('w:today');
    expect(v.vocabulary).not.toContain('w:my and');
    // 'suicide' alone is not the phrase: kept.
    expect(v.analyze(['suicide', 'note']).has('w:suicide')).toBe(true);
  });

  it('stems plain words with Porter when asked', () => {
    const v = new TfidfVectorizer({ ...words, stemming: true }).fit([['running', 'runs', "can't", 'café']]);
    expect(v.vocabulary).toEqual(['w:café', "w:can't", 'w:run']);
  });

  it('fits on training documents only: a term seen only at transform time has no column', () => {
    const v = new TfidfVectorizer(words).fit([['a', 'b'], ['b']]);
    expect(v.vocabulary).not.toContain('w:zebra');
    const x = v.transform([
      ['zebra', 'zebra'],
      ['a', 'zebra'],
    ]);
    expect(x.indptr[1]).toBe(0); // the first test unit has no known term: an empty row
    expect(row(x, v.vocabulary, 1)).toEqual({ 'w:a': 1 });
  });

  it('round-trips through JSON to identical CSR, and batches stack to the same matrix', async () => {
    const train = [
      ['we', 'feel', 'fine', '', 'ok'],
      ['fine', 'day', '😂'],
      ['we', 'ok', 'day', 'day'],
    ];
    const test = [['we', 'day', 'new'], [], ['fine', 'fine', '😂']];
    const v = new TfidfVectorizer({ word_ngrams: [1, 2], char_ngrams: [2, 3], min_df: 1 }).fit(train);
    const restored = TfidfVectorizer.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    const a = v.transform(test);
    const b = restored.transform(test);
    expect(b).toEqual(a);
    expect(restored.vocabulary).toEqual(v.vocabulary);
    const stacked = await restored.transformBatches([test.slice(0, 1), test.slice(1)]);
    expect(stacked).toEqual(a);
    expect(vstack([a, a]).rows).toBe(6);
    expect(nnz(vstack([a, a]))).toBe(2 * nnz(a));
  });

  it('rejects bad configuration with the field name', () => {
    expect(() => resolveFeatureConfig({ word_ngrams: [3, 1] })).toThrow(/features.word_ngrams/);
    expect(() => resolveFeatureConfig({ min_df: 1.5 })).toThrow(/features.min_df/);
    expect(() => resolveFeatureConfig({ word_ngrams: null, char_ngrams: null })).toThrow(/no features/);
    expect(() => new TfidfVectorizer().transform([])).toThrow(/not fitted/);
  });
});

/** The string path (the analyzer's term counts, one Map per document): the reference for the integer path. */
function referenceTfidf(config: Partial<FeatureConfig>, train: string[][], docs: string[][]) {
  const v = new TfidfVectorizer(config);
  const c = v.config;
  const df = new Map<string, number>();
  const total = new Map<string, number>();
  for (const d of train)
    for (const [t, k] of v.analyze(d)) {
      df.set(t, (df.get(t) ?? 0) + 1);
      total.set(t, (total.get(t) ?? 0) + k);
    }
  const n = train.length;
  const minCount = c.min_df >= 1 ? c.min_df : c.min_df * n;
  const maxCount = c.max_df <= 1 ? c.max_df * n : c.max_df;
  let kept = [...df.keys()].filter((t) => df.get(t)! >= minCount && df.get(t)! <= maxCount);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  if (c.max_features !== null && kept.length > c.max_features) {
    kept.sort((a, b) => total.get(b)! - total.get(a)! || df.get(b)! - df.get(a)! || cmp(a, b));
    kept = kept.slice(0, c.max_features);
  }
  kept.sort(cmp);
  const col = new Map(kept.map((t, j) => [t, j]));
  const idf = kept.map((t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
  const rows = docs.map((d) => {
    const entries = [...v.analyze(d)]
      .filter(([t]) => col.has(t))
      .map(([t, k]) => [col.get(t)!, (1 + Math.log(k)) * idf[col.get(t)!]!] as [number, number])
      .sort((a, b) => a[0] - b[0]);
    const norm = Math.sqrt(entries.reduce((s, [, x]) => s + x * x, 0)) || 1;
    return entries.map(([j, x]) => [j, Math.fround(x / norm)]);
  });
  return { vocabulary: kept, rows };
}

describe('integer n-gram path', () => {
  const corpus = [
    ['I', 'feel', 'ok', '', 'ok', 'now', '😂', '👨‍👩‍👧'],
    ['привет', 'мир', 'i', 'feel', '', 'suicide', 'watch', 'is', 'here', '#depression', 'again'],
    ['café', 'naïve', 'ok', 'now', 'ok', 'now', '', '', 'r/depression', 'feel'],
    ['你好世界', 'i', 'feel', 'ok', '😂', '😂', 'Depression', 'is', 'hard'],
    ['ok', 'now', 'i', 'feel', 'fine', '', 'fine', 'ok'],
    [],
  ];
  const unseen = [
    ['ok', 'new', 'now', 'café', 'zzz', '', 'i', 'feel'],
    ['😂', 'Привет'],
  ];
  const configs: Partial<FeatureConfig>[] = [
    { word_ngrams: [1, 2], min_df: 1 },
    { word_ngrams: [1, 3], min_df: 2, masked_terms: ['depression', 'suicide watch'] },
    { word_ngrams: [2, 2], char_ngrams: [2, 4], min_df: 1, max_features: 25 },
    { word_ngrams: null, char_ngrams: [1, 3], min_df: 0.3, max_df: 0.9 },
    { word_ngrams: [1, 2], min_df: 1, max_features: 7, stemming: true },
  ];

  it('gives the same vocabulary and CSR as the string path (unicode, masks, boundaries, char n-grams, ties)', () => {
    for (const config of configs) {
      const ref = referenceTfidf(config, corpus, [...corpus, ...unseen]);
      const v = new TfidfVectorizer(config).fit(corpus);
      expect(v.vocabulary).toEqual(ref.vocabulary);
      for (const m of [
        v.transform([...corpus, ...unseen]),
        TfidfVectorizer.fromJSON(v.toJSON()).transform([...corpus, ...unseen]),
      ]) {
        const rows = Array.from({ length: m.rows }, (_, i) =>
          Array.from({ length: m.indptr[i + 1]! - m.indptr[i]! }, (_, k) => [
            m.indices[m.indptr[i]! + k]!,
            m.values[m.indptr[i]! + k]!,
          ]),
        );
        expect(rows.length).toBe(ref.rows.length);
        rows.forEach((r, i) => {
          expect(r.map((e) => e[0])).toEqual(ref.rows[i]!.map((e) => e[0]));
          for (const [k, e] of r.entries()) expect(e[1]).toBeCloseTo(ref.rows[i]![k]![1]!, 6);
        });
      }
    }
  });

  it('fit-transform gives the same vocabulary, IDF and matrix as fit then transform, cached or counted again', async () => {
    const batches = () => [corpus.slice(0, 2), corpus.slice(2, 3), corpus.slice(3)];
    for (const config of configs) {
      const plain = new TfidfVectorizer(config).fit(corpus);
      const expected = plain.transform(corpus);
      // Budgets: all cached, the first documents only (the rest read again, across batches), none.
      for (const budget of [undefined, 40, 0]) {
        const v = new TfidfVectorizer(config);
        const x = await v.fitTransformBatches(batches, budget);
        expect(v.vocabulary).toEqual(plain.vocabulary);
        expect(Array.from(v.idf)).toEqual(Array.from(plain.idf));
        expect(v.toJSON()).toEqual(plain.toJSON());
        expect(x).toEqual(expected);
        expect(v.transform(unseen)).toEqual(plain.transform(unseen));
      }
    }
  });

  it('rejects a token containing a space (word n-grams are joined by spaces)', () => {
    expect(() => new TfidfVectorizer({ min_df: 1 }).fit([['a b', 'c']])).toThrow(/contains a space/);
  });
});
