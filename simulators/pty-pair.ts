/**
 * Two linked pseudo-terminals made by socat (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`):
 * what is written to one comes out of the other, and each opens like a USB serial adapter. The ELM327
 * and NMEA emulators (and their tests, benches and `qood obd|gnss emulate`) put a simulated device on
 * one end; the driver, the agent or a user's tool opens the other. The caller stops socat with
 * `close()`, which signals socat's pid only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A running socat pair. */
export interface PtyPair {
  /** Symlink to the device end (the emulator writes here). */
  readonly devicePath: string;
  /** Symlink to the user end (what a driver or a user's tool opens). */
  readonly userPath: string;
  readonly pid: number;
  /**
   * Resolves with socat's exit code (null when a signal ended it) once it exits, by `close()` or on its
   * own: socat ends when one end is closed by its user.
   */
  readonly exited: Promise<number | null>;
  /**
   * Kills socat (both links disappear, as when a USB adapter is unplugged) and waits for it to exit;
   * SIGKILL after 2 s if SIGTERM was not enough. Harmless after socat has gone.
   */
  close(): Promise<void>;
}

/** Why a pty pair could not be opened. */
export type PtyPairErrorCode = 'NO_SOCAT' | 'NOT_READY';

/** The one error `openPtyPair` throws. */
export class PtyPairError extends Error {
  constructor(
    readonly code: PtyPairErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PtyPairError';
  }
}

/** Options of {@link openPtyPair}. */
export interface PtyPairOptions {
  /** The socat program (default `socat` on the PATH). */
  socat?: string;
  /** How long socat has to create both links and start copying (default 5000). */
  timeoutMs?: number;
}

const CLOSE_GRACE_MS = 2000;

/**
 * Starts socat and resolves once both links exist and socat has entered its copy loop (it logs
 * "starting data transfer loop" at `-d -d`): before that, bytes written to one end may be lost.
 */
export async function openPtyPair(
  devicePath: string,
  userPath: string,
  options: PtyPairOptions = {},
): Promise<PtyPair> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const child: ChildProcess = spawn(
    options.socat ?? 'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${userPath}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(devicePath) && existsSync(userPath) && /starting data transfer loop/.test(stderr))) {
    const err = await Promise.race([
      spawnError,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 20)),
    ]);
    if (err !== undefined)
      throw new PtyPairError('NO_SOCAT', `cannot run socat (apt-get install socat): ${err.message}`);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new PtyPairError(
        'NOT_READY',
        `socat exited before the ptys were ready (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`,
      );
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new PtyPairError(
        'NOT_READY',
        `socat did not create ${devicePath} and ${userPath} within ${timeoutMs} ms: ${stderr.trim()}`,
      );
    }
  }
  return {
    devicePath,
    userPath,
    pid: child.pid!,
    exited,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, CLOSE_GRACE_MS))]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
