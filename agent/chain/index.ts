/**
 * The chain as the device sees it: a light client fed by finality updates over the uplink, and its
 * saved state.
 */
export {
  CHAIN_VIEW_COUNTERS,
  type ChainGrantStatus,
  type ChainRecordSink,
  ChainView,
  type ChainViewOptions,
  type ChainViewStatus,
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
export { type NonceCursorStore, seedDeviceNonce } from './device-nonce.js';
export {
  chooseStart,
  decodeLightState,
  encodeLightState,
  LIGHT_STATE_FILE,
  LIGHT_STATE_VERSION,
  lightStatePath,
  type StartPoint,
  saveLightState,
} from './light-state-file.js';
