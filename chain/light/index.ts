/**
 * The light client (client.ts), its wire encodings (codec.ts) and its errors; chain/index.ts
 * re-exports them.
 */
export { LightClient, type LightClientOptions, type ProvenKey, type UpdateResult } from './client.js';
export {
  type Checkpoint,
  decodeCheckpoint,
  decodeStateProof,
  decodeUpdate,
  encodeCheckpoint,
  encodeStateProof,
  encodeUpdate,
  type FinalityUpdate,
  type KeyProofWire,
  LIGHT_VERSION,
  MAX_UPDATE_BYTES,
  MAX_UPDATE_PROOFS,
  type ScheduleProof,
  type StateProof,
} from './codec.js';
export { LightError, type LightErrorCode } from './errors.js';
