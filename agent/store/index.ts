/** The agent's crash-safe store of sealed chunks: the interface, the SQLite store and its double. */
export type { SqliteSynchronous } from '../../process/index.js';
export { compareEviction, type EvictionCandidate, planEviction } from './eviction.js';
export { MemoryChunkStore } from './memory-store.js';
export {
  AUDIT_GENESIS,
  AUDIT_KINDS,
  type AuditEntry,
  type AuditKind,
  type AuditQuery,
  type AuditRow,
  type AuditVerification,
  auditHash,
  CLOCK_FLOOR_CURSOR,
  DEVICE_TX_NONCE_CURSOR,
  type GrantRow,
  LISTEN_SESSION_CURSOR,
  MemoryPermissionStore,
  type PermissionStore,
  type RevocationRow,
  type TxBuilder,
  verifyAuditRows,
} from './permission-store.js';
export { openChunkStoreOrMoveAside } from './recover.js';
export { MIGRATIONS, SCHEMA_VERSION, STORE_APPLICATION_ID } from './schema.js';
export {
  AUDIT_MAX_ROWS,
  REVOCATIONS_APPLICATION_ID,
  revocationsPathOf,
  SqlitePermissionStore,
  type SqlitePermissionStoreOptions,
} from './sqlite-permission-store.js';
export { openSqliteChunkStore, SqliteChunkStore, type SqliteChunkStoreOptions } from './sqlite-store.js';
export {
  type ChunkStore,
  checkRecord,
  DATA_CLASSES,
  type DescriptorRecord,
  type OutboxEntry,
  type PutResult,
  type QueuedTx,
  type SealedChunkRecord,
  STORE_COUNTERS,
  type StoreCounter,
  StoreError,
  type StoreErrorCode,
  type StoreUsage,
} from './types.js';
