/** The storage node's ingest role: verified chunks from MQTT into SQLite, acknowledged after commit. */
export {
  ChunkIngest,
  type ChunkIngestOptions,
  INGEST_COUNTERS,
  type IngestCounter,
  type IngestLogger,
} from './ingest.js';
export { type IngestChunk, type IngestedRow, IngestStore } from './ingest-store.js';
export type { IngestLink } from './link.js';
export { type MqttIngestLinkOptions, openMqttIngestLink } from './mqtt-link.js';
export { devicePublicKeyHex, sealedChunkVerifier } from './sealed-verifier.js';
export type { ChunkVerdict, VerifyChunk } from './verify.js';
export * from './wire.js';
