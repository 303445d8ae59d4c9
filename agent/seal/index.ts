/** Sealing: keys from the owner's seed, encrypted and signed chunks, batch descriptors, verification. */
export { type Batch, BatchBuilder, type BatchIdentity } from './batch.js';
export * from './device-identity.js';
export * from './keys.js';
export {
  deviceEpochKey,
  SealError,
  type SealedChunkOut,
  Sealer,
  type SealingIdentity,
  type StreamHead,
} from './sealer.js';
export { type ChunkReport, type KeyLookup, type VerifyReport, verifyBatch } from './verify.js';
