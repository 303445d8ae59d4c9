/** J1979 decoding: the service 01 PID table as data and the decoder from responses to VSS samples. */
export {
  ObdDecoder,
  type ObdDecoderStats,
  physicalValue,
  type ResolvedObdSignal,
  rawValue,
} from './pid-decoder.js';
export { type PidDefinition, type PidSignal, pidDefinition, SERVICE01_PIDS } from './pid-table.js';
