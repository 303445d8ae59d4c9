/** Sealing: keys from the owner's seed, encrypted and signed chunks, batch descriptors, verification. */
export { type Batch, BatchBuilder, type BatchIdentity } from './batch.js';
export * from './device-identity.js';
export {
  deviceEpochKey,
  SealError,
  type SealedChunkOut,
  Sealer,
  type SealingIdentity,
  type StreamHead,
} from './sealer.js';
