/**
 * `ObdError`: why an OBD-II request failed, on either transport (an ELM327 on a serial port, or
 * ISO-TP on a CAN bus). Adapter replies that are errors (`NO DATA`, `CAN ERROR` ...) map to their
 * own codes so callers can tell "the car has no such PID" from "the adapter lost the bus".
 */

export type ObdErrorCode =
  /** The adapter answered `NO DATA`, or no ECU answered on CAN in time. */
  | 'NO_DATA'
  /** `?`: the adapter did not understand the command. */
  | 'UNKNOWN_COMMAND'
  /** `CAN ERROR`: wrong bit rate, or no other node acknowledging frames. */
  | 'CAN_ERROR'
  /** `BUS INIT: ...ERROR`: the K-line / ISO 9141 initialisation failed. */
  | 'BUS_INIT_ERROR'
  /** `UNABLE TO CONNECT`: the protocol search found no protocol the car answers. */
  | 'UNABLE_TO_CONNECT'
  /** `STOPPED`: the adapter was interrupted by a byte received while it worked. */
  | 'STOPPED'
  /** `BUFFER FULL`: the adapter's 256-byte receive buffer overflowed (the host read too slowly). */
  | 'BUFFER_FULL'
  /** `<DATA ERROR` / `<RX ERROR`: a reply with a bad checksum or framing. */
  | 'DATA_ERROR'
  /** `BUS ERROR`, `BUS BUSY`, `FB ERROR`, `LV RESET`, `ERRnn` and other adapter-side faults. */
  | 'ADAPTER_ERROR'
  /** A reply whose lines could not be parsed at all. */
  | 'BAD_REPLY'
  /** The ECU answered with a negative response (service 0x7F) and this code. */
  | 'NEGATIVE_RESPONSE'
  /** No prompt (`>`) within the command's timeout. */
  | 'TIMEOUT'
  /** The port went away while the request was queued or in flight. */
  | 'DISCONNECTED'
  /** The transport was closed by its owner. */
  | 'CLOSED';

/** A failed OBD request, with the command sent and (when there was one) the adapter's reply text. */
export class ObdError extends Error {
  constructor(
    readonly code: ObdErrorCode,
    message: string,
    readonly command?: string,
    readonly reply?: string,
  ) {
    super(message);
    this.name = 'ObdError';
  }
}
