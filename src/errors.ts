/**
 * Errors that carry their own process exit code, so the CLI can map them without knowing where
 * they came from. Any other thrown error exits 1.
 */
export class MhmtlError extends Error {
  /** The process exit code this error maps to (1 failure, 2 usage, 75 busy). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MhmtlError';
    this.exitCode = exitCode;
  }
}

/** Bad command-line usage or configuration: exit 2. */
export class UsageError extends MhmtlError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/**
 * Another process holds the database or the run lock: exit 75 (EX_TEMPFAIL in sysexits.h, so
 * that schedulers treat it as "try again later", not as a failure).
 */
export class BusyError extends MhmtlError {
  constructor(message: string) {
    super(message, 75);
    this.name = 'BusyError';
  }
}
