/**
 * gpsfake (Debian's gpsd-clients): starts a real gpsd on a private port and feeds it an NMEA log
 * through a pseudo-terminal, as if a receiver were plugged in. gpsfake waits for the first client
 * before it feeds the log; `-1` plays it once, `-c` sets the delay between sentences.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface GpsfakeOptions {
  readonly logFile: string;
  /** TCP port for gpsd (default: a free one). */
  readonly port?: number;
  /** Seconds between sentences (gpsfake -c; default 0.02). */
  readonly cycleS?: number;
  /** Play the log once (-1, default) or loop it. */
  readonly once?: boolean;
  readonly gpsfake?: string;
}

export interface Gpsfake {
  readonly port: number;
  readonly pid: number;
  /** Output gpsfake printed (its own and gpsd's complaints). */
  output(): string;
  /** Stops gpsfake and its gpsd (by process group) and waits for it. */
  close(): Promise<void>;
}

/** A TCP port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

/** Starts gpsfake; resolves once gpsd listens on the port (within 10 s). */
export async function startGpsfake(options: GpsfakeOptions): Promise<Gpsfake> {
  const port = options.port ?? (await freePort());
  const args = ['-q', '-P', String(port), '-c', String(options.cycleS ?? 0.02)];
  if (options.once ?? true) args.push('-1');
  args.push(options.logFile);
  // Its own process group, so stopping it also stops the gpsd it started.
  const child: ChildProcess = spawn(options.gpsfake ?? 'gpsfake', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  };
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `gpsfake did not start gpsd on port ${port}: ${out.trim() || `exit ${child.exitCode}`}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, pid: child.pid!, output: () => out, close: stop };
}

/** True when something accepts TCP connections on 127.0.0.1:port. The probe is closed at once. */
function listening(port: number): Promise<boolean> {
  return import('node:net').then(
    ({ connect }) =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
  );
}
