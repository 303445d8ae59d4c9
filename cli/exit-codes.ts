/** Process exit codes of `qood`. 2 is what a service manager should not retry: the config is wrong. */
export const EXIT = {
  ok: 0,
  /** Runtime failure (I/O, a peer went away, a check failed). */
  failure: 1,
  /** Bad usage or a config file that does not validate. */
  usage: 2,
} as const;

/** Thrown by a command to end the process with a code and a message on stderr. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}
