import path from 'node:path';

/** Where the database lives: an embedded PGlite directory, or a PostgreSQL server URL. */
export type DatabaseConfig =
  | { readonly kind: 'embedded'; readonly dataDir: string; readonly settings?: EmbeddedSettings }
  | { readonly kind: 'embedded-memory'; readonly settings?: EmbeddedSettings }
  | { readonly kind: 'server'; readonly url: string };

/** PostgreSQL settings (`name` -> `value`, as in postgresql.conf) the embedded server starts with. */
export type EmbeddedSettings = Readonly<Record<string, string>>;

/**
 * What the embedded server starts with unless `MHMTL_PGLITE_SETTINGS` says otherwise.
 * `shared_buffers` is 32MB instead of PostgreSQL's 128MB: PGlite's shared memory lives in its
 * WebAssembly heap, which never shrinks, and a 128MB pool is filled by any large ingest. Measured
 * on a 107 MiB posts file (`npm run bench -- --sizes 500 --stages ingest_memory --backend pglite
 * --memory-file-mb 100`): peak RSS of the in-process ingest 493 MB at 128MB, 370 MB at 32MB, at the
 * same rows/s (21.5k vs 21.2k); the files underneath stay in the operating system's page cache.
 */
export const EMBEDDED_DEFAULT_SETTINGS: EmbeddedSettings = { shared_buffers: '32MB' };

const SETTING = /^([A-Za-z_][A-Za-z0-9_.]*)=(\S+)$/;

/**
 * Parse embedded server settings written as `name=value` pairs separated by spaces or commas,
 * e.g. `shared_buffers=128MB work_mem=16MB` (the format of `MHMTL_PGLITE_SETTINGS`). PostgreSQL
 * itself checks names and values when the database opens.
 * @throws Error naming the pair that is not `name=value`.
 */
export function parseEmbeddedSettings(text: string): EmbeddedSettings {
  const settings: Record<string, string> = {};
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const m = SETTING.exec(pair);
    if (!m) {
      throw new Error(
        `MHMTL_PGLITE_SETTINGS: expected name=value pairs separated by spaces or commas, e.g. shared_buffers=64MB (got "${pair}")`,
      );
    }
    settings[m[1]!] = m[2]!;
  }
  return settings;
}

/** Options a user can give on the command line; environment variables fill the gaps. */
export interface DatabaseOptions {
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
}

/** The default embedded data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = './mhmtl-data';

/**
 * Resolve the database configuration. Precedence: `--database-url`, then `--data-dir`, then
 * `DATABASE_URL`, then `MHMTL_DATA_DIR`, then `./mhmtl-data` (embedded). An embedded database
 * starts with {@link EMBEDDED_DEFAULT_SETTINGS} overridden by `MHMTL_PGLITE_SETTINGS`.
 * @throws Error when a database URL is not a `postgres://` or `postgresql://` URL, or when
 *   `MHMTL_PGLITE_SETTINGS` is not a list of `name=value` pairs.
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
  const settings = {
    ...EMBEDDED_DEFAULT_SETTINGS,
    ...parseEmbeddedSettings(env.MHMTL_PGLITE_SETTINGS ?? ''),
  };
  if (dataDir === ':memory:') return { kind: 'embedded-memory', settings };
  return { kind: 'embedded', dataDir: path.resolve(dataDir), settings };
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
