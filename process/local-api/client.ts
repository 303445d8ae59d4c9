/** A client for the local API: one request, one reply, bounded by a timeout. */
import { connect } from 'node:net';

export class LocalApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LocalApiCallError';
  }
}

/** Calls `method` on the socket and resolves with its result; rejects with LocalApiCallError. */
export function callLocalApi(
  socketPath: string,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LocalApiCallError('TIMEOUT', `no reply from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, method, params })}\n`));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        const msg = JSON.parse(buf.slice(0, nl)) as {
          result?: unknown;
          error?: { code: string; message: string };
        };
        if (msg.error) reject(new LocalApiCallError(msg.error.code, msg.error.message));
        else resolve(msg.result);
      } catch {
        reject(new LocalApiCallError('BAD_REPLY', `unreadable reply from ${socketPath}`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? `nothing is listening on ${socketPath}; is the service running?`
          : err.code === 'EACCES'
            ? `permission denied on ${socketPath}; run as root or as a member of the owner group`
            : err.message;
      reject(new LocalApiCallError(err.code ?? 'IO', hint));
    });
  });
}
