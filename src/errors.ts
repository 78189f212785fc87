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

/** Words for the file-system error codes a user meets when naming a file. */
const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'not a regular file',
  ENOTDIR: 'a parent is not a folder',
};

/**
 * The one-line error for a file that cannot be read: "cannot read <what> <file>: no such file"
 * (the reason in words for ENOENT, EACCES/EPERM, EISDIR, ENOTDIR; else the error's message).
 * Exit code 1, or 2 when the file was named by an option (a usage error).
 */
export function cannotRead(file: string, error: unknown, what = '', exitCode: 1 | 2 = 1): MhmtlError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && FS_REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
  return new MhmtlError(`cannot read ${what ? `${what} ` : ''}${file}: ${reason}`, exitCode, {
    cause: error,
  });
}
