/**
 * The local API: newline-delimited JSON requests over a unix socket that only root (or the owner
 * group) can open. Requests are `{"id":N,"method":"status","params":{...}}`; replies are
 * `{"id":N,"result":...}` or `{"id":N,"error":{"code":..,"message":..}}`. A line longer than
 * `maxLineBytes` or that is not such an object gets an error reply and the connection stays up.
 * Access control is the file mode of the socket (0600, or 0660 with the owner group) and of its
 * folder; the kernel checks it on connect.
 *
 * Defence (issue 14, item 13): an owner group the process may not give the socket to (one it is
 * not a member of, or that does not exist) used to fail in chown after the socket was listening,
 * which left it listening with default permissions. The membership is now checked before
 * listening, and a failed chown or chmod closes the server and removes the socket file; either is
 * a LocalApiError naming the gid (test/unit/process/local-api.test.ts).
 */
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

/** A method handler: gets the request's params, returns a JSON-serialisable result or throws LocalApiError. */
export type LocalMethod = (params: Record<string, unknown>) => unknown | Promise<unknown>;

export type LocalApiErrorCode =
  | 'BAD_REQUEST'
  | 'NO_SUCH_METHOD'
  | 'INVALID_PARAMS'
  | 'FAILED'
  | 'TOO_LARGE'
  /** Start: the process is not root and not a member of the owner group, so it cannot give it the socket. */
  | 'NOT_IN_GROUP'
  /** Start: the socket's owner or mode could not be set; nothing is left listening. */
  | 'PERMISSIONS_FAILED';

/** An error a method reports to the caller with a stable code, or why the server did not start. */
export class LocalApiError extends Error {
  constructor(
    readonly code: LocalApiErrorCode,
    message: string,
    /** The owner gid concerned, for NOT_IN_GROUP and PERMISSIONS_FAILED. */
    readonly gid?: number,
  ) {
    super(message);
    this.name = 'LocalApiError';
  }
}

/** Who the process is, for the owner-group check (default: the process's own ids). */
export interface ProcessIdentity {
  readonly uid: number;
  readonly gids: readonly number[];
}

function ownIdentity(): ProcessIdentity {
  return {
    uid: process.geteuid?.() ?? 0,
    gids: [process.getegid?.() ?? 0, ...(process.getgroups?.() ?? [])],
  };
}

export interface LocalApiServerOptions {
  readonly socketPath: string;
  readonly methods: Readonly<Record<string, LocalMethod>>;
  /** Numeric gid allowed besides root; the socket becomes 0660 and is chowned to it. */
  readonly ownerGid?: number;
  readonly maxLineBytes?: number;
  /** Who the process is (tests give another); default: its effective uid, gid and groups. */
  readonly identity?: ProcessIdentity;
}

/** A listening local API; `close()` stops accepting, ends connections and removes the socket file. */
export interface LocalApiServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

/**
 * Starts listening. Replaces a stale socket file left by a crashed process. Rejects with
 * LocalApiError NOT_IN_GROUP (before anything is created) when `ownerGid` is a group a non-root
 * process is not in, and PERMISSIONS_FAILED (with the server closed and the socket file removed)
 * when the socket's owner or mode cannot be set.
 */
export async function startLocalApi(options: LocalApiServerOptions): Promise<LocalApiServer> {
  const maxLine = options.maxLineBytes ?? 64 * 1024;
  const gid = options.ownerGid;
  if (gid !== undefined) {
    // Only root may give a file to a group it is not in (chown(2)); refuse before listening.
    const me = options.identity ?? ownIdentity();
    if (me.uid !== 0 && !me.gids.includes(gid))
      throw new LocalApiError(
        'NOT_IN_GROUP',
        `${options.socketPath}: the owner group (gid ${gid}) is not a group this process (uid ${me.uid}) is in, so the socket cannot be given to it; add the service user to the group, or remove the owner group`,
        gid,
      );
  }
  const sockets = new Set<Socket>();
  mkdirSync(dirname(options.socketPath), { recursive: true, mode: 0o750 });
  rmSync(options.socketPath, { force: true });
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') void answer(line, socket);
        nl = buf.indexOf('\n');
      }
      if (Buffer.byteLength(buf) > maxLine) {
        buf = '';
        reply(socket, null, { code: 'TOO_LARGE', message: `request longer than ${maxLine} bytes` });
      }
    });
  });

  const answer = async (line: string, socket: Socket): Promise<void> => {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      reply(socket, null, { code: 'BAD_REQUEST', message: 'expected one JSON object per line' });
      return;
    }
    if (req === null || typeof req !== 'object' || typeof (req as { method?: unknown }).method !== 'string') {
      reply(socket, null, {
        code: 'BAD_REQUEST',
        message: 'expected {"id":..,"method":"name","params":{..}}',
      });
      return;
    }
    const { id = null, method, params = {} } = req as { id?: unknown; method: string; params?: unknown };
    const handler = Object.hasOwn(options.methods, method) ? options.methods[method] : undefined;
    if (handler === undefined) {
      reply(socket, id, {
        code: 'NO_SUCH_METHOD',
        message: `unknown method '${method}'; known: ${Object.keys(options.methods).join(', ')}`,
      });
      return;
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      reply(socket, id, { code: 'INVALID_PARAMS', message: 'params must be an object' });
      return;
    }
    try {
      const result = await handler(params as Record<string, unknown>);
      reply(socket, id, undefined, result ?? null);
    } catch (err) {
      const code = err instanceof LocalApiError ? err.code : 'FAILED';
      reply(socket, id, { code, message: err instanceof Error ? err.message : String(err) });
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The socket file is created at bind, before the chmod below: created under umask 0177 it is
    // never, even for that moment, connectable by anyone but the owner (bind happens inside
    // listen(), synchronously for a path).
    const umask = process.umask(0o177);
    try {
      server.listen(options.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => {
        rmSync(options.socketPath, { force: true });
        resolve();
      });
    });
  try {
    if (gid !== undefined) {
      chownSync(options.socketPath, process.geteuid?.() ?? 0, gid);
      chmodSync(options.socketPath, 0o660);
    } else {
      chmodSync(options.socketPath, 0o600);
    }
  } catch (err) {
    // Never leave the socket listening with the default mode: close it and remove the file.
    await close();
    throw new LocalApiError(
      'PERMISSIONS_FAILED',
      `${options.socketPath}: cannot set the socket's ${gid === undefined ? 'mode' : `owner group (gid ${gid})`}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      gid,
    );
  }

  return { socketPath: options.socketPath, close };
}

function reply(
  socket: Socket,
  id: unknown,
  error: { code: LocalApiErrorCode; message: string } | undefined,
  result?: unknown,
): void {
  if (socket.destroyed) return;
  const body = error === undefined ? { id, result } : { id, error };
  socket.write(`${JSON.stringify(body)}\n`);
}
