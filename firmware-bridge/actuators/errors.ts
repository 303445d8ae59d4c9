/** `ActuatorError`: why a vehicle profile or a command's frame sequence could not be used. */

export type ActuatorErrorCode =
  /** The profile document is wrong (the message names the field). */
  | 'BAD_PROFILE'
  /** The profile has no such command. */
  | 'UNKNOWN_COMMAND'
  /** An argument is missing, unknown, not a number or out of its range. */
  | 'BAD_ARGS'
  /** A `message` step could not be encoded (no such DBC message or signal). */
  | 'ENCODE_FAILED'
  /** The bus refused a frame (down, closed); `framesWritten` says how far the sequence got. */
  | 'WRITE_FAILED';

export class ActuatorError extends Error {
  constructor(
    readonly code: ActuatorErrorCode,
    message: string,
    /** The profile field, command or argument concerned. */
    readonly where: string,
    /** Frames already on the bus when a write failed. */
    readonly framesWritten = 0,
  ) {
    super(message);
    this.name = 'ActuatorError';
  }
}
