import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import {
  createPseudonymizer,
  parseCreatedAt,
  scrubText,
  truncateCodePoints,
} from '../../src/ingest/index.js';
import { emptyScrubCounts } from '../../src/ingest/scrub.js';

describe('scrubText', () => {
  it('replaces handles, u/names, URLs, e-mails and phone numbers with placeholders', () => {
    const counts = emptyScrubCounts();
    const out = scrubText(
      'hey @jessie_92, mail jessie.m92@examplemail.com, see https://www.example.com/a?b=1. and www.foo.org/bar ' +
        'bit.ly/3xYz imgur.com (call (555) 013-2244 or +44 7700 900123) thanks u/throwaway_4821 and /u/Some-One',
      counts,
    );
    expect(out).toBe(
      'hey @user, mail <email>, see <url>. and <url> <url> <url> (call <phone> or <phone>) thanks @user and @user',
    );
    expect(counts).toEqual({ user: 3, url: 4, email: 1, phone: 2 });
  });

  it('keeps subreddits, hashtags, dates, times, plain numbers, file names', () => {
    const s =
      'r/depression #mentalhealth on 2015-03-14 at 10:30, paid 1,000,000; 12345678; e.g. file.txt node.js 3.14';
    expect(scrubText(s)).toBe(s);
  });

  it('handles accented and non-Latin handles', () => {
    expect(scrubText('merci @Émilie_b et @иван')).toBe('merci @user et @user');
  });
});

describe('pseudonyms, dates, truncation', () => {
  it('is HMAC-SHA256 of kind:id under the key, stable, distinct per kind and key', () => {
    const p = createPseudonymizer('secret', 'environment');
    const expected = createHmac('sha256', 'secret').update('user:alice').digest('hex').slice(0, 32);
    expect(p.user('alice')).toBe(expected);
    expect(p.user('alice')).toBe(expected);
    expect(p.post('alice')).not.toBe(expected);
    expect(createPseudonymizer('other', 'environment').user('alice')).not.toBe(expected);
  });

  it('parses ISO-8601 with offset and epoch seconds, refuses the rest', () => {
    expect(parseCreatedAt('2015-03-14T09:26:53+01:00')).toBe('2015-03-14T08:26:53.000Z');
    expect(parseCreatedAt(1362422233)).toBe('2013-03-04T18:37:13.000Z');
    expect(parseCreatedAt('1362422233.0')).toBe('2013-03-04T18:37:13.000Z');
    for (const bad of ['2015-02-30T10:00:00Z', '2015-03-14T09:26:53', 'last tuesday', '', null, {}]) {
      expect(parseCreatedAt(bad)).toBeNull();
    }
  });

  it('truncates on a code-point boundary', () => {
    expect(truncateCodePoints('ab😀cd', 3)).toEqual({ text: 'ab😀', truncated: true });
    expect(truncateCodePoints('ab😀', 3)).toEqual({ text: 'ab😀', truncated: false });
  });
});
