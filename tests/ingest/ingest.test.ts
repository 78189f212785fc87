import { writeFileSync } from 'node:fs';
import { makeTempDir } from '../helpers/tmp.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import {
  createPseudonymizer,
  type IngestOptions,
  ingestFile,
  openClean,
  pseudonymizer,
} from '../../src/ingest/index.js';
import { MhmtlError } from '../../src/errors.js';
import { loadMapping } from '../../src/ingest/mapping.js';
import { generateCohort } from '../../src/synth/generate.js';
import { describeBackends } from '../helpers/databases.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BAD = path.join(ROOT, 'fixtures/bad');
const COHORT = path.join(ROOT, 'fixtures/cohort');
const MAPPING = { tasks: { anxiety: ['fakeworry'], depression: ['FakeSad'] }, controls: ['FakeHappy'] };
const CSV_COLUMNS = { user_id: 'author', text: 'body' };

const tmp = () => makeTempDir('mhmtl-ingest-');

async function rows<R = Record<string, unknown>>(backend: Backend, sql: string, params: unknown[] = []) {
  return backend.transaction((s) => s.query<R>(sql, params));
}

async function quarantine(backend: Backend, sourceId: number) {
  return rows<{ line_number: number; reason: string; raw: string }>(
    backend,
    'SELECT line_number, reason, raw FROM mhmtl.quarantine WHERE source_id = $1 ORDER BY line_number, quarantine_id',
    [sourceId],
  );
}

function ingest(backend: Backend, file: string, options: Partial<IngestOptions> = {}) {
  return ingestFile(backend, file, { kind: 'posts', ...options });
}

describeBackends('ingest', (ctx) => {
  it('quarantines malformed JSON with line number and reason, loads the rest', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'malformed-json.jsonl'));
    expect(s.posts.inserted).toBe(3);
    expect(s.rejectedByReason).toEqual({ malformed_json: 2 });
    const q = await quarantine(ctx.backend, s.sourceId);
    expect(q.map((r) => r.line_number)).toEqual([2, 4]);
    expect(q[0]!.reason).toMatch(/^malformed_json: /);
    expect(q[1]!.reason).toBe('malformed_json: not a JSON object');
    // The stored raw line is scrubbed.
    expect(q[0]!.raw).toContain('<phone>');
    expect(q[0]!.raw).toContain('@user');
    expect(q[0]!.raw).not.toContain('broken_json_user');
  });

  it('names the field of a schema violation; pseudonymizes ids and scrubs strings in quarantine', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'schema-violation.jsonl'));
    expect(s.posts.inserted).toBe(2);
    const q = await quarantine(ctx.backend, s.sourceId);
    expect(q.map((r) => [r.line_number, r.reason])).toEqual([
      [2, 'schema: text: is required'],
      [3, 'schema: text: must be string'],
    ]);
    const pseudo = await pseudonymizer(ctx.backend);
    const raw = JSON.parse(q[1]!.raw) as Record<string, unknown>;
    expect(raw.user_id).toBe(pseudo.user('bad-user-1'));
    expect(raw.post_id).toBe(pseudo.post('bad-12'));
    expect(raw.note).toBe('mail <email>');
  });

  it('quarantines unparseable dates and dates without an offset; accepts epoch seconds', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'bad-date.jsonl'));
    expect(s.posts.inserted).toBe(2);
    expect(s.rejectedByReason).toEqual({ bad_date: 3 });
    const q = await quarantine(ctx.backend, s.sourceId);
    expect(q.map((r) => r.line_number)).toEqual([2, 3, 4]);
    expect(q[0]!.reason).toBe('bad_date: created_at: unparseable date "2015-02-30T10:00:00Z"');
    expect(q[1]!.reason).toBe('bad_date: created_at: unparseable date "last tuesday"');
    expect(q[2]!.reason).toBe(
      'bad_date: created_at: no UTC offset in "2015-06-01T12:00:00" (add Z or +hh:mm: a time without one is in an unknown zone)',
    );
  });

  it('repairs NUL bytes, lone surrogates and invalid UTF-8, and counts them', async () => {
    const pseudo = await pseudonymizer(ctx.backend);
    const nul = await ingest(ctx.backend, path.join(BAD, 'nul-bytes.jsonl'));
    expect(nul.repaired).toEqual({ nul_removed: 1 });
    const sur = await ingest(ctx.backend, path.join(BAD, 'lone-surrogate.jsonl'));
    expect(sur.repaired).toEqual({ lone_surrogate: 1 });
    const inv = await ingest(ctx.backend, path.join(BAD, 'invalid-utf8.jsonl'));
    expect(inv.repaired).toEqual({ invalid_utf8: 1 });
    const texts = await rows<{ post_id: string; text: string }>(
      ctx.backend,
      'SELECT post_id, text FROM mhmtl.posts WHERE post_id = ANY($1)',
      [[pseudo.post('bad-30'), pseudo.post('bad-40'), pseudo.post('bad-50')]],
    );
    const byId = new Map(texts.map((t) => [t.post_id, t.text]));
    expect(byId.get(pseudo.post('bad-30'))).toBe('a post with a nul byte inside, mail <email>');
    expect(byId.get(pseudo.post('bad-40'))).toBe('half an emoji \uFFFD here, ask @user');
    expect(byId.get(pseudo.post('bad-50'))).toContain('broken bytes \uFFFD');
  });

  it('CSV (CRLF): invalid UTF-8 replaced and counted per record, a real U+FFFD not counted, line numbers by LF', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'invalid-utf8.csv'));
    expect([s.posts.inserted, s.rejected]).toEqual([4, 1]);
    expect(s.repaired).toEqual({ invalid_utf8: 2 });
    const [src] = await rows<{ details: { repaired: Record<string, number> } }>(
      ctx.backend,
      'SELECT details FROM mhmtl.sources WHERE source_id = $1',
      [s.sourceId],
    );
    expect(src!.details.repaired).toEqual({ invalid_utf8: 2 });
    expect((await quarantine(ctx.backend, s.sourceId)).map((r) => [r.line_number, r.reason])).toEqual([
      // the reason names the same line as line_number (csv-parse counts the CR of a quoted CRLF too)
      [6, 'malformed_csv: Invalid Record Length: columns length is 4, got 6 on line 6'],
    ]);
    const pseudo = await pseudonymizer(ctx.backend);
    const texts = await rows<{ text: string }>(
      ctx.backend,
      'SELECT text FROM mhmtl.posts WHERE user_id = $1 ORDER BY created_at',
      [pseudo.user('utf8-user')],
    );
    expect(texts.map((t) => t.text)).toEqual([
      'broken bytes \uFFFD\uFFFD here, mail me at <email>',
      'a real replacement character \uFFFD is kept and not counted',
      'two lines\r\nthe second with a stray \uFFFD byte',
      'fine',
    ]);
  });

  it('CSV ending inside an open quote: the records before it load; the rest of the file is quarantined at its first line', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'unclosed-quote.csv'), { columns: CSV_COLUMNS });
    expect([s.posts.inserted, s.rejected]).toEqual([2, 1]);
    const q = await quarantine(ctx.backend, s.sourceId);
    // line 4 is empty; the record opens its quote on line 5 and runs to the end of the file (line 7)
    expect(q.map((r) => [r.line_number, r.reason])).toEqual([
      [5, 'malformed_csv: Quote Not Closed: the parsing is finished with an opening quote at line 5'],
    ]);
    expect(q[0]!.raw).toContain('a quote that is never closed');
    expect(q[0]!.raw).toContain('swallowed by it');
  });

  it('truncates over-long text on a code-point boundary and flags it; a smaller limit is configurable', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'over-long.jsonl'));
    expect(s.repaired).toEqual({ truncated: 1 });
    const pseudo = await pseudonymizer(ctx.backend);
    const [p] = await rows<{ n: number; flags: string[] }>(
      ctx.backend,
      'SELECT char_length(text) AS n, flags FROM mhmtl.posts WHERE post_id = $1',
      [pseudo.post('bad-60')],
    );
    expect(p).toEqual({ n: 100_000, flags: ['truncated'] });
    const dir = tmp();
    const f = path.join(dir, 'short.jsonl');
    writeFileSync(f, `${JSON.stringify({ user_id: 'tr', created_at: 0, text: 'ab😀cd' })}\n`);
    await ingest(ctx.backend, f, { maxTextLength: 3 });
    const [t] = await rows<{ text: string }>(ctx.backend, 'SELECT text FROM mhmtl.posts WHERE user_id = $1', [
      pseudo.user('tr'),
    ]);
    expect(t!.text).toBe('ab😀');
  });

  it('rejects empty texts with a reason', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'empty-text.jsonl'));
    expect(s.posts.inserted).toBe(1);
    expect(s.rejectedByReason).toEqual({ empty_text: 3 });
    expect((await quarantine(ctx.backend, s.sourceId)).map((r) => r.line_number)).toEqual([1, 2, 3]);
  });

  it('reads CSV with quoted newlines and a column mapping; a bad record goes to quarantine', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'quoted-newlines.csv'), { columns: CSV_COLUMNS });
    expect(s.format).toBe('csv');
    expect(s.posts.inserted).toBe(4);
    expect(s.rejectedByReason).toEqual({ malformed_csv: 1 });
    const q = await quarantine(ctx.backend, s.sourceId);
    expect(q[0]!.line_number).toBe(7);
    expect(q[0]!.raw).not.toContain('csv_bad_handle');
    const pseudo = await pseudonymizer(ctx.backend);
    const texts = await rows<{ text: string }>(
      ctx.backend,
      'SELECT text FROM mhmtl.posts WHERE user_id = $1 ORDER BY created_at',
      [pseudo.user('csv-user-1')],
    );
    expect(texts.map((t) => t.text)).toEqual([
      'first line\nsecond line, with a comma',
      'she said "hi" to @user',
    ]);
  });

  it('reads gzip by its magic bytes, and TSV', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'posts.jsonl.gz'));
    expect([s.gzip, s.format, s.posts.inserted]).toEqual([true, 'jsonl', 3]);
    const dir = tmp();
    const f = path.join(dir, 'posts.data');
    writeFileSync(f, 'user_id\tcreated_at\ttext\ntsv-user\t1433160000\ta tab separated post\n');
    const t = await ingest(ctx.backend, f);
    expect([t.format, t.posts.inserted]).toEqual(['tsv', 1]);
  });

  it('is idempotent: the same file twice adds nothing and records the second ingest', async () => {
    const dir = tmp();
    const f = path.join(dir, 'p.jsonl');
    writeFileSync(
      f,
      [
        { post_id: 'i1', user_id: 'idem', created_at: 0, text: 'one' },
        { post_id: 'i2', user_id: 'idem', created_at: 0, text: 'two' },
        { user_id: 'idem', created_at: 0, text: 'no id  here' },
        { user_id: 'idem', created_at: 5, text: 'No id here' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const a = await ingest(ctx.backend, f, { chunkRows: 2 });
    expect([a.posts.inserted, a.posts.duplicates]).toEqual([3, 1]);
    const b = await ingest(ctx.backend, f);
    expect([b.posts.inserted, b.posts.duplicates, b.users]).toEqual([0, 4, 0]);
    const [src] = await rows<{
      inserted: number;
      duplicates: number;
      sha256: string;
      finished_at: Date | null;
    }>(
      ctx.backend,
      'SELECT inserted, duplicates, sha256, finished_at FROM mhmtl.sources WHERE source_id = $1',
      [b.sourceId],
    );
    expect(src!.inserted).toBe(0);
    expect(src!.duplicates).toBe(4);
    expect(src!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(src!.finished_at).not.toBeNull();
  });

  it('posts.source_id must name a source (statement check of migration 0007), which cannot be deleted while named', async () => {
    const f = path.join(tmp(), 'fk.jsonl');
    writeFileSync(
      f,
      ['fk1', 'fk2', 'fk3']
        .map((id) => JSON.stringify({ post_id: id, user_id: 'fk', created_at: 0, text: id }))
        .join('\n'),
    );
    const s = await ingest(ctx.backend, f);
    expect(s.posts.inserted).toBe(3);
    const code = async (sql: string, params: unknown[] = []) =>
      ctx.backend
        .transaction((t) => t.query(sql, params))
        .then(
          () => 'ok',
          (e: { code?: string }) => e.code,
        );
    const [u] = await rows<{ user_id: string }>(ctx.backend, 'SELECT user_id FROM mhmtl.posts LIMIT 1');
    const insert = `INSERT INTO mhmtl.posts (user_id, post_id, created_at, text, text_hash, source_id)
      SELECT $1, 'fk-' || g, now(), 't', 'h', $2 FROM generate_series(1, 3) AS g`;
    expect(await code(insert, [u!.user_id, 999_999])).toBe('23503');
    expect(await code('UPDATE mhmtl.posts SET source_id = 999999 WHERE source_id = $1', [s.sourceId])).toBe(
      '23503',
    );
    expect(await code(`DELETE FROM mhmtl.sources WHERE source_id = $1`, [s.sourceId])).toBe('23503');
    expect(await code('UPDATE mhmtl.sources SET source_id = 999999 WHERE source_id = $1', [s.sourceId])).toBe(
      '23503',
    );
    // A null source_id is fine; a source that no post names can be deleted.
    expect(await code(insert, [u!.user_id, null])).toBe('ok');
    const [free] = await rows<{ source_id: number }>(
      ctx.backend,
      `INSERT INTO mhmtl.sources (name, file_name, sha256, format, kind, started_at)
       VALUES ('free', 'free', 'x', 'jsonl', 'posts', now()) RETURNING source_id`,
    );
    expect(await code('DELETE FROM mhmtl.sources WHERE source_id = $1', [free!.source_id])).toBe('ok');
    const [n] = await rows<{ n: number }>(
      ctx.backend,
      'SELECT count(*)::int AS n FROM mhmtl.posts WHERE source_id = $1',
      [s.sourceId],
    );
    expect(n!.n).toBe(3);
  });

  it('--strict loads nothing from a file with rejects but records them', async () => {
    const s = await ingest(ctx.backend, path.join(BAD, 'bad-date.jsonl'), {
      strict: true,
      sourceName: 'strict',
    });
    expect(s.strictFailed).toBe(true);
    expect((await quarantine(ctx.backend, s.sourceId)).length).toBe(3);
    const [n] = await rows<{ n: number }>(
      ctx.backend,
      'SELECT count(*)::int AS n FROM mhmtl.posts WHERE source_id = $1',
      [s.sourceId],
    );
    expect(n!.n).toBe(0);
  });

  it('labels: long and wide forms, null kept unknown, the later file wins', async () => {
    const pseudo = await pseudonymizer(ctx.backend);
    const wide = await ingestFile(ctx.backend, path.join(BAD, 'labels-wide.jsonl'), { kind: 'labels' });
    expect(wide.labels.inserted).toBe(4);
    expect(wide.rejectedByReason).toEqual({ schema: 1 });
    expect((await quarantine(ctx.backend, wide.sourceId))[0]!.reason).toBe(
      'schema: labels.depression: must be one of 0, 1, null',
    );
    const later = await ingestFile(ctx.backend, path.join(BAD, 'labels-later.csv'), { kind: 'labels' });
    // bad-user-1 depression 1 -> 0, anxiety null -> 1; csv-user-1 depression 0 -> NA (null).
    expect(later.labels).toEqual({ inserted: 0, updated: 3, unchanged: 0 });
    const get = async (user: string) =>
      Object.fromEntries(
        (
          await rows<{ task: string; label: number | null }>(
            ctx.backend,
            'SELECT task, label FROM mhmtl.labels WHERE user_id = $1',
            [pseudo.user(user)],
          )
        ).map((r) => [r.task, r.label]),
      );
    expect(await get('bad-user-1')).toEqual({ depression: 0, anxiety: 1, gender: 0 });
    expect(await get('csv-user-1')).toEqual({ depression: null });
    const again = await ingestFile(ctx.backend, path.join(BAD, 'labels-later.csv'), { kind: 'labels' });
    expect(again.labels).toEqual({ inserted: 0, updated: 0, unchanged: 3 });
  });

  it('reddit: title + body, entities decoded, mapping to labels, moderator posts skipped, unmapped kept', async () => {
    const s = await ingestFile(ctx.backend, path.join(BAD, 'reddit.csv'), {
      kind: 'reddit',
      mapping: MAPPING,
    });
    expect(s.skipped).toEqual({ distinguished: 1 });
    expect(s.posts.inserted).toBe(4);
    expect(s.rejectedByReason).toEqual({ empty_text: 1 });
    expect(s.unlabelled).toBe(1);
    const pseudo = await pseudonymizer(ctx.backend);
    const unit = pseudo.post('aa1');
    const [post] = await rows<{ user_id: string; text: string; community: string }>(
      ctx.backend,
      'SELECT user_id, text, community FROM mhmtl.posts WHERE post_id = $1',
      [unit],
    );
    expect(post).toEqual({
      user_id: unit,
      text: 'cannot stop worrying & overthinking\n\nmy chest gets tight > every morning, thanks @user',
      community: 'FakeWorry',
    });
    const labels = await rows<{ user_id: string; task: string; label: number }>(
      ctx.backend,
      'SELECT user_id, task, label FROM mhmtl.labels WHERE user_id = ANY($1) ORDER BY user_id, task',
      [[pseudo.post('aa1'), pseudo.post('aa2'), pseudo.post('aa4'), pseudo.post('aa5')]],
    );
    const byUser = (id: string) =>
      Object.fromEntries(labels.filter((l) => l.user_id === pseudo.post(id)).map((l) => [l.task, l.label]));
    expect(byUser('aa1')).toEqual({ anxiety: 1, depression: 0 });
    expect(byUser('aa2')).toEqual({ anxiety: 0, depression: 1 });
    expect(byUser('aa4')).toEqual({ anxiety: 0, depression: 0 });
    expect(byUser('aa5')).toEqual({});
  });

  it('reddit with an author column: labels go to the author, a positive from any post is kept', async () => {
    const dir = tmp();
    const f = path.join(dir, 'authors.jsonl');
    const post = (id: string, subreddit: string) =>
      JSON.stringify({
        id,
        title: `t ${id}`,
        selftext: 'b',
        created_utc: 1362422233,
        subreddit,
        author: 'same_author',
      });
    writeFileSync(f, [post('au1', 'FakeSad'), post('au2', 'FakeWorry'), post('au3', 'FakeHappy')].join('\n'));
    await ingestFile(ctx.backend, f, { kind: 'reddit', mapping: MAPPING });
    const pseudo = await pseudonymizer(ctx.backend);
    const labels = await rows<{ task: string; label: number }>(
      ctx.backend,
      'SELECT task, label FROM mhmtl.labels WHERE user_id = $1 ORDER BY task',
      [pseudo.user('same_author')],
    );
    expect(labels).toEqual([
      { task: 'anxiety', label: 1 },
      { task: 'depression', label: 1 },
    ]);
  });

  it('MHMTL_PSEUDONYM_KEY overrides the stored key; the stored key is stable', async () => {
    const stored = await pseudonymizer(ctx.backend, {});
    expect(stored.keySource).toBe('database');
    expect((await pseudonymizer(ctx.backend, {})).user('x')).toBe(stored.user('x'));
    const env = await pseudonymizer(ctx.backend, { MHMTL_PSEUDONYM_KEY: 'override' });
    expect(env.keySource).toBe('environment');
    expect(env.user('x')).toBe(createPseudonymizer('override', 'environment').user('x'));
    expect(env.user('x')).not.toBe(stored.user('x'));
  });

  it('a missing file is one clear error', async () => {
    await expect(ingest(ctx.backend, path.join(BAD, 'no-such-file.jsonl'))).rejects.toThrow(
      /cannot read .*no-such-file\.jsonl: no such file/,
    );
  });

  it('privacy: no raw handle, e-mail, phone, URL or raw id from the fixtures is anywhere in the database', async () => {
    const manifest = (await generateCohort({ users: 300, seed: 42, maxPosts: 60, out: tmp() })).manifest;
    await ingest(ctx.backend, path.join(COHORT, 'posts.jsonl'));
    await ingestFile(ctx.backend, path.join(COHORT, 'labels.jsonl'), { kind: 'labels' });
    await ingest(ctx.backend, path.join(BAD, 'quoted-newlines.csv'), { columns: CSV_COLUMNS });
    await ingest(ctx.backend, path.join(BAD, 'malformed-json.jsonl'));
    await ingest(ctx.backend, path.join(BAD, 'schema-violation.jsonl'));
    await ingestFile(ctx.backend, path.join(BAD, 'reddit.csv'), { kind: 'reddit', mapping: MAPPING });
    const columns = await rows<{ table_name: string; column_name: string }>(
      ctx.backend,
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'mhmtl' AND data_type IN ('text', 'jsonb', 'ARRAY', 'character varying')`,
    );
    let dump = '';
    for (const c of columns) {
      const r = await rows<{ v: string | null }>(
        ctx.backend,
        `SELECT string_agg("${c.column_name}"::text, E'\\n') AS v FROM mhmtl."${c.table_name}"`,
      );
      dump += `${r[0]?.v ?? ''}\n`;
    }
    expect(dump).toContain('@user');
    expect(dump).toContain('<url>');
    const secrets = [
      ...manifest.handles,
      ...manifest.redditUsers,
      ...manifest.emails,
      ...manifest.phones,
      ...manifest.urls,
      ...manifest.userIds.map((u) => `"${u}"`),
      'dana.k77@examplemail.com',
      'lone_handle99',
      'quoted_handle',
      '(555) 010-7788',
      'quotedsite.org',
      'gzipped.example.com',
      'reddit_helper42',
      'myblog.example.com',
      'happy.person@examplemail.com',
      'broken_json_user',
      '555-010-9999',
      'x.y@examplemail.com',
      'csv_bad_handle',
    ];
    expect(manifest.emails.length).toBeGreaterThan(5);
    const found = secrets.filter((s) => dump.includes(s));
    expect(found).toEqual([]);
    // Nothing the scrubber recognizes is left in stored post text.
    const { scrubText } = await import('../../src/ingest/scrub.js');
    const texts = await rows<{ text: string }>(ctx.backend, 'SELECT text FROM mhmtl.posts');
    expect(texts.filter((t) => scrubText(t.text) !== t.text).map((t) => t.text)).toEqual([]);
  });
});

describe('openClean without a database', () => {
  it('yields clean pseudonymized rows for prediction', async () => {
    const pseudo = createPseudonymizer('k', 'environment');
    const clean = await openClean(path.join(BAD, 'posts.jsonl.gz'), { kind: 'posts' }, pseudo);
    const out = [];
    for await (const r of clean.rows) out.push(r);
    expect(out.map((r) => r.type)).toEqual(['post', 'post', 'post']);
    expect(out[0]).toMatchObject({ userId: pseudo.user('gz-user'), text: 'compressed post 1 see <url>' });
  });
});

describe('community mapping file', () => {
  it('an unreadable mapping file is one usage error (exit 2) in words', () => {
    const missing = path.join(makeTempDir('mhmtl-mapping-'), 'absent.json');
    let caught: unknown;
    try {
      loadMapping(missing);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MhmtlError);
    expect((caught as MhmtlError).exitCode).toBe(2);
    expect((caught as Error).message).toBe(`cannot read mapping file ${missing}: no such file`);
  });
});
