export type { Backend, BackendName, Session } from './backend.js';
export { encodeCopyText } from './backend.js';
export type { DatabaseConfig, DatabaseOptions } from './config.js';
export { describeLocation, maskUrl, resolveDatabaseConfig } from './config.js';
export { currentSchemaVersion, LATEST_SCHEMA_VERSION, migrateToLatest, SCHEMA } from './migrate.js';
export { openBackend, withBackend } from './open.js';
export type { Database } from './schema.js';
export { databaseStatus } from './status.js';
