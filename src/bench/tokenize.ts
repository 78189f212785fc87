import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { TokenizerPool } from '../text/pool.js';
import type { BenchResult } from './types.js';

const WORDS =
  "i you we they it feel felt can't won't don't i'm it's really so very tired anxious sad happy today tonight " +
  'work school sleep again never always think thought friends family doctor meds therapy help better worse ' +
  'the a an and or but because when what why how this that with without about after before café naïve'.split(
    ' ',
  );
const EXTRAS = [
  '😂',
  '👍🏽',
  '👨‍👩‍👧',
  ':)',
  '<url>',
  '@user',
  '#mentalhealth',
  'привет',
  '你好',
  '!',
  ',',
  '...',
];

/** Deterministic synthetic posts (xorshift PRNG): English-like words, some emoji, placeholders, punctuation. */
export function syntheticTexts(count: number, seed = 1): string[] {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 10 + Math.floor(rand() * 60);
    const words: string[] = [];
    for (let k = 0; k < n; k++) {
      const r = rand();
      if (r < 0.06) words.push(EXTRAS[Math.floor(rand() * EXTRAS.length)]!);
      else {
        const w = WORDS[Math.floor(rand() * rand() * WORDS.length)]!;
        words.push(k === 0 ? w[0]!.toUpperCase() + w.slice(1) : w);
      }
    }
    texts.push(`${words.join(' ')}.`);
  }
  return texts;
}

async function poolRate(texts: string[], workers: number, batch: number): Promise<number> {
  const pool = new TokenizerPool({ workers });
  try {
    await pool.encode(texts.slice(0, 50)); // warm up: threads started, wink loaded
    const t0 = performance.now();
    const jobs: Promise<number>[] = [];
    for (let i = 0; i < texts.length; i += batch)
      jobs.push(pool.encode(texts.slice(i, i + batch)).then((r) => r.total));
    const tokens = (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
    return tokens / ((performance.now() - t0) / 1000);
  } finally {
    await pool.close();
  }
}

/**
 * Tokenization throughput (tokens/s): the raw wink-nlp tokenize-only loop (`readDoc(t).tokens().out()`
 * in this thread) beside the tokenizer pool with one worker (mhmtl's rules plus COPY encoding and
 * the thread hand-off) and with two, over the same synthetic texts in the same run; best of
 * `repeats` for each. Ratios: one worker / raw (target >= 0.8), two workers / one (target >= 1.6).
 */
export async function benchTokenize(
  options: { texts?: number; batchSize?: number; repeats?: number } = {},
): Promise<BenchResult[]> {
  const texts = syntheticTexts(options.texts ?? 40_000);
  const batch = options.batchSize ?? 2000;
  const repeats = options.repeats ?? 3;
  const nlp = winkNLP(model, []);
  let raw = 0;
  let one = 0;
  let two = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    let tokens = 0;
    for (const t of texts) tokens += (nlp.readDoc(t).tokens().out() as string[]).length;
    raw = Math.max(raw, tokens / ((performance.now() - t0) / 1000));
    one = Math.max(one, await poolRate(texts, 1, batch));
    two = Math.max(two, await poolRate(texts, 2, batch));
  }
  const base = { stage: 'tokenize', users: 0, unit: 'tokens/s' };
  const extra = { texts: texts.length, rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
  return [
    {
      ...base,
      name: 'tokenize 1 worker',
      value: one,
      baseline: 'raw wink-nlp loop',
      baselineValue: raw,
      ratio: one / raw,
      extra,
    },
    {
      ...base,
      name: 'tokenize 2 workers',
      value: two,
      baseline: 'tokenize 1 worker',
      baselineValue: one,
      ratio: two / one,
      extra,
    },
  ];
}
