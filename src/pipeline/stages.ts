import { MhmtlError } from '../errors.js';
import type { Logger } from './log.js';

/** A run stopped at a stage boundary by SIGINT or SIGTERM (or another abort). */
export class RunInterruptedError extends MhmtlError {
  constructor(reason: string, exitCode = 1) {
    super(reason, exitCode);
    this.name = 'RunInterruptedError';
  }
}

/**
 * The error for an aborted run: the signal's reason (e.g. "interrupted by SIGTERM") and where it
 * stopped. The exit code is the reason's `exitCode` (128 + signal number, set by the CLI), else 1.
 */
export function interruption(signal: AbortSignal, where: string): RunInterruptedError {
  const reason = signal.reason as { message?: string; exitCode?: number } | undefined;
  const message = reason?.message ?? String(signal.reason);
  return new RunInterruptedError(`${message}; ${where}`, reason?.exitCode ?? 1);
}

/**
 * Runs the stages of one pipeline run in order: checks the abort signal at every stage boundary
 * (so SIGINT / SIGTERM stop cleanly between stages), times each stage (seconds) and logs it.
 */
export class StageRunner {
  /** Wall time of each finished stage, in seconds, in the order they ran. */
  readonly durations: Record<string, number> = {};
  /** The stage running now, if any. */
  current: string | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #log: Logger;

  constructor(log: Logger, signal?: AbortSignal) {
    this.#log = log;
    this.#signal = signal;
  }

  /** @throws RunInterruptedError when the signal fired before this boundary. */
  checkpoint(next: string): void {
    if (this.#signal?.aborted) {
      const reason =
        this.#signal.reason instanceof Error ? this.#signal.reason.message : String(this.#signal.reason);
      throw new RunInterruptedError(`${reason}; stopped before stage '${next}'`);
    }
  }

  /** Run one stage: checkpoint, time, log start and end. */
  async stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.checkpoint(name);
    this.#log.info(`stage ${name}: started`, { stage: name, event: 'stage_start' });
    const t0 = performance.now();
    this.current = name;
    const result = await fn();
    this.current = undefined;
    const seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
    this.durations[name] = seconds;
    this.#log.info(`stage ${name}: done in ${seconds.toFixed(1)} s`, {
      stage: name,
      event: 'stage_end',
      seconds,
    });
    return result;
  }
}
