import type { Backend } from './backend.js';
import { type DatabaseConfig, EMBEDDED_DEFAULT_SETTINGS } from './config.js';
import { migrateToLatest } from './migrate.js';
import { PGliteBackend } from './pglite-backend.js';
import { PostgresBackend } from './postgres-backend.js';

/** How to open a backend. */
export interface OpenOptions {
  /** Apply pending migrations after connecting (default true: every command that needs the schema). */
  migrate?: boolean;
  /** Embedded only: how long to wait for another process to release the data directory (ms). */
  waitMs?: number;
}

/**
 * Open the backend the configuration names, and (by default) migrate it to the latest schema.
 * @throws BusyError when an embedded directory is held by another process; Error when a server
 *   does not answer or a migration fails.
 */
export async function openBackend(config: DatabaseConfig, options: OpenOptions = {}): Promise<Backend> {
  const backend =
    config.kind === 'server'
      ? await PostgresBackend.open(config.url)
      : await PGliteBackend.open(config.kind === 'embedded' ? config.dataDir : undefined, {
          ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
          settings: config.settings ?? EMBEDDED_DEFAULT_SETTINGS,
        });
  if (options.migrate ?? true) {
    try {
      await migrateToLatest(backend.db);
    } catch (error) {
      await backend.close();
      throw error;
    }
  }
  return backend;
}

/** Open, run `fn`, and always close. */
export async function withBackend<T>(
  config: DatabaseConfig,
  fn: (backend: Backend) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> {
  const backend = await openBackend(config, options);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}
