/**
 * CAN frames and bus events as the rest of QoodBlock sees them, whatever the source (SocketCAN,
 * a log file, a simulator). Timestamps are microseconds: `wallUs` since the Unix epoch (from the
 * kernel, or from the log), `monoUs` on a monotonic clock for ordering and rates (2^53 µs is 285
 * years, so a double holds both exactly).
 */

/** Largest 11-bit and 29-bit identifiers. */
export const CAN_SFF_MAX = 0x7ff;
export const CAN_EFF_MAX = 0x1fffffff;
/** Payload limits: classic CAN 8 bytes, CAN FD 64 bytes. */
export const CAN_MAX_DLEN = 8;
export const CANFD_MAX_DLEN = 64;

/** The lengths a CAN FD frame can have (ISO 11898-1 DLC 9..15 map to 12..64). */
export const CANFD_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64] as const;

/** One received or logged frame. `data` is owned by the receiver once delivered; sources never reuse it. */
export interface CanFrame {
  /** Identifier without flag bits: 0..0x7FF when !extended, 0..0x1FFFFFFF when extended. */
  readonly id: number;
  readonly extended: boolean;
  /** Remote transmission request (classic CAN only; data is empty, `dlc` says what was asked). */
  readonly rtr: boolean;
  /** CAN FD frame (ISO 11898-1:2015). */
  readonly fd: boolean;
  /** FD bit-rate switch. */
  readonly brs?: boolean;
  /** FD error state indicator. */
  readonly esi?: boolean;
  readonly data: Uint8Array;
  /** For an RTR frame the requested length; otherwise data.length. */
  readonly dlc?: number;
  /** Interface or log channel the frame came from (`can0`, `vcan1`, `1` in an ASC log). */
  readonly bus: string;
  readonly wallUs: number;
  readonly monoUs: number;
}

/** A frame to send; timestamps and bus are the sender's business. */
export interface OutgoingCanFrame {
  readonly id: number;
  readonly extended?: boolean;
  readonly rtr?: boolean;
  readonly fd?: boolean;
  readonly brs?: boolean;
  readonly data: Uint8Array;
}

/** Controller and bus states that SocketCAN error frames report (linux/can/error.h). */
export const CAN_ERROR_KINDS = [
  'bus-off',
  'error-passive',
  'error-warning',
  'error-active',
  'restarted',
  'tx-timeout',
  'lost-arbitration',
  'protocol-violation',
  'transceiver',
  'no-ack',
  'bus-error',
  'controller-problem',
] as const;
export type CanErrorKind = (typeof CAN_ERROR_KINDS)[number];

/** Something that happened to a bus, other than a data frame. */
export type CanBusEvent =
  | {
      readonly type: 'error';
      readonly bus: string;
      readonly kinds: readonly CanErrorKind[];
      readonly data: Uint8Array;
      readonly wallUs: number;
    }
  | { readonly type: 'down'; readonly bus: string; readonly reason: string }
  | { readonly type: 'up'; readonly bus: string };

/** A kernel-style receive filter: a frame passes when (frameId & mask) === (id & mask). */
export interface CanFilter {
  readonly id: number;
  readonly mask: number;
  /** Match extended (29-bit) frames rather than standard ones. */
  readonly extended?: boolean;
}

/** Counters every bus keeps. */
export interface CanBusStats {
  framesIn: number;
  framesOut: number;
  errorFrames: number;
  /** Frames the source knows it lost (socket overflow, ring full). */
  dropped: number;
  reopens: number;
}

/** Validates an outgoing frame; returns a message saying what is wrong, or undefined when it is fine. */
export function checkOutgoingFrame(f: OutgoingCanFrame): string | undefined {
  const max = f.extended ? CAN_EFF_MAX : CAN_SFF_MAX;
  if (!Number.isInteger(f.id) || f.id < 0 || f.id > max)
    return `id 0x${f.id.toString(16)} out of range for a ${f.extended ? '29' : '11'}-bit frame (max 0x${max.toString(16)})`;
  if (f.fd) {
    if (f.rtr) return 'CAN FD has no remote frames';
    if (!(CANFD_LENGTHS as readonly number[]).includes(f.data.length))
      return `CAN FD payload of ${f.data.length} bytes; expected one of ${CANFD_LENGTHS.join(', ')}`;
  } else if (f.data.length > CAN_MAX_DLEN) {
    return `classic CAN payload of ${f.data.length} bytes; expected at most 8 (set fd for longer frames)`;
  }
  return undefined;
}
