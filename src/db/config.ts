import path from 'node:path';

/** Where the database lives: an embedded PGlite directory, or a PostgreSQL server URL. */
export type DatabaseConfig =
  | { readonly kind: 'embedded'; readonly dataDir: string }
  | { readonly kind: 'embedded-memory' }
  | { readonly kind: 'server'; readonly url: string };

/** Options a user can give on the command line; environment variables fill the gaps. */
export interface DatabaseOptions {
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
}

/** The default embedded data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = './mhmtl-data';

/**
 * Resolve the database configuration. Precedence: `--database-url`, then `--data-dir`, then
 * `DATABASE_URL`, then `MHMTL_DATA_DIR`, then `./mhmtl-data` (embedded).
 * @throws Error when a database URL is not a `postgres://` or `postgresql://` URL.
 */
export function resolveDatabaseConfig(
  options: DatabaseOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): DatabaseConfig {
  const url = options.databaseUrl ?? (options.dataDir ? undefined : env.DATABASE_URL);
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new Error(`database URL must start with postgres:// or postgresql:// (got ${maskUrl(url)})`);
    }
    return { kind: 'server', url };
  }
  const dataDir = options.dataDir ?? env.MHMTL_DATA_DIR ?? DEFAULT_DATA_DIR;
  if (dataDir === ':memory:') return { kind: 'embedded-memory' };
  return { kind: 'embedded', dataDir: path.resolve(dataDir) };
}

/** A URL with its password replaced by `****`, safe to print and store. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:****@');
  }
}

/** A human-readable location of the database (password masked). */
export function describeLocation(config: DatabaseConfig): string {
  switch (config.kind) {
    case 'server':
      return maskUrl(config.url);
    case 'embedded':
      return config.dataDir;
    case 'embedded-memory':
      return ':memory:';
  }
}
