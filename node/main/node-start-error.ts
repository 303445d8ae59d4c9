/**
 * The one error `startNode` throws for a role that could not start. Its `code` says whether a
 * restart can help: `usage` is a problem in the config or the files it names (a service manager
 * should not retry; `qood node` exits 2), `failure` is one that may pass (a folder not there yet, a
 * database that cannot be opened, a port in use; exit 1, systemd retries).
 */

/** Whether a restart can help (see the module comment). */
export type NodeStartErrorCode = 'usage' | 'failure';

/** The node's roles: one per config section, and the storage and device link roles they add up to. */
export type NodeRole = 'ingest' | 'chain' | 'storage' | 'device-link';

/** A role of the node did not start; `message` is `<role>: <what went wrong>`. */
export class NodeStartError extends Error {
  readonly code: NodeStartErrorCode;
  readonly role: NodeRole;
  /** The file or folder the problem is about, when there is one. */
  readonly file: string | undefined;

  constructor(o: {
    code: NodeStartErrorCode;
    role: NodeRole;
    message: string;
    file?: string;
    cause?: unknown;
  }) {
    super(`${o.role}: ${o.message}`, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'NodeStartError';
    this.code = o.code;
    this.role = o.role;
    this.file = o.file;
  }
}
