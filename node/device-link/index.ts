/**
 * The device link of `qood node`: finality updates with grant proofs to devices over MQTT, and
 * devices' queued chain transactions into the mempool, buy orders announced to the devices that
 * fill them.
 */
export { nodeCheckpoint } from './checkpoint.js';
export { DEVICE_LINK_COUNTERS, type DeviceLinkCounter, type DeviceLinkLogger } from './counters.js';
export { DeviceLink, type DeviceLinkOptions } from './device-link.js';
export { FinalityPublisher, finalityTopic, touchedGrantKeys } from './finality-publisher.js';
export { type NoticeSkip, OrderNotices, type OrderNoticesOptions } from './order-notices.js';
export {
  type ChainSource,
  type FinalRef,
  nodeSink,
  nodeSource,
  type SubmitResult,
  type TxSink,
} from './source.js';
export { type SubmissionStore, TxForwarder, type TxForwarderOptions } from './tx-forwarder.js';
