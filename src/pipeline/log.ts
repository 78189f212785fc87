import { pino } from 'pino';

/** Log line formats: human-readable text, or one JSON object per line (pino) for machines. */
export type LogFormat = 'text' | 'json';

/** A minimal structured logger; every stage message goes through it (to stderr). */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Create a logger writing to stderr: `text` prints `message key=value ...` lines (nothing for info
 * when `quiet`); `json` prints pino's JSON lines (`level`, `time`, `msg` and the fields).
 */
export function createLogger(format: LogFormat = 'text', options: { quiet?: boolean } = {}): Logger {
  if (format === 'json') {
    const log = pino({ base: undefined, level: options.quiet ? 'warn' : 'info' }, pino.destination(2));
    return {
      info: (m, f) => log.info(f ?? {}, m),
      warn: (m, f) => log.warn(f ?? {}, m),
      error: (m, f) => log.error(f ?? {}, m),
    };
  }
  const line = (m: string, f?: Record<string, unknown>) => {
    const extra = f
      ? Object.entries(f)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
          .join(' ')
      : '';
    process.stderr.write(`${m}${extra ? ` ${extra}` : ''}\n`);
  };
  return {
    info: (m, f) => {
      if (!options.quiet) line(m, f);
    },
    warn: (m, f) => line(`warning: ${m}`, f),
    error: (m, f) => line(`error: ${m}`, f),
  };
}
