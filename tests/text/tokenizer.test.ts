import { describe, expect, it } from 'vitest';
import { TOKENIZE_CHUNK, Tokenizer, tokenizerSignature } from '../../src/text/tokenizer.js';
import { copyTextArray, copyTokensOf, encodeBatch, encodeRows } from '../../src/text/copy.js';

const tokenizer = new Tokenizer();
const tok = (s: string) => tokenizer.tokenize(s);

describe('tokenizer golden cases', () => {
  it('keeps URLs, mentions, hashtags and e-mails whole, lowercased', () => {
    expect(tok('See https://Example.com/a?b=1 by @Someone #SadDay, mail Me@Mail.org')).toEqual([
      'see',
      'https://example.com/a?b=1',
      'by',
      '@someone',
      '#sadday',
      'mail',
      'me@mail.org',
    ]);
  });

  it('keeps each scrub placeholder as exactly one token', () => {
    expect(tok('ask @user at <url> or <email> or <phone>!')).toEqual([
      'ask',
      '@user',
      'at',
      '<url>',
      'or',
      '<email>',
      'or',
      '<phone>',
    ]);
    expect(tok('x<url>y <url><url> @user:')).toEqual(['x', '<url>', 'y', '<url>', '<url>', '@user']);
    // A contraction tail is never glued to a placeholder.
    expect(tok("@user's post")).toEqual(['@user', "'s", 'post']);
  });

  it('rejoins contractions to their surface form, lowercased, with straight apostrophes', () => {
    expect(tok("I Can't, won't; don't. I'm she's they'll we'd you've we're")).toEqual([
      'i',
      "can't",
      "won't",
      "don't",
      "i'm",
      "she's",
      "they'll",
      "we'd",
      "you've",
      "we're",
    ]);
    expect(tok('Don’t it’s')).toEqual(["don't", "it's"]);
    expect(tok("the 's thing")).toEqual(['the', "'s", 'thing']);
  });

  it('keeps accented letters and non-Latin scripts whole', () => {
    expect(tok('Café naïve Ελληνικά Привет مرحبا नमस्ते 你好世界')).toEqual([
      'café',
      'naïve',
      'ελληνικά',
      'привет',
      'مرحبا',
      'नमस्ते',
      '你好世界',
    ]);
  });

  it('keeps emoji with skin tone, ZWJ sequences, flags and keycaps as one token each', () => {
    expect(tok('hi 👍🏽 fam 👨‍👩‍👧 🏳️‍🌈 ❤️ 👋🏿x 🇺🇸🇬🇧 1️⃣ 😂😂')).toEqual([
      'hi',
      '👍🏽',
      'fam',
      '👨‍👩‍👧',
      '🏳️‍🌈',
      '❤️',
      '👋🏿',
      'x',
      '🇺🇸',
      '🇬🇧',
      '1️⃣',
      '😂',
      '😂',
    ]);
  });

  it('keeps emoticons whole and in their case; drops punctuation by default', () => {
    // 'xD' is a word to wink, so it is lowercased.
    expect(tok('ok :) :-( <3 ;) :D xD ... !!!')).toEqual(['ok', ':)', ':-(', '<3', ';)', ':D', 'xd']);
    expect(new Tokenizer({ punctuation: true }).tokenize('so... ok!')).toEqual(['so', '...', 'ok', '!']);
  });

  it('drops whitespace and handles empty text', () => {
    expect(tok('a\n\n\tb   c')).toEqual(['a', 'b', 'c']);
    expect(tok('')).toEqual([]);
  });

  it('signs the configuration', () => {
    const a = tokenizerSignature({ punctuation: false });
    const b = tokenizerSignature({ punctuation: true });
    expect(a.name).toBe('mhmtl-wink');
    expect(a.version).toMatch(/^1 wink-nlp\/\d+\.\d+\.\d+ model\/\d+\.\d+\.\d+$/);
    expect(a.configHash).toMatch(/^[0-9a-f]{16}$/);
    expect(a.configHash).not.toBe(b.configHash);
  });
});

describe('batch tokenization', () => {
  const CASES = [
    'See https://Example.com/a?b=1 by @Someone #SadDay, mail Me@Mail.org',
    'ask @user at <url> or <email> or <phone>!',
    'x<url>y <url><url> @user:',
    "@user's post <url>'s",
    "I Can't, won't; don't. I'm she's they'll we'd you've we're",
    'Don’t it’s',
    "the 's thing",
    'Café naïve Ελληνικά Привет مرحبا नमस्ते 你好世界',
    'hi 👍🏽 fam 👨‍👩‍👧 🏳️‍🌈 ❤️ 👋🏿x 🇺🇸🇬🇧 1️⃣ 😂😂 👨‍Abc',
    'ok :) :-( <3 ;) :D xD ... !!!',
    'a\n\n\tb   c',
    '',
    '<url>',
    ' <phone> ',
    'separator \u0003 inside',
    'CAN’T STOP 🇺🇸',
    'tabs\tand\r\nnewlines\u00a0nbsp',
  ];

  it('gives exactly the tokens of one-at-a-time tokenization, in order', () => {
    for (const punctuation of [false, true]) {
      const one = new Tokenizer({ punctuation });
      const many = new Tokenizer({ punctuation });
      const texts = [...CASES, ...CASES.map((c, i) => `${c} ${CASES[(i + 3) % CASES.length]}`)];
      const expected = texts.map((t) => one.tokenize(t));
      expect(many.tokenizeMany(texts)).toEqual(expected);
      // Again (the per-id tables are filled now), and in smaller batches.
      expect([...many.tokenizeMany(texts.slice(0, 5)), ...many.tokenizeMany(texts.slice(5))]).toEqual(
        expected,
      );
      expect(many.tokenizeMany([])).toEqual([]);
    }
  });

  it('gives the same tokens across its wink-document chunks (more texts than TOKENIZE_CHUNK)', () => {
    const one = new Tokenizer();
    // Pairs of cases, so every case lands at every offset, and on both sides of a chunk edge.
    const texts = Array.from(
      { length: 2 * TOKENIZE_CHUNK + 7 },
      (_, i) => `${CASES[i % CASES.length]} ${CASES[(i * 7) % CASES.length]}`,
    );
    expect(new Tokenizer().tokenizeMany(texts)).toEqual(texts.map((t) => one.tokenize(t)));
  });
});

describe('COPY encoding of a batch', () => {
  it('encodes each text as copyTextArray of its tokens, one line per text', () => {
    const tk = new Tokenizer();
    const texts = ['plain words here', 'back\\slash and "quotes"', '', 'tab\there <url>', "can't"];
    const tokens = texts.map((t) => tk.tokenize(t));
    for (let i = 0; i < texts.length; i++) {
      expect(copyTokensOf(texts[i]!, tokens[i]!)).toBe(copyTextArray(tokens[i]!));
    }
    const keys = texts.map((_, i) => `u\t${i}`);
    const rows = encodeRows(tk, keys, texts, '\tsig\t');
    expect(rows.total).toBe(tokens.reduce((a, t) => a + t.length, 0));
    expect(rows.data).toBe(
      texts.map((_, i) => `u\t${i}\tsig\t${copyTextArray(tokens[i]!)}\t${tokens[i]!.length}\n`).join(''),
    );
    const batch = encodeBatch(tk, texts);
    expect(batch.literals).toEqual(tokens.map((t) => copyTextArray(t)));
    expect(Array.from(batch.counts)).toEqual(tokens.map((t) => t.length));
  });
});
