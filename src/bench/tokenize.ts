import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { TokenizerPool } from '../text/pool.js';
import { median } from './measure.js';
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

/** A rate measured both ways: per wall second, and per CPU second of the whole process (all threads). */
interface Rate {
  wall: number;
  cpu: number;
}

async function timed(f: () => Promise<number> | number): Promise<Rate> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const tokens = await f();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: tokens / wall, cpu: tokens / ((c.user + c.system) / 1e6) };
}

const PREFIX = '\tmhmtl-wink\t1\t0123456789abcdef\t';

/** A started pool, warmed up (threads started, wink loaded and JIT-compiled) outside any timing. */
async function warmPool(texts: string[], workers: number, batch: number): Promise<TokenizerPool> {
  const pool = new TokenizerPool({ workers });
  const slice = texts.slice(0, batch);
  const keys = slice.map((_, k) => `k${k}`);
  await Promise.all(Array.from({ length: workers }, () => pool.encodeRows(keys, slice, PREFIX)));
  return pool;
}

/** The stage's work on the texts: COPY lines (keys, signature columns, tokens, count) per batch. */
function poolRate(pool: TokenizerPool, texts: string[], batch: number): Promise<Rate> {
  return timed(async () => {
    const jobs: Promise<number>[] = [];
    for (let i = 0; i < texts.length; i += batch) {
      const slice = texts.slice(i, i + batch);
      const keys = slice.map((_, k) => `u${(i + k) >> 7}\tp${i + k}`);
      jobs.push(pool.encodeRows(keys, slice, PREFIX).then((r) => r.total));
    }
    return (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
  });
}

/**
 * Tokenization throughput (tokens/s): the raw wink-nlp tokenize-only loop (`readDoc(t).tokens().out()`
 * per text, in this thread) beside the tokenizer pool with one worker (mhmtl's rules, COPY lines
 * as the stage writes them, and the thread hand-off) and with two, over the same synthetic texts
 * in the same run. The three are measured in turn `repeats` times; each figure is the median, and
 * each ratio is the median of the per-repeat ratios (the machine is shared: only in-run ratios
 * compare). Ratios: one worker / raw (target >= 0.8), two workers / one (target >= 1.6), per
 * wall second. `extra` also has tokens per CPU second of the whole process (`*_cpu`, all threads,
 * GC included), which a loaded machine disturbs much less than wall time.
 */
export async function benchTokenize(
  options: { texts?: number; batchSize?: number; repeats?: number } = {},
): Promise<BenchResult[]> {
  const texts = syntheticTexts(options.texts ?? 40_000);
  const batch = options.batchSize ?? 2000;
  const repeats = options.repeats ?? 3;
  const nlp = winkNLP(model, []);
  for (const t of texts.slice(0, batch)) nlp.readDoc(t).tokens().out(); // warm up, as the pools are
  const raws: Rate[] = [];
  const ones: Rate[] = [];
  const twos: Rate[] = [];
  const pool1 = await warmPool(texts, 1, batch);
  const pool2 = await warmPool(texts, 2, batch);
  for (let r = 0; r < repeats; r++) {
    raws.push(
      await timed(() => {
        let tokens = 0;
        for (const t of texts) tokens += (nlp.readDoc(t).tokens().out() as string[]).length;
        return tokens;
      }),
    );
    ones.push(await poolRate(pool1, texts, batch));
    twos.push(await poolRate(pool2, texts, batch));
  }
  await Promise.all([pool1.close(), pool2.close()]);
  const wall = (xs: Rate[]) => xs.map((x) => x.wall);
  const cpu = (xs: Rate[]) => xs.map((x) => x.cpu);
  const raw = median(wall(raws));
  const one = median(wall(ones));
  const two = median(wall(twos));
  const runs = (xs: number[]) => xs.map(Math.round).join(' ');
  const base = { stage: 'tokenize', users: 0, unit: 'tokens/s' };
  const extra = {
    texts: texts.length,
    batch,
    repeats,
    raw_runs: runs(wall(raws)),
    one_worker_runs: runs(wall(ones)),
    two_worker_runs: runs(wall(twos)),
    raw_cpu: Math.round(median(cpu(raws))),
    one_worker_cpu: Math.round(median(cpu(ones))),
    two_worker_cpu: Math.round(median(cpu(twos))),
    one_vs_raw_cpu_ratio: Number(median(cpu(ones).map((o, i) => o / raws[i]!.cpu)).toFixed(3)),
    rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  return [
    {
      ...base,
      name: 'tokenize 1 worker',
      value: one,
      baseline: 'raw wink-nlp loop',
      baselineValue: raw,
      ratio: median(ones.map((o, i) => o.wall / raws[i]!.wall)),
      extra,
    },
    {
      ...base,
      name: 'tokenize 2 workers',
      value: two,
      baseline: 'tokenize 1 worker',
      baselineValue: one,
      ratio: median(twos.map((t, i) => t.wall / ones[i]!.wall)),
      extra,
    },
  ];
}
