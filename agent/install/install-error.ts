/**
 * `InstallError`: why `qood init` cannot go on (a bad option, an unreadable root, a failing
 * `useradd`), with the file or option concerned, so the CLI names it without parsing the message.
 */

export type InstallErrorCode =
  /** An option or option combination that cannot be used (the option is in `where`). */
  | 'BAD_OPTION'
  /** A file of the target root or of the package cannot be read or is not what was expected. */
  | 'BAD_FILE'
  /** A system command (useradd, groupadd, usermod) failed. */
  | 'COMMAND_FAILED';

/** What stops an install, naming the option, file or command in `where`. */
export class InstallError extends Error {
  constructor(
    readonly code: InstallErrorCode,
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = 'InstallError';
  }
}
