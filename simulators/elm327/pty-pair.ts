/**
 * A linked pair of pseudo-terminals made by socat (`socat -d -d pty,raw,echo=0,link=A
 * pty,raw,echo=0,link=B`): two serial devices where what is written to one is read from the other,
 * which `serialport` opens like a USB adapter. Tests and `qood obd emulate` put the emulator on one
 * end and the driver on the other. The caller stops socat by `stop()` (its pid only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A running socat pair. */
export interface PtyPair {
  /** Symlink to the first pty (the emulator's end). */
  readonly a: string;
  /** Symlink to the second pty (what a user connects to). */
  readonly b: string;
  readonly pid: number;
  /** Kills socat (SIGTERM) and waits for it to exit; the links disappear with it. */
  stop(): Promise<void>;
  /** Resolves when socat exits on its own (it does when one end is closed by its user). */
  readonly exited: Promise<number | null>;
}

/** Starts socat and resolves once both links exist (rejects after `timeoutMs`). */
export async function startPtyPair(a: string, b: string, timeoutMs = 5000): Promise<PtyPair> {
  const child: ChildProcess = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (!(existsSync(a) && existsSync(b) && /starting data transfer loop/.test(stderr))) {
    if (gone) throw new Error(`socat exited before the ptys were ready: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`socat did not create ${a} and ${b} within ${timeoutMs} ms: ${stderr.trim()}`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 20)), spawnError]);
  }
  return {
    a,
    b,
    pid: child.pid!,
    exited,
    async stop() {
      if (!gone) child.kill('SIGTERM');
      await exited;
    },
  };
}
