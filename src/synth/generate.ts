import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import {
  type Condition,
  CONDITION_PHRASES,
  EMOJI,
  FAMILY,
  FAMILY_PHRASES,
  FIRST_NAMES,
  FOREIGN,
  GENDER_PHRASES,
  HASHTAGS,
  OBJECTS,
  OPENERS,
  SITE_WORDS,
  SUBJECTS,
  TAILS,
  TASKS,
  VERBS,
} from './lexicon.js';
import { Random } from './random.js';

/** Options of {@link generateCohort}. */
export interface CohortOptions {
  /** Number of users. */
  users: number;
  /** PRNG seed: same seed and options, same bytes. */
  seed: number;
  /** Output directory (created); gets posts.jsonl and labels.jsonl. */
  out: string;
  /** Posts per user, log-uniform in [minPosts, maxPosts] (default 5..200). */
  minPosts?: number;
  maxPosts?: number;
  /** Probability that a post of a user with a condition carries one condition phrase (default 0.3). */
  signalRate?: number;
  /** Fraction of condition labels written as null (unknown), default 0.05; gender 2x that. */
  nullRate?: number;
}

/** Identifying strings the generator put into the text, so tests can prove they never reach the database. */
export interface CohortManifest {
  handles: string[];
  redditUsers: string[];
  emails: string[];
  phones: string[];
  urls: string[];
  /** Raw user ids (before pseudonymization). */
  userIds: string[];
}

/** What {@link generateCohort} wrote. */
export interface CohortResult {
  postsFile: string;
  labelsFile: string;
  users: number;
  posts: number;
  /** Users positive per task (null labels not counted). */
  positives: Record<string, number>;
  manifest: CohortManifest;
}

/**
 * Conditional prevalences among users with a condition (half of all users), so that overall
 * prevalences match Benton et al. (EACL 2017), Table 1: anxiety 25%, depression 15%, suicide
 * attempt 13%, eating disorder 8%, schizophrenia 3.6%, panic 2.7%, PTSD 2.6%, bipolar 2%, with
 * comorbidity: depression and PTSD more likely with anxiety, panic mostly with anxiety, suicide
 * attempt and bipolar more likely with depression.
 */
function sampleConditions(r: Random): Set<Condition> {
  // The rates below are scaled by 0.8 because users who draw no condition get one drawn by
  // prevalence (every non-neurotypical user has at least one); simulated overall prevalences:
  // anxiety 26%, depression 14%, suicide attempt 13%, eating disorder 8%, schizophrenia 3.7%,
  // panic 2.5%, PTSD 2.5%, bipolar 1.9%.
  const f = 0.8;
  const c = new Set<Condition>();
  const anx = r.chance(0.5 * f);
  if (anx) c.add('anxiety');
  const dep = r.chance((anx ? 0.45 : 0.15) * f);
  if (dep) c.add('depression');
  if (r.chance((anx ? 0.09 : 0.018) * f)) c.add('panic');
  if (r.chance((anx ? 0.08 : 0.024) * f)) c.add('ptsd');
  if (r.chance((dep ? 0.45 : 0.179) * f)) c.add('suicide_attempt');
  if (r.chance((dep ? 0.08 : 0.023) * f)) c.add('bipolar');
  if (r.chance(0.16 * f)) c.add('eating_disorder');
  if (r.chance(0.072 * f)) c.add('schizophrenia');
  if (c.size === 0) {
    let x = r.next() * PREVALENCE_TOTAL;
    let chosen: Condition = 'anxiety';
    for (const [k, w] of PREVALENCE) {
      x -= w;
      if (x < 0) {
        chosen = k;
        break;
      }
    }
    c.add(chosen);
  }
  return c;
}

/** Benton et al. (EACL 2017), Table 1: share of all users with each condition. */
const PREVALENCE: readonly [Condition, number][] = [
  ['anxiety', 0.25],
  ['depression', 0.15],
  ['suicide_attempt', 0.13],
  ['eating_disorder', 0.08],
  ['schizophrenia', 0.036],
  ['panic', 0.027],
  ['ptsd', 0.026],
  ['bipolar', 0.02],
];
const PREVALENCE_TOTAL = PREVALENCE.reduce((a, [, w]) => a + w, 0);

class Pools {
  readonly handles: string[] = [];
  readonly redditUsers: string[] = [];
  readonly emails: string[] = [];
  readonly phones: string[] = [];
  readonly urls: string[] = [];
  readonly used = {
    handles: new Set<string>(),
    redditUsers: new Set<string>(),
    emails: new Set<string>(),
    phones: new Set<string>(),
    urls: new Set<string>(),
  };

  constructor(r: Random) {
    for (let i = 0; i < 200; i++) {
      const name = r.pick(FIRST_NAMES);
      const n = 10 + r.int(90);
      this.handles.push(`@${name}_${n}${String.fromCharCode(97 + (i % 26))}`);
      this.redditUsers.push(`u/${name}${r.pick(['_throwaway', 'Fan', '-x', '_ok'])}${i}`);
      this.emails.push(
        `${name}.${r.pick(FIRST_NAMES)}${n}${i}@${r.pick(['examplemail.com', 'mailbox.org', 'post.example.net'])}`,
      );
      const a = 200 + r.int(799);
      const b = 100 + r.int(899);
      const d = 1000 + r.int(8999);
      this.phones.push(
        r.pick([
          `(${a}) ${b}-${d}`,
          `${a}-${b}-${d}`,
          `+1 ${a} ${b} ${d}`,
          `+44 7700 ${900000 + r.int(99999)}`,
          `${a}.${b}.${d}`,
        ]),
      );
      const w1 = r.pick(SITE_WORDS);
      const w2 = r.pick(SITE_WORDS);
      this.urls.push(
        r.pick([
          `https://www.${w1}${w2}.com/${r.pick(SITE_WORDS)}/${i}`,
          `http://${w1}.blog.net/2015/${w2}-${i}`,
          `www.${w1}${i}.org/${w2}`,
          `bit.ly/${w1.slice(0, 2)}${i}X${w2.slice(0, 2)}`,
          `https://${w1}${w2}.io/p?id=${i}&ref=${w2}`,
        ]),
      );
    }
  }

  take(r: Random, kind: keyof Pools['used']): string {
    const v = r.pick(this[kind]);
    this.used[kind].add(v);
    return v;
  }
}

function typo(r: Random, s: string): string {
  const words = s.split(' ');
  const i = r.int(words.length);
  const w = words[i]!;
  if (w.length > 3) {
    const j = 1 + r.int(w.length - 2);
    words[i] = w.slice(0, j - 1) + w[j] + w[j - 1] + w.slice(j + 1);
  }
  return words.join(' ');
}

function sentence(r: Random): string {
  const opener = r.pick(OPENERS);
  const s = `${r.pick(SUBJECTS)} ${r.pick(VERBS)} ${r.pick(OBJECTS)} ${r.pick(TAILS)}`.trim();
  return opener ? `${opener} ${s}` : s;
}

const OFFSETS: readonly [string, number][] = [
  ['Z', 0],
  ['+01:00', 60],
  ['-05:00', -300],
  ['+09:00', 540],
  ['+05:30', 330],
];

function timestamp(r: Random, ms: number): string | number {
  if (r.chance(0.2)) return Math.floor(ms / 1000);
  const [suffix, minutes] = r.pick(OFFSETS);
  const local = new Date(ms + minutes * 60_000).toISOString().slice(0, 19);
  return `${local}${suffix}`;
}

/**
 * Write a synthetic cohort in the input contract (posts.jsonl, labels.jsonl in long form):
 * users with minPosts..maxPosts posts of generic social-media text (mentions, u/names, URLs,
 * e-mails, phone numbers, hashtags, emoji, typos, some Spanish, French, German, Portuguese,
 * Russian, Japanese and Chinese), the nine tasks of Benton et al. (EACL 2017) with their
 * prevalences and comorbidity, an auxiliary `gender` task, condition phrases at `signalRate`
 * (partly shared within a family of related conditions), and some null labels. Streams to disk
 * (memory flat in cohort size; roughly 100k posts/s). Deterministic in (options).
 * @returns counts and the manifest of identifying strings inserted.
 */
export async function generateCohort(options: CohortOptions): Promise<CohortResult> {
  const minPosts = options.minPosts ?? 5;
  const maxPosts = Math.max(minPosts, options.maxPosts ?? 200);
  const signalRate = options.signalRate ?? 0.3;
  const nullRate = options.nullRate ?? 0.05;
  const r = new Random(options.seed);
  const pools = new Pools(r);
  mkdirSync(options.out, { recursive: true });
  const postsFile = path.join(options.out, 'posts.jsonl');
  const labelsFile = path.join(options.out, 'labels.jsonl');
  const posts = new BufferedWriter(createWriteStream(postsFile));
  const labels = new BufferedWriter(createWriteStream(labelsFile));
  const positives: Record<string, number> = {};
  const userIds: string[] = [];
  let postCount = 0;
  const base = Date.UTC(2014, 0, 1);
  const span = 3 * 365 * 86_400_000;

  for (let u = 0; u < options.users; u++) {
    const userId = `s${options.seed}-user-${u}`;
    if (userIds.length < 100_000) userIds.push(userId);
    const neurotypical = r.chance(0.5);
    const conditions = neurotypical ? new Set<Condition>() : sampleConditions(r);
    const gender = r.int(2) as 0 | 1;
    const n = Math.floor(minPosts * (maxPosts / minPosts) ** r.next());
    let t = base + r.next() * span;
    for (let p = 0; p < n; p++) {
      t += 3_600_000 * (1 + r.int(72));
      const parts: string[] = [sentence(r)];
      if (r.chance(0.35)) parts.push(sentence(r));
      for (const c of conditions) {
        if (r.chance(signalRate)) {
          parts.push(r.chance(0.6) ? r.pick(CONDITION_PHRASES[c]) : r.pick(FAMILY_PHRASES[FAMILY[c]]));
        }
      }
      if (neurotypical && r.chance(0.04))
        parts.push(r.pick(FAMILY_PHRASES[r.pick(['anxious', 'mood'] as const)]));
      if (r.chance(0.08)) parts.push(r.pick(GENDER_PHRASES[gender]));
      if (r.chance(0.06)) parts.push(r.pick(FOREIGN));
      if (r.chance(0.1)) parts.unshift(pools.take(r, 'handles'));
      if (r.chance(0.03)) parts.push(`thanks ${pools.take(r, 'redditUsers')}`);
      if (r.chance(0.08)) parts.push(`look ${pools.take(r, 'urls')}`);
      if (r.chance(0.01)) parts.push(`mail ${pools.take(r, 'emails')}`);
      if (r.chance(0.01)) parts.push(`call ${pools.take(r, 'phones')}`);
      if (r.chance(0.1)) parts.push(r.pick(HASHTAGS));
      if (r.chance(0.15)) parts.push(r.pick(EMOJI));
      let text = parts.join(r.chance(0.5) ? ' ' : '. ');
      if (r.chance(0.1)) text = typo(r, text);
      const post: Record<string, unknown> = {
        post_id: `${userId}-p${p}`,
        user_id: userId,
        created_at: timestamp(r, t),
        text,
      };
      if (r.chance(0.3)) post.lang = 'en';
      await posts.write(`${JSON.stringify(post)}\n`);
      postCount++;
    }
    for (const task of TASKS) {
      const positive = task === 'neurotypical' ? neurotypical : conditions.has(task);
      const label = r.chance(nullRate) ? null : positive ? 1 : 0;
      if (label === 1) positives[task] = (positives[task] ?? 0) + 1;
      await labels.write(`${JSON.stringify({ user_id: userId, task, label })}\n`);
    }
    const g = r.chance(2 * nullRate) ? null : gender;
    if (g === 1) positives.gender = (positives.gender ?? 0) + 1;
    await labels.write(`${JSON.stringify({ user_id: userId, task: 'gender', label: g })}\n`);
  }
  await posts.end();
  await labels.end();
  const sorted = (s: Set<string>) => [...s].sort();
  return {
    postsFile,
    labelsFile,
    users: options.users,
    posts: postCount,
    positives,
    manifest: {
      handles: sorted(pools.used.handles),
      redditUsers: sorted(pools.used.redditUsers),
      emails: sorted(pools.used.emails),
      phones: sorted(pools.used.phones),
      urls: sorted(pools.used.urls),
      userIds,
    },
  };
}

/** Collects small strings and writes ~1 MB at a time, waiting for 'drain' (bounded memory). */
class BufferedWriter {
  #parts: string[] = [];
  #size = 0;
  readonly #stream: WriteStream;
  constructor(stream: WriteStream) {
    this.#stream = stream;
  }
  async write(s: string): Promise<void> {
    this.#parts.push(s);
    this.#size += s.length;
    if (this.#size >= 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const ok = this.#stream.write(this.#parts.join(''));
    this.#parts = [];
    this.#size = 0;
    if (!ok) await once(this.#stream, 'drain');
  }
  async end(): Promise<void> {
    await this.flush();
    this.#stream.end();
    await once(this.#stream, 'finish');
  }
}
