/** The agent's sync of sealed chunks, descriptors and queued transactions to the storage node over MQTT. */
export { type BackoffOptions, backoffDelayMs } from './backoff.js';
export { ChunkSync, type ChunkSyncOptions, SYNC_COUNTERS } from './chunk-sync.js';
export { MemoryBroker, topicMatches } from './memory-uplink.js';
export { type MqttUplinkOptions, openMqttUplink, type UplinkTlsFiles } from './mqtt-uplink.js';
export { type AckedItem, type PendingItem, PendingQueue, type PendingQueueOptions } from './pending-queue.js';
export { followTopic, SyncError, type SyncErrorCode, type Uplink } from './uplink.js';
