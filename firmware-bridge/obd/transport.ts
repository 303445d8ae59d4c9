/**
 * `ObdTransport`: the one interface the OBD-II service logic (supported PIDs, VIN, DTCs, polling)
 * uses, so the same code runs over an ELM327 on a serial port and over ISO-TP on a CAN bus. A
 * request is a J1979 request (`01 0C`, `09 02`, `03`); the answer is one message per replying ECU.
 */

/** One ECU's positive response: service + 0x40 first (`41 0C 1A F8`). */
export interface ObdResponse {
  /** The ECU as its transport names it: `7E8`, `18DAF110`, a legacy source address `10`, or `?` when the adapter prints no headers. */
  readonly ecu: string;
  readonly data: Uint8Array;
}

/** Options of one request. */
export interface ObdRequestOptions {
  /** How long to wait for the answer, ms (the transport has a default). */
  readonly timeoutMs?: number;
  /**
   * How many ECUs are expected to answer; when known the transport stops waiting once they have
   * (the ELM327's response-count digit, `010C1`), which saves the adapter's idle wait.
   */
  readonly expectedReplies?: number;
}

/** A way to send J1979 requests to the vehicle. */
export interface ObdTransport {
  /** `elm327` or `isotp`. */
  readonly kind: 'elm327' | 'isotp';
  /**
   * Sends `request` (service byte, then PID or parameters) and resolves with every positive
   * response. Rejects with ObdError: NO_DATA when nobody answered, NEGATIVE_RESPONSE when every
   * answer was a 7F, or the adapter's own error (CAN_ERROR, UNABLE_TO_CONNECT ...).
   */
  request(request: Uint8Array, options?: ObdRequestOptions): Promise<ObdResponse[]>;
  /** Releases the transport. Idempotent. */
  close(): Promise<void>;
}
