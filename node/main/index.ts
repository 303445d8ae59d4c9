/**
 * The full node's composition root: `startNode` assembles the roles a node config enables
 * (start-node.ts), each in a file of its own (ingest, chain, device link).
 */
export {
  type ChainRole,
  type ChainRoleOptions,
  type ChainRoleStatus,
  logNodeTraces,
  startChainRole,
} from './chain-role.js';
export { type DeviceLinkRole, type DeviceLinkStatus, startDeviceLinkRole } from './device-link-role.js';
export { type IngestRole, startIngestRole } from './ingest-role.js';
export { type NodeRole, NodeStartError, type NodeStartErrorCode } from './node-start-error.js';
export { type NodeOptions, type NodeStatus, type RunningNode, startNode } from './start-node.js';
