import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyError } from '../errors.js';

/** A held lock on an embedded data directory. */
export interface DirectoryLock {
  readonly file: string;
  release(): void;
}

/**
 * Take an exclusive, process-level lock on `dir` by creating `<dir>.lock` with O_EXCL and our pid.
 * A lock file left by a dead process (SIGKILL, power loss) is detected by its pid and taken over.
 * @param waitMs how long to keep trying while another live process holds it (milliseconds; 0: once).
 * @throws BusyError when the lock is still held after `waitMs`.
 */
export async function lockDirectory(dir: string, waitMs: number): Promise<DirectoryLock> {
  const file = `${dir}.lock`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const holder = tryCreate(file);
    if (holder === undefined) {
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    }
    if (!isAlive(holder)) {
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first; loop and try again
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new BusyError(`the embedded database ${dir} is in use by process ${holder} (lock file ${file})`);
    }
    await sleep(Math.min(250, Math.max(1, deadline - Date.now())));
  }
}

/** Create the lock file; undefined on success, else the pid of the holder (NaN if unreadable). */
function tryCreate(file: string): number | undefined {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    try {
      return Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      return Number.NaN;
    }
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
