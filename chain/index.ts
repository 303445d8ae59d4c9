/** What the agent may use of the chain module. */
export {
  ackTopic,
  type ChunkEnvelope,
  chunkTopic,
  chunkTopicFilter,
  DEFAULT_TOPIC_PREFIX,
  decodeAck,
  decodeChunkEnvelope,
  encodeAck,
  encodeChunkEnvelope,
  MAX_ACK_IDS,
  MAX_CHUNK_BYTES,
  vehicleOfChunkTopic,
  type WireResult,
} from './node/ingest/wire.js';
