/**
 * How the agent talks to its service manager: readiness, a watchdog it feeds while healthy, and a
 * status line. The CLI passes the systemd implementation (sd_notify); tests and the demo pass
 * `noopNotifier`.
 */
export interface ServiceNotifier {
  /** Watchdog period asked by the manager (WATCHDOG_USEC), or undefined when there is none. */
  readonly watchdogIntervalMs: number | undefined;
  ready(): void;
  watchdog(): void;
  status(text: string): void;
  stopping(): void;
}

export const noopNotifier: ServiceNotifier = {
  watchdogIntervalMs: undefined,
  ready() {},
  watchdog() {},
  status() {},
  stopping() {},
};
