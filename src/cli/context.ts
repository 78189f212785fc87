import type { Command } from 'commander';
import type { Backend } from '../db/backend.js';
import { type DatabaseConfig, resolveDatabaseConfig } from '../db/config.js';
import { type OpenOptions, withBackend } from '../db/open.js';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  verbose?: boolean;
}

/** The global options as seen from any (sub)command. */
export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** The database configuration from the global options and the environment. */
export function databaseConfig(command: Command): DatabaseConfig {
  const g = globalOptions(command);
  return resolveDatabaseConfig({ dataDir: g.dataDir, databaseUrl: g.databaseUrl });
}

/** Open the configured database (migrated), run `fn`, close. */
export function withDatabase<T>(
  command: Command,
  fn: (backend: Backend) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> {
  return withBackend(databaseConfig(command), fn, options);
}
