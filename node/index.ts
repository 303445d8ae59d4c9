/**
 * The full node, as the rest of QoodBlock uses it: `startNode` with its config, and the files a node
 * is started from (keys, genesis). The roles' parts (runtime, p2p, store, http, ingest, device link)
 * have indexes of their own for the node's tests and benchmarks.
 */
export {
  type ChainConfig,
  chainConfigSchema,
  type IngestConfig,
  ingestConfigSchema,
  NODE_LOG_LEVELS,
  type NodeConfig,
  nodeConfigSchema,
  splitHostPort,
} from './config.js';
export { IngestStore } from './ingest/index.js';
export {
  type ChainRoleStatus,
  type DeviceLinkStatus,
  logNodeTraces,
  type NodeOptions,
  type NodeRole,
  NodeStartError,
  type NodeStartErrorCode,
  type NodeStatus,
  type RunningNode,
  startNode,
} from './main/index.js';
export {
  type FinalityEvent,
  FullNode,
  formatGenesis,
  GenesisFileError,
  KeyFileError,
  type LocalGenesisOptions,
  localGenesis,
  type NodeTrace,
  newNodeSecret,
  readGenesisFile,
  readKeyFile,
  writeKeyFile,
} from './runtime/index.js';
