/**
 * `AgentError`: what stops the agent, or one of its stages, for a reason that is the agent's own
 * rather than a module's (a DBC, a grant, the store, the sync and the seal have their own error
 * classes). The code says what kind of problem it is; the fields say which config field, device or
 * signal it concerns, so the CLI and the logs can name it without parsing the message.
 */

export type AgentErrorCode =
  /** CAN is configured (a source, ISO-TP for OBD, the actuator) but this build cannot open a bus. */
  | 'NO_CAN_DRIVER'
  /**
   * A rule between config sections does not hold. `agentConfigSchema` refuses such a file; this is
   * for a config object that did not come through it.
   */
  | 'CONFIG_RULE'
  /** A built-in table names a signal the data dictionary does not have, or with another type or unit. */
  | 'DICTIONARY_MISMATCH'
  /** The vehicle answers, but supports no OBD-II PID the decoder knows; discovery is retried. */
  | 'OBD_NO_KNOWN_PID';

/** What an `AgentError` concerns; each field is present when it applies. */
export interface AgentErrorFields {
  /** The config field, dotted as `qood config check` prints it (`sources.can`, `permissions.interface`). */
  readonly field?: string;
  /** The CAN interface concerned. */
  readonly interface?: string;
  /** The OBD-II PID concerned, as `01XX`. */
  readonly pid?: string;
  /** The data dictionary path concerned. */
  readonly path?: string;
}

/** The agent's own error, with a code and the field, device or signal it concerns. */
export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    readonly fields: AgentErrorFields = {},
  ) {
    super(message);
    this.name = 'AgentError';
  }
}
