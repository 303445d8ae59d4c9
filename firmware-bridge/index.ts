/**
 * The firmware bridge: hardware adapters and nothing else. The agent imports it only through this
 * file. It imports nothing else of QoodBlock's.
 */
export {
  ActuatorError,
  type ActuatorErrorCode,
  type ArgSpec,
  CanActuator,
  type CanActuatorOptions,
  type EncodeMessage,
  type ExecuteResult,
  type FrameGuard,
  INTERLOCK_OPS,
  type InterlockOp,
  type InterlockRule,
  MAX_FRAMES_PER_COMMAND,
  MAX_SEQUENCE_MS,
  type PlannedFrame,
  type ProfileCommand,
  type ProfileStep,
  parseRule,
  parseVehicleProfile,
  type VehicleProfile,
} from './actuators/index.js';
export { type CanBus, CanBusError, type CanBusErrorCode, passesFilters } from './can/bus.js';
export { decodeErrorFrame } from './can/error-frames.js';
export {
  CAN_EFF_MAX,
  CAN_ERROR_KINDS,
  CAN_MAX_DLEN,
  CAN_SFF_MAX,
  CANFD_LENGTHS,
  CANFD_MAX_DLEN,
  type CanBusEvent,
  type CanBusStats,
  type CanErrorKind,
  type CanFilter,
  type CanFrame,
  checkOutgoingFrame,
  type OutgoingCanFrame,
} from './can/frame.js';
export {
  IsoTpError,
  type IsoTpErrorCode,
  IsoTpLink,
  type IsoTpOptions,
  type IsoTpTimers,
  stMinToMs,
} from './can/isotp.js';
export { CanWire, MemoryCanBus, type MicroClock, systemMicroClock } from './can/memory-bus.js';
export { openSocketCan, type SocketCanOptions, sysfsLinkFlags } from './can/socketcan.js';
export {
  FIX_MODE,
  type FixMode,
  type FixQuality,
  type GnssClock,
  type GnssFix,
  systemGnssClock,
} from './gnss/fix.js';
export { FixAssembler, type FixAssemblerOptions, type FixAssemblerStats } from './gnss/fix-assembler.js';
export { type GpsdClientOptions, openGpsdClient } from './gnss/gpsd-client.js';
export { connectTcp, type TcpTarget } from './gnss/gpsd-net.js';
export { LineFramer, type LineFramerOptions, type LineFramerStats } from './gnss/line-framer.js';
export {
  NmeaDecoder,
  type NmeaDecoderOptions,
  type NmeaDecoderStats,
  type NmeaLineProblem,
} from './gnss/nmea-decoder.js';
export {
  type FrameResult,
  type NmeaFrame,
  type NmeaProblem,
  type NmeaProblemCode,
  nmeaChecksum,
  parseNmeaFrame,
  withChecksum,
} from './gnss/nmea-frame.js';
export {
  type GgaSentence,
  type GllSentence,
  GNSS_SYSTEM_ID,
  GNSS_TALKERS,
  type GsaSentence,
  type GstSentence,
  type GsvSatellite,
  type GsvSentence,
  type NmeaSentence,
  parseNmeaSentence,
  type RmcSentence,
  type SentenceResult,
  type VtgSentence,
  type ZdaSentence,
} from './gnss/nmea-parse.js';
export { type NmeaSerialOptions, openNmeaSerial } from './gnss/nmea-serial.js';
export {
  type GnssSource,
  GnssSourceError,
  type GnssSourceErrorCode,
  type GnssSourceEvent,
  type GnssSourceStats,
  type RetryOptions,
} from './gnss/source.js';
export {
  type BadLine,
  type ElmFormat,
  type ElmMessage,
  type ElmReply,
  type ElmStatus,
  type ProtocolFamily,
  parseReply,
  protocolFamily,
  replyLines,
  statusCode,
} from './obd/elm-reply.js';
export {
  Elm327,
  type Elm327Info,
  type Elm327Options,
  type Elm327Stats,
  type Elm327Timeouts,
} from './obd/elm327.js';
export {
  Elm327Connection,
  type Elm327ConnectionOptions,
  type ObdLinkEvent,
} from './obd/elm327-connection.js';
export { type IsoTpObdOptions, IsoTpObdTransport, OBD_CAN_IDS } from './obd/isotp-transport.js';
export {
  dtcsFromResponse,
  formatDtc,
  parseDtc,
  supportedFromBitmap,
  vinFromResponses,
} from './obd/j1979-frames.js';
export {
  DTC_SERVICES,
  type DtcEntry,
  type DtcKind,
  ObdClient,
  pidName,
  type SupportedPids,
} from './obd/obd-client.js';
export { ObdError, type ObdErrorCode } from './obd/obd-error.js';
export { type PollLoop, type PollLoopOptions, startPollLoop } from './obd/poll-loop.js';
export { PollScheduler, type PollSchedulerOptions, type PollTarget } from './obd/poll-scheduler.js';
export type { ObdRequestOptions, ObdResponse, ObdTransport } from './obd/transport.js';
export { MemorySerialPair } from './serial/memory-serial.js';
export {
  type OpenSerial,
  SerialError,
  type SerialErrorCode,
  type SerialLink,
  type SerialOpenOptions,
} from './serial/serial-link.js';
export { openSerialPort } from './serial/serialport.js';
