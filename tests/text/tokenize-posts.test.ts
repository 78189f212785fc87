import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { TokenizerPool } from '../../src/text/pool.js';
import { tokenizePosts } from '../../src/text/tokenize-posts.js';
import { Tokenizer, tokenizerSignature } from '../../src/text/tokenizer.js';
import { describeBackends } from '../helpers/databases.js';

const TEXTS = [
  "I can't sleep again 😴 and it's 3am",
  'Visit <url> or write to <email>, @user says hi 👋🏽',
  'Привет мир! café 你好',
  'backslash \\ and "quotes" and a tab\there',
  '',
  'family 👨‍👩‍👧 time :)',
];

async function insertPosts(backend: Backend, rows: { user: string; post: string; text: string }[]) {
  await backend.transaction(async (s) => {
    for (const r of rows) {
      await s.query('INSERT INTO mhmtl.users (user_id) VALUES ($1) ON CONFLICT DO NOTHING', [r.user]);
      await s.query(
        `INSERT INTO mhmtl.posts (user_id, post_id, created_at, text, text_hash)
         VALUES ($1, $2, now(), $3, md5($3))`,
        [r.user, r.post, r.text],
      );
    }
  });
}

async function storedTokens(backend: Backend) {
  return backend.db
    .selectFrom('mhmtl.post_tokens')
    .select(['user_id', 'post_id', 'tokens', 'n_tokens', 'tokenizer', 'tokenizer_version', 'config_hash'])
    .orderBy('user_id')
    .orderBy('post_id')
    .execute();
}

describe('tokenizer pool', () => {
  let pool: TokenizerPool;
  beforeAll(() => {
    pool = new TokenizerPool({ workers: 2 });
  });
  afterAll(() => pool.close());

  it('gives the same tokens as the in-process tokenizer, in order', async () => {
    const local = new Tokenizer();
    const texts = Array.from({ length: 50 }, (_, i) => `${TEXTS[i % TEXTS.length]} #${i}`);
    const [a, b] = await Promise.all([pool.tokenize(texts.slice(0, 25)), pool.tokenize(texts.slice(25))]);
    expect([...a, ...b]).toEqual(texts.map((t) => local.tokenize(t)));
    const encoded = await pool.encode(texts);
    expect(Array.from(encoded.counts)).toEqual(texts.map((t) => local.tokenize(t).length));
  });
});

describeBackends('mhmtl tokenize', (ctx) => {
  const posts = TEXTS.map((text, i) => ({ user: `u${i % 3}`, post: `p${i}`, text }));

  it('tokenizes every post, stores tokens with the signature, and is incremental', async () => {
    await insertPosts(ctx.backend, posts);
    const progress: number[] = [];
    const first = await tokenizePosts(ctx.backend, {
      workers: 2,
      batchSize: 2,
      onProgress: (p) => progress.push(p.done),
    });
    const local = new Tokenizer();
    expect(first.posts).toBe(posts.length);
    expect(progress.at(-1)).toBe(posts.length);
    const rows = await storedTokens(ctx.backend);
    const sig = tokenizerSignature();
    const byPost = new Map(posts.map((p) => [p.post, p.text]));
    expect(rows).toHaveLength(posts.length);
    for (const r of rows) {
      const expected = local.tokenize(byPost.get(r.post_id)!);
      expect(r.tokens).toEqual(expected);
      expect(r.n_tokens).toBe(expected.length);
      expect([r.tokenizer, r.tokenizer_version, r.config_hash]).toEqual([
        sig.name,
        sig.version,
        sig.configHash,
      ]);
    }
    expect(first.tokens).toBe(rows.reduce((s, r) => s + r.n_tokens, 0));

    const second = await tokenizePosts(ctx.backend, { workers: 0 });
    expect(second.posts).toBe(0);
    expect(second.stale).toBe(0);

    await insertPosts(ctx.backend, [{ user: 'u9', post: 'new', text: 'one more post!' }]);
    const third = await tokenizePosts(ctx.backend, { workers: 0 });
    expect(third.posts).toBe(1);
    expect(third.tokens).toBe(3);
  });

  it('re-tokenizes everything when the tokenizer configuration changes', async () => {
    const result = await tokenizePosts(ctx.backend, { workers: 0, config: { punctuation: true } });
    expect(result.stale).toBe(posts.length + 1);
    expect(result.posts).toBe(posts.length + 1);
    const rows = await storedTokens(ctx.backend);
    const sig = tokenizerSignature({ punctuation: true });
    expect(new Set(rows.map((r) => r.config_hash))).toEqual(new Set([sig.configHash]));
    const row = rows.find((r) => r.post_id === 'new')!;
    expect(row.tokens).toEqual(['one', 'more', 'post', '!']);
  });
});
