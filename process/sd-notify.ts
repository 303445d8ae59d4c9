/**
 * sd_notify(3) for Node: systemd's notification socket is an AF_UNIX datagram socket, which Node's
 * `net` and `dgram` modules cannot open, so this is the one adapter that imports `unix-dgram`.
 * Messages are the plain `KEY=VALUE` lines of the protocol (READY=1, WATCHDOG=1, STATUS=...,
 * STOPPING=1). With no NOTIFY_SOCKET (not under systemd, or Type= is not notify) every call is a no-op.
 */
import { createRequire } from 'node:module';
import type { ServiceNotifier } from './service.js';

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  close(): void;
  on(event: 'error', cb: (err: Error) => void): void;
}

/** Creates a notifier from the environment systemd gives the service. */
/** A notifier that owns a socket: `close()` releases it (it would otherwise keep the process alive). */
export interface ClosableNotifier extends ServiceNotifier {
  close(): void;
}

export function systemdNotifier(
  env: NodeJS.ProcessEnv = process.env,
  onError: (err: Error) => void = () => {},
): ClosableNotifier {
  const path = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID === undefined ? undefined : Number(env.WATCHDOG_PID);
  const watchdogIntervalMs =
    Number.isFinite(usec) && usec > 0 && (watchdogPid === undefined || watchdogPid === process.pid)
      ? Math.max(1, Math.floor(usec / 2000)) // feed at half the period, as sd_watchdog_enabled(3) advises
      : undefined;
  if (path === undefined || path === '') {
    return {
      watchdogIntervalMs: undefined,
      ready() {},
      watchdog() {},
      status() {},
      stopping() {},
      close() {},
    };
  }
  if (path.startsWith('@')) {
    onError(
      new Error(
        `NOTIFY_SOCKET ${path} is in the abstract namespace, which is not supported; notifications are off`,
      ),
    );
    return {
      watchdogIntervalMs: undefined,
      ready() {},
      watchdog() {},
      status() {},
      stopping() {},
      close() {},
    };
  }
  const require = createRequire(import.meta.url);
  const { createSocket } = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
  const socket = createSocket('unix_dgram');
  socket.on('error', onError);
  const send = (text: string): void => {
    const buf = Buffer.from(text);
    socket.send(buf, 0, buf.length, path, (err) => {
      if (err) onError(err);
    });
  };
  return {
    watchdogIntervalMs,
    ready: () => send(`READY=1\nMAINPID=${process.pid}`),
    watchdog: () => send('WATCHDOG=1'),
    status: (text) => send(`STATUS=${text.replace(/\n/g, ' ')}`),
    stopping: () => send('STOPPING=1'),
    close: () => socket.close(),
  };
}
