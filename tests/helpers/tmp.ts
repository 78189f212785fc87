import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const created = new Set<string>();

/**
 * A new empty folder under the system temp dir, removed after the test file's tests
 * (tests/helpers/setup.ts), so test runs leave nothing behind.
 */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.add(dir);
  return dir;
}

/** Remove every folder {@link makeTempDir} made (called by the setup file's afterAll). */
export function removeTempDirs(): void {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
  created.clear();
}
