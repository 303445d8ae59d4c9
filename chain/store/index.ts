/** The parts of the chain store that load no I/O library: what chain/index.ts re-exports. */
export {
  type ChainStore,
  StoreError,
  type StoreErrorCode,
  type TxLocation,
  type VehicleGrant,
} from './chain-store.js';
export {
  decodeBlock,
  decodeCertificate,
  decodeGenesis,
  encodeBlock,
  encodeCertificate,
  encodeGenesis,
} from './codec.js';
export { MemoryChainStore } from './memory-store.js';
export { type RebuildOptions, rebuildState } from './rebuild.js';
