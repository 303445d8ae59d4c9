/** Agent configuration: schema and types. Loading from a file happens in the CLI. */
export { LOG_LEVELS, type LogLevel } from '../../process/index.js';
export { type PermissionsConfig, permissionsSchema } from './permissions.js';
export { type AgentConfig, agentConfigSchema } from './schema.js';
export type { CanSourceConfig, GnssSourceConfig, ObdSourceConfig, SourcesConfig } from './sources.js';
export {
  type StorageConfig,
  type SyncConfig,
  storagePath,
  storageSchema,
  syncSchema,
} from './storage-sync.js';
