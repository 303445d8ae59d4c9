/** The full node's runtime: the engine on the wall clock and real peers, its mempool, its files. */
export {
  type FinalityEvent,
  FullNode,
  type FullNodeOptions,
  type NodeLog,
  type NodeStats,
  type NodeTrace,
} from './full-node.js';
export {
  formatGenesis,
  GenesisFileError,
  genesisFileSchema,
  PRESETS,
  type Preset,
  parseGenesis,
  presetParams,
  readGenesisFile,
} from './genesis-file.js';
export {
  KeyFileError,
  type LocalGenesisOptions,
  localGenesis,
  newNodeSecret,
  readKeyFile,
  writeKeyFile,
} from './local-genesis.js';
export { RANGE_BLOCKS, RangeSync, SYNC_GAP } from './range-sync.js';
export { SeenSet } from './seen-set.js';
export {
  FileSigningGuard,
  noSigningGuard,
  type SignedHeights,
  type SigningGuard,
  SigningGuardError,
} from './signing-guard.js';
export { checkTx, MAX_NONCE_AHEAD, type TxReject, type TxRejectCode } from './tx-check.js';
export { VerifyPool, type VerifyPoolOptions, type VerifyPoolStats } from './verify-pool.js';
