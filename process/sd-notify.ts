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

/** Why notifications to the service manager cannot be sent. */
export type NotifyErrorCode = 'PACKAGE_MISSING';

/** A notifier that cannot be made (the message names what is missing and how to get it). */
export class NotifyError extends Error {
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'NotifyError';
  }
}

/** A notifier that owns a socket: `close()` releases it (it would otherwise keep the process alive). */
export interface ClosableNotifier extends ServiceNotifier {
  close(): void;
}

/**
 * Creates a notifier from the environment systemd gives the service. Throws NotifyError
 * `PACKAGE_MISSING` when NOTIFY_SOCKET is set and the unix-dgram addon cannot be loaded.
 */
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
  // Loaded here, not at import: only a process that systemd asked for notifications needs the addon.
  let createSocket: (type: 'unix_dgram') => DgramSocket;
  try {
    ({ createSocket } = createRequire(import.meta.url)('unix-dgram') as {
      createSocket(type: 'unix_dgram'): DgramSocket;
    });
  } catch (err) {
    throw new NotifyError(
      'PACKAGE_MISSING',
      `NOTIFY_SOCKET is set but the unix-dgram package did not load (${(err as Error).message.split('\n')[0]}); sd_notify needs it: reinstall qoodblock with its install script allowed, or run without Type=notify`,
    );
  }
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
