/**
 * The deterministic devnet: simulated producers, network faults and the report of a run. The folder
 * a devnet of `qood node` processes runs from (devnet-folder.ts) is imported by its own path: it
 * loads the full node, which `qood devnet simulate` does not need.
 */
export {
  type ByzantineSpec,
  type CrashSpec,
  DEVNET_CHAIN_ID,
  DEVNET_T0,
  Devnet,
  type DevnetNode,
  type DevnetOptions,
  devnetGenesis,
  devnetKey,
  type PartitionSpec,
  runDevnet,
} from './devnet.js';
export { type DevnetReport, finalHeightAt, quantile } from './report.js';
export { DevnetSpecError, type DevnetSpecErrorCode, type DevnetSpecText, parseDevnetSpec } from './spec.js';
