/** The chain as the device sees it: a light client fed by finality updates over the uplink. */
export {
  CHAIN_VIEW_COUNTERS,
  type ChainGrantStatus,
  type ChainRecordSink,
  ChainView,
  type ChainViewOptions,
  finalityTopic,
} from './chain-view.js';
export {
  CheckpointFileError,
  type CheckpointFileErrorCode,
  deviceChainId,
  readCheckpointFile,
  readTrustedCheckpoint,
  type TrustedCheckpoint,
} from './checkpoint-file.js';
