import cliProgress from 'cli-progress';

/** A stage's progress report (rows handled; input bytes read and total, when known). */
export interface ProgressUpdate {
  rows: number;
  bytes?: number;
  totalBytes?: number;
}

/** Renders one stage's progress; `done` ends the bar and prints a summary line (unless quiet). */
export interface ProgressRenderer {
  update(p: ProgressUpdate): void;
  done(summaryLine?: string): void;
}

/** Options of {@link createProgressRenderer}. */
export interface ProgressOptions {
  /** Shown before the bar or line, e.g. 'ingest posts.jsonl'. */
  label: string;
  /** What rows are, e.g. 'rows', 'posts', 'tokens'. */
  unit?: string;
  /** Print nothing at all. */
  quiet?: boolean;
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Plain mode: seconds between lines (default 5). */
  intervalSeconds?: number;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Progress for any stage that reports `{ rows, bytes?, totalBytes? }`: a cli-progress bar on a
 * TTY (over bytes when the total is known, with rows and rows/s), a plain line every few seconds
 * when not a TTY (logs, CI), nothing with `quiet`. Stages take an `onProgress` callback and never
 * import this module.
 */
export function createProgressRenderer(options: ProgressOptions): ProgressRenderer {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'rows';
  const started = Date.now();
  if (options.quiet) return { update() {}, done() {} };
  const rate = (rows: number) => Math.round(rows / Math.max(1e-3, (Date.now() - started) / 1000));

  if (stream.isTTY) {
    let bar: cliProgress.SingleBar | undefined;
    return {
      update(p) {
        const total = p.totalBytes ?? 0;
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              stream,
              format: `${options.label} [{bar}] {percentage}% | {rows} ${unit} | {rate} ${unit}/s | {mb}`,
              hideCursor: true,
              clearOnComplete: true,
              fps: 5,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.max(1, total), 0, { rows: 0, rate: 0, mb: '' });
        }
        bar.update(p.bytes ?? 0, {
          rows: p.rows,
          rate: rate(p.rows),
          mb: p.bytes !== undefined ? `${mb(p.bytes)}${total ? ` / ${mb(total)}` : ''}` : '',
        });
      },
      done(summaryLine) {
        bar?.stop();
        if (summaryLine) stream.write(`${summaryLine}\n`);
      },
    };
  }

  const interval = (options.intervalSeconds ?? 5) * 1000;
  let last = started;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      const pct =
        p.totalBytes && p.bytes !== undefined ? ` (${Math.round((100 * p.bytes) / p.totalBytes)}%)` : '';
      stream.write(`${options.label}: ${p.rows} ${unit}${pct}, ${rate(p.rows)} ${unit}/s\n`);
    },
    done(summaryLine) {
      if (summaryLine) stream.write(`${summaryLine}\n`);
    },
  };
}
