/**
 * The storage node's ingest role: verified chunks, descriptors and queued transactions from MQTT
 * into SQLite, acknowledged after commit.
 */

export { AnchorIndex, type AnchorIndexOptions } from './anchor-index.js';
export {
  type BoundKeys,
  type DeviceKeySource,
  DeviceRegistry,
  type DeviceRegistryOptions,
  type DeviceRegistryStats,
  staticDeviceKeys,
} from './device-keys.js';
export {
  ChunkIngest,
  type ChunkIngestOptions,
  INGEST_COUNTERS,
  type IngestCounter,
  type IngestLogger,
} from './ingest.js';
export {
  type AnchorRow,
  type DescribedChunk,
  type DescriptorListing,
  type DescriptorQuery,
  INGEST_APPLICATION_ID,
  type IngestChunk,
  type IngestDescriptor,
  type IngestedRow,
  IngestStore,
  type IngestTx,
  type OpenSubmission,
  type StoredDescriptor,
  type StoredTx,
  SUBMISSION_STATES,
  type Submission,
  type SubmissionState,
} from './ingest-store.js';
export type { IngestLink } from './link.js';
export { type MqttIngestLinkOptions, openMqttIngestLink } from './mqtt-link.js';
export { type CheckedTx, checkDescriptorMessage, checkTxMessage, type RecordCheck } from './record-checks.js';
export {
  type DeviceKeysInput,
  devicePublicKeyHex,
  deviceVerifiers,
  sealedChunkVerifier,
  sealedDescriptorVerifier,
  sealedTxVerifier,
} from './sealed-verifier.js';
export type {
  ChunkVerdict,
  DescriptorVerdict,
  TxVerdict,
  VerifyChunk,
  VerifyDescriptor,
  VerifyTx,
} from './verify.js';
