import { describe, expect, it } from 'vitest';
import { Analyzer, BOUNDARY } from '../../src/features/analyzer.js';
import { DEFAULT_FEATURE_CONFIG, resolveFeatureConfig } from '../../src/features/config.js';
import { MaskSet, maskedTermProblem } from '../../src/features/masking.js';

const tokens = (s: string) => s.split(' ');
/** The tokens left after masking with `terms` (removed spans shown as '|'). */
function masked(terms: string[], text: string): string {
  const a = new Analyzer({ ...DEFAULT_FEATURE_CONFIG, masked_terms: terms });
  return a
    .normalize(tokens(text))
    .map((t) => (t === BOUNDARY ? '|' : t))
    .join(' ');
}

describe('masked terms: exact, prefix, regular expression', () => {
  it('an exact term removes the token in any case, as #term and r/term, and nothing longer', () => {
    expect(masked(['depression'], 'Depression #depression r/depression depressions ok')).toBe(
      '| | | depressions ok',
    );
  });

  it('a prefix removes every token that starts with it, as #term and r/term too', () => {
    expect(masked(['depress*'], 'Depressed #DEPRESSION r/depression depress expressed ok')).toBe(
      '| | | | expressed ok',
    );
  });

  it('a regular expression must match the whole token, case-insensitively', () => {
    expect(masked(['/suicid\\w*/'], 'Suicidal #suicide r/SuicideWatch suicid presuicidal ok')).toBe(
      '| | | | presuicidal ok',
    );
    // anchored: /suicid/ is the token "suicid", not every token containing it
    expect(masked(['/suicid/'], 'suicid suicidal')).toBe('| suicidal');
  });

  it('a multi-word term with a prefix word removes the whole span, the longest match first', () => {
    expect(masked(['panic attack*', 'panic'], 'my Panic Attacks and panic now')).toBe('my | and | now');
  });

  it('a malformed regular expression is named with the engine message', () => {
    expect(maskedTermProblem('/suicid(e/')).toMatch(
      /^\/suicid\(e\/: Invalid regular expression: .*Unterminated group/,
    );
    expect(maskedTermProblem('*')).toMatch(/must end a word/);
    expect(maskedTermProblem('depress*')).toBeNull();
    expect(() => resolveFeatureConfig({ masked_terms: ['/a[/'] })).toThrow(
      /masked_terms: \/a\[\/: Invalid regular expression/,
    );
  });

  it('MaskSet.match returns how many tokens the longest term covers', () => {
    const m = new MaskSet(['suicide watch', 'suicid*', '/r\\d+/']);
    expect(m.match(tokens('suicide watch now'), 0)).toBe(2);
    expect(m.match(tokens('suicidal watch'), 0)).toBe(1);
    expect(m.match(tokens('a r2d2 r22'), 1)).toBe(0);
    expect(m.match(tokens('a r2d2 r22'), 2)).toBe(1);
  });
});
