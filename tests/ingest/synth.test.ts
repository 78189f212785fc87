import { readFileSync } from 'node:fs';
import { makeTempDir } from '../helpers/tmp.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../src/evaluate/metrics.js';
import { generateCohort } from '../../src/synth/generate.js';
import { CONDITION_PHRASES } from '../../src/synth/lexicon.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/cohort');

describe('synthetic cohort generator', () => {
  it('reproduces the committed fixture byte for byte (same seed, same bytes)', async () => {
    const out = makeTempDir('mhmtl-synth-');
    const r = await generateCohort({ users: 300, seed: 42, maxPosts: 60, out });
    expect(readFileSync(r.postsFile).equals(readFileSync(path.join(FIXTURE, 'posts.jsonl')))).toBe(true);
    expect(readFileSync(r.labelsFile).equals(readFileSync(path.join(FIXTURE, 'labels.jsonl')))).toBe(true);
    const other = await generateCohort({ users: 300, seed: 43, maxPosts: 60, out: path.join(out, 'b') });
    expect(readFileSync(other.postsFile).equals(readFileSync(r.postsFile))).toBe(false);
  });

  it('has roughly Benton et al.s prevalences, 5..200 posts, null labels and comorbidity', async () => {
    const out = makeTempDir('mhmtl-synth-');
    const n = 4000;
    const r = await generateCohort({ users: n, seed: 7, out, minPosts: 5, maxPosts: 8 });
    const expected: Record<string, number> = {
      neurotypical: 0.5,
      anxiety: 0.25,
      depression: 0.15,
      suicide_attempt: 0.13,
      eating_disorder: 0.08,
      schizophrenia: 0.036,
      panic: 0.027,
      ptsd: 0.026,
      bipolar: 0.02,
    };
    // Positives counted among non-null labels (5% null).
    for (const [task, p] of Object.entries(expected)) {
      const observed = (r.positives[task] ?? 0) / (n * 0.95);
      expect(Math.abs(observed - p), task).toBeLessThan(Math.max(0.02, p * 0.35));
    }
    const labels = readFileSync(r.labelsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(labels.filter((l) => l.label === null).length).toBeGreaterThan(n * 0.03);
    const by = new Map<string, Record<string, number | null>>();
    for (const l of labels) by.set(l.user_id, { ...(by.get(l.user_id) ?? {}), [l.task]: l.label });
    const users = [...by.values()];
    const pAnxGivenPanic =
      users.filter((u) => u.panic === 1 && u.anxiety === 1).length /
      users.filter((u) => u.panic === 1).length;
    // Anxiety among panic users far above its 25% base rate.
    expect(pAnxGivenPanic).toBeGreaterThan(0.45);
    const counts = new Map<string, number>();
    for (const line of readFileSync(r.postsFile, 'utf8').trim().split('\n')) {
      const id = JSON.parse(line).user_id as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(5);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(8);
  });

  it('the committed cohort carries learnable signal for depression and anxiety', () => {
    const posts = readFileSync(path.join(FIXTURE, 'posts.jsonl'), 'utf8').trim().split('\n');
    const text = new Map<string, string>();
    for (const line of posts) {
      const p = JSON.parse(line) as { user_id: string; text: string };
      text.set(p.user_id, `${text.get(p.user_id) ?? ''} ${p.text}`);
    }
    const labels = readFileSync(path.join(FIXTURE, 'labels.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const task of ['depression', 'anxiety'] as const) {
      const rows = labels.filter((l) => l.task === task && l.label !== null);
      const scores = rows.map((l) => {
        const t = text.get(l.user_id) ?? '';
        return CONDITION_PHRASES[task].reduce((n, w) => n + t.split(w).length - 1, 0) / t.length;
      });
      const auc = rocAuc(
        scores,
        rows.map((l) => l.label as number),
      );
      expect(auc, task).toBeGreaterThan(0.75);
    }
  });
});
