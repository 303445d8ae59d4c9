/**
 * A real mosquitto broker for system tests: started with a generated config on a free loopback
 * port, with its persistence file and log in a temporary folder. `kill()` ends it with SIGKILL (a
 * crash: no final save), `restart()` brings it back on the same port with the same folder, and
 * `stop()` ends it and removes the folder. Every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { waitExit } from './cli.js';
import { findProgram } from './system.js';

/** A free TCP port on 127.0.0.1 (bound and released; a small race that tests accept). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export interface MosquittoOptions {
  /** Seconds between saves of the persistence file (default 1800, mosquitto's: a crash loses the sessions). */
  readonly autosaveIntervalSec?: number;
  /** Extra config lines. */
  readonly extra?: readonly string[];
  /**
   * Lines that replace the plain loopback listener (`listener PORT 127.0.0.1` and
   * `allow_anonymous true`), given the port: a TLS listener with its certificates and ACL.
   */
  readonly listener?: (port: number) => readonly string[];
  /** The listener speaks TLS: `url` is `mqtts://`. */
  readonly tls?: boolean;
}

export class Mosquitto {
  readonly dir: string;
  readonly port: number;
  #child: ChildProcess | undefined;
  #conf: string;
  #tls: boolean;

  private constructor(dir: string, port: number, conf: string, tls: boolean) {
    this.dir = dir;
    this.port = port;
    this.#conf = conf;
    this.#tls = tls;
  }

  /** `mqtt://127.0.0.1:PORT` (`mqtts://` for a TLS listener). */
  get url(): string {
    return `${this.#tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** True while the broker process runs. */
  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** The broker's log so far (for failure messages). */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'mosquitto.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Starts a broker and waits until it accepts connections (at most 10 s). */
  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'qood-mosquitto-'));
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        ...(options.listener?.(port) ?? [`listener ${port} 127.0.0.1`, 'allow_anonymous true']),
        'persistence true',
        `persistence_location ${dir}/`,
        `autosave_interval ${options.autosaveIntervalSec ?? 1800}`,
        `log_dest file ${join(dir, 'mosquitto.log')}`,
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        'max_queued_messages 100000',
        // Started as root, mosquitto would switch to the 'mosquitto' user, who cannot write here.
        `user ${userInfo().username}`,
        ...(options.extra ?? []),
        '',
      ].join('\n'),
    );
    const m = new Mosquitto(dir, port, conf, options.tls ?? false);
    await m.#spawn();
    return m;
  }

  async #spawn(): Promise<void> {
    const bin = findProgram('mosquitto');
    if (bin === undefined) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
    const child = spawn(bin, ['-c', this.#conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    this.#child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`mosquitto exited with ${child.exitCode}: ${stderr}${this.log()}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`mosquitto did not listen on ${this.port} within 10 s: ${stderr}${this.log()}`);
  }

  /** Ends the broker with SIGKILL, as a crash would, and waits for it to exit. */
  async kill(): Promise<void> {
    const c = this.#child;
    this.#child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGKILL');
    await waitExit(c, 5000);
  }

  /**
   * Sends SIGHUP, as `systemctl reload mosquitto` does: mosquitto reloads its config, ACL file,
   * certificates and CRL without dropping clients. Resolves once its log shows the reload (at most
   * 10 s); the listeners' TLS settings are renewed right after that line.
   */
  async reload(): Promise<void> {
    const count = () => this.log().split('Reloading config.').length;
    const before = count();
    this.#child?.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (count() === before) {
      if (Date.now() > deadline) throw new Error(`mosquitto did not log a reload within 10 s: ${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Starts the broker again on the same port, with the same persistence folder. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  /** Ends the broker and removes its folder. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
