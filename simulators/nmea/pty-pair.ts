/**
 * Two linked pseudo-terminals made by socat (`socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`):
 * what is written to one comes out of the other, and each opens like a USB serial adapter. The
 * emulators put a simulated device on one end; the agent or a user's tool opens the other.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PtyPair {
  /** The device end (the emulator writes here) and the user end (what a driver opens). */
  readonly devicePath: string;
  readonly userPath: string;
  readonly pid: number;
  /** Kills socat (both ends disappear, as when a USB receiver is unplugged) and waits for it. */
  close(): Promise<void>;
}

export type PtyPairErrorCode = 'NO_SOCAT' | 'NOT_READY';

export class PtyPairError extends Error {
  constructor(
    readonly code: PtyPairErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PtyPairError';
  }
}

/** Starts socat and resolves when both links exist (within `timeoutMs`, default 5 s). */
export async function openPtyPair(
  devicePath: string,
  userPath: string,
  options: { socat?: string; timeoutMs?: number } = {},
): Promise<PtyPair> {
  const child: ChildProcess = spawn(
    options.socat ?? 'socat',
    [`pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${userPath}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    const err = await Promise.race([
      spawnError,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 20)),
    ]);
    if (err !== undefined)
      throw new PtyPairError('NO_SOCAT', `cannot run socat (apt-get install socat): ${err.message}`);
    if (child.exitCode !== null)
      throw new PtyPairError('NOT_READY', `socat exited with ${child.exitCode}: ${stderr.trim()}`);
    if (existsSync(devicePath) && existsSync(userPath)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new PtyPairError('NOT_READY', `socat did not create ${devicePath} and ${userPath}`);
    }
  }
  return {
    devicePath,
    userPath,
    pid: child.pid!,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
