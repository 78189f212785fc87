import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { generateCohort } from '../../synth/generate.js';

function int(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${name} must be an integer >= ${min} (got '${value}')`);
  return n;
}

/** `mhmtl fixtures generate`: write a synthetic cohort (posts.jsonl, labels.jsonl). */
export function registerFixturesCommand(program: Command): void {
  const fixtures = program
    .command('fixtures')
    .description('synthetic cohorts for tests, demos and benchmarks');
  fixtures
    .command('generate')
    .description('write posts.jsonl and labels.jsonl of a synthetic cohort (same seed, same bytes)')
    .requiredOption('--users <n>', 'number of users')
    .requiredOption('--out <dir>', 'output directory')
    .option('--seed <s>', 'PRNG seed', '1')
    .option('--min-posts <n>', 'fewest posts per user', '5')
    .option('--max-posts <n>', 'most posts per user', '200')
    .option('--signal-rate <p>', 'probability a post carries one condition phrase', '0.3')
    .option('--quiet', 'print nothing')
    .action(
      async (opts: {
        users: string;
        out: string;
        seed: string;
        minPosts: string;
        maxPosts: string;
        signalRate: string;
        quiet?: boolean;
      }) => {
        const signalRate = Number(opts.signalRate);
        if (!(signalRate >= 0 && signalRate <= 1)) throw new UsageError('--signal-rate must be in [0, 1]');
        const started = Date.now();
        const result = await generateCohort({
          users: int('--users', opts.users, 1)!,
          seed: int('--seed', opts.seed, 0)!,
          out: opts.out,
          minPosts: int('--min-posts', opts.minPosts, 1)!,
          maxPosts: int('--max-posts', opts.maxPosts, 1)!,
          signalRate,
        });
        if (!opts.quiet) {
          const s = (Date.now() - started) / 1000;
          process.stdout.write(
            `wrote ${result.users} users, ${result.posts} posts to ${result.postsFile} and ${result.labelsFile} in ${s.toFixed(1)} s\n` +
              `positives: ${Object.entries(result.positives)
                .map(([t, n]) => `${t} ${n}`)
                .join(', ')}\n`,
          );
        }
      },
    );
}
