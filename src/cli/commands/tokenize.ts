import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { withDatabase } from '../context.js';

function positiveInt(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${name} must be an integer >= ${min} (got '${value}')`);
  return n;
}

/** `mhmtl tokenize`: tokenize every post not yet tokenized by the current tokenizer. */
export function registerTokenizeCommand(program: Command): void {
  program
    .command('tokenize')
    .description(
      'tokenize every post not yet tokenized by the current tokenizer (wink-nlp) into mhmtl.post_tokens; incremental',
    )
    .option('--workers <n>', 'worker threads (0: in this thread; default: one per core)')
    .option('--batch-size <n>', 'posts per batch', '2000')
    .option('--punctuation', 'keep punctuation tokens (a different tokenizer configuration: re-tokenizes)')
    .option('-q, --quiet', 'print nothing but errors (no progress, no summary)')
    .action(
      async (
        opts: { workers?: string; batchSize: string; punctuation?: boolean; quiet?: boolean },
        cmd: Command,
      ) => {
        // undefined: tokenizePosts's default, one worker per core
        const workers = opts.workers === undefined ? undefined : positiveInt('--workers', opts.workers, 0);
        const batchSize = positiveInt('--batch-size', opts.batchSize, 1);
        await withDatabase(cmd, async (backend) => {
          let last = 0;
          const { tokenizePosts } = await import('../../text/tokenize-posts.js');
          const summary = await tokenizePosts(backend, {
            ...(workers === undefined ? {} : { workers }),
            batchSize,
            config: { punctuation: opts.punctuation === true },
            onProgress: opts.quiet
              ? undefined
              : (p) => {
                  const now = Date.now();
                  if (now - last < 1000 && p.done < p.total) return;
                  last = now;
                  process.stderr.write(`tokenize: ${p.done}/${p.total} posts, ${p.tokens} tokens\n`);
                },
          });
          if (opts.quiet) return;
          const rate = Math.round(summary.tokensPerSecond);
          process.stdout.write(
            summary.posts === 0
              ? `tokenize: up to date (${summary.tokenizer} ${summary.tokenizerVersion} ${summary.configHash})\n`
              : `tokenize: ${summary.posts} posts, ${summary.tokens} tokens in ${summary.seconds.toFixed(1)} s ` +
                  `(${rate} tokens/s, ${summary.workers} workers${summary.stale ? `, ${summary.stale} stale re-tokenized` : ''})\n`,
          );
        });
      },
    );
}
