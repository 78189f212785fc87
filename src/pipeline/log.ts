import { pino } from 'pino';

/** Log line formats: human-readable text, or one JSON object per line (pino) for machines. */
export type LogFormat = 'text' | 'json';

/** A minimal structured logger; every stage message goes through it (to stderr). */
export interface Logger {
  /** Detail shown only with `verbose` (text) or always (json, at level debug). */
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Create a logger writing to stderr: `text` prints the message lines (info not when `quiet`, debug
 * only when `verbose`); `json` prints pino's JSON lines (`level`, `time`, `msg` and the fields).
 */
export function createLogger(
  format: LogFormat = 'text',
  options: { quiet?: boolean; verbose?: boolean } = {},
): Logger {
  if (format === 'json') {
    // JSON logs carry debug events too (a failed or skipped run's status): machines filter by level.
    const level = options.quiet ? 'warn' : 'debug';
    // Synchronous writes: lines keep their order across loggers (the CLI's final error line is
    // written by another one) and none is lost when the process exits at once (a second signal).
    const log = pino({ base: undefined, level }, pino.destination({ dest: 2, sync: true }));
    return {
      debug: (m, f) => log.debug(f ?? {}, m),
      info: (m, f) => log.info(f ?? {}, m),
      warn: (m, f) => log.warn(f ?? {}, m),
      error: (m, f) => log.error(f ?? {}, m),
    };
  }
  // Text lines carry the message only: the fields are for machines (json).
  const line = (m: string) => process.stderr.write(`${m}\n`);
  return {
    debug: (m) => {
      if (options.verbose && !options.quiet) line(m);
    },
    info: (m) => {
      if (!options.quiet) line(m);
    },
    warn: (m) => line(`warning: ${m}`),
    error: (m) => line(`error: ${m}`),
  };
}
