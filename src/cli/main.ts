#!/usr/bin/env node
import { CommanderError } from 'commander';
import { MhmtlError } from '../errors.js';
import { loadModelHelp } from './model-help.js';
import { buildProgram } from './program.js';

/**
 * Entry point of the `mhmtl` binary. Exit codes: 0 success, 1 failure, 2 usage error,
 * 75 busy (another run or process holds the database). Errors are one line on stderr; the stack
 * trace follows only with `--verbose`.
 */
async function main(argv: string[]): Promise<number> {
  if (argv.slice(2).some((a) => a === '--help' || a === '-h' || a === 'help')) await loadModelHelp();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message and the usage hint.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return 0;
      return 2;
    }
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    const message = error instanceof Error ? error.message : String(error);
    const exitCode = error instanceof MhmtlError ? error.exitCode : 1;
    if (jsonLogs(argv)) {
      // stderr is a stream of JSON lines: the error is one more (pino's level 50), not plain text.
      const { createLogger } = await import('../pipeline/log.js');
      createLogger('json').error(message.split('\n')[0]!, {
        exit_code: exitCode,
        ...(verbose && error instanceof Error && error.stack ? { stack: error.stack } : {}),
      });
      return exitCode;
    }
    process.stderr.write(`mhmtl: ${message.split('\n')[0]}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCode;
  }
}

/** Whether the command line asks for JSON log lines (`--log-format json` or `--log-format=json`). */
function jsonLogs(argv: readonly string[]): boolean {
  const i = argv.indexOf('--log-format');
  return (i >= 0 && argv[i + 1] === 'json') || argv.includes('--log-format=json');
}

// A reader that stops early (`mhmtl sql ... | head`) is not a failure of the command: the rest of
// its output is dropped and the command finishes as it would have (a run is not cut short).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}

process.exitCode = await main(process.argv);
