/**
 * Permissions on the device:
 *
 * - control latency from a command's arrival to its frame written on the bus (p50, p99), in process
 *   with the real SQLite permission store (synchronous FULL: the nonce is durable before the frame)
 *   and with the memory store, against the floor of the signature check every command needs before
 *   its frame (the receipt is signed after it); then through a real mosquitto (grantee publish ->
 *   frame), when mosquitto is installed;
 * - listener fan-out: sealed messages per second of CPU for 100 grantees x 10 signals, against the
 *   floor of bare ChaCha20-Poly1305 seals of the same plaintext, and the CPU share at 100 grantees
 *   x 10 signals x 5 Hz;
 * - revocation to stop: how long `revoke` takes (after it returns nothing more is sealed or
 *   executed for the grant), with the SQLite store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePermissionStore } from '../../agent/store/index.js';
import { openMqttUplink } from '../../agent/sync/index.js';
import {
  Ed25519Signer,
  encodeListenerPayload,
  seal,
  signCommand,
  taggedHash,
  toHex,
  verify,
} from '../../chain/index.js';
import { waitUntil } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';
import { type PermissionRig, parked, permissionRig, VEHICLE } from '../support/permissions.js';
import { findProgram } from '../support/system.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const N = 300;
let dir = '';
let files = 0;
let broker: Mosquitto | undefined;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

function sqliteRig(extra: Parameters<typeof permissionRig>[0] = {}): PermissionRig {
  return permissionRig({ store: new SqlitePermissionStore({ path: join(dir, `p${files++}.db`) }), ...extra });
}

/** Arrival -> frame written, ms, for N lock commands. */
async function inProcess(rig: PermissionRig): Promise<number[]> {
  const probe = rig.wire.attach('probe');
  let frameAt = 0;
  probe.onFrame(() => {
    frameAt = performance.now();
  });
  const id = rig.grant('control', ['lock'], { commandLimit: { count: 1_000_000, perMs: 1000 } });
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    parked(rig);
    const bytes = rig.command(id, 'lock');
    const t0 = performance.now();
    await rig.perms.control!.handle(id, bytes);
    out.push(frameAt - t0);
    rig.clock.nowMs += 10;
  }
  rig.store.close();
  return out;
}

const latency: Record<string, number[]> = {};
async function cached(key: string, make: () => Promise<number[]>, run: () => number): Promise<number[]> {
  if (run() % 2 === 0 || latency[key] === undefined) latency[key] = await make();
  return latency[key]!;
}

/** The one signature check every command needs before its frame (the receipt is signed after it). */
function cryptoFloor(): number {
  const grantee = new Ed25519Signer(new Uint8Array(32).fill(3));
  const msg = taggedHash('bench', new Uint8Array(100));
  const sig = grantee.sign(msg);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) verify(sig, msg, grantee.publicKey);
  return (performance.now() - t0) / N;
}

async function throughBroker(m: Mosquitto): Promise<number[]> {
  const deviceLink = openMqttUplink({ url: m.url, clientId: `bench-dev-${files}` });
  const granteeLink = openMqttUplink({ url: m.url, clientId: `bench-gr-${files++}` });
  const rig = permissionRig({ uplink: deviceLink, realClock: true });
  await waitUntil(() => deviceLink.connected && granteeLink.connected, 10_000, 'connected');
  rig.perms.start();
  await new Promise((r) => setTimeout(r, 200));
  const probe = rig.wire.attach('probe');
  let frames = 0;
  let frameAt = 0;
  probe.onFrame(() => {
    frames++;
    frameAt = performance.now();
  });
  const id = rig.grant('control', ['lock'], { commandLimit: { count: 1_000_000, perMs: 1000 } });
  const out: number[] = [];
  for (let i = 0; i < 200; i++) {
    parked(rig);
    const bytes = signCommand(
      {
        grantId: id,
        command: 'lock',
        args: {},
        nonce: toHex(new Uint8Array(randomBytes(16))),
        issuedMs: Date.now(),
      },
      rig.grantee.signer,
    );
    const before = frames;
    const t0 = performance.now();
    await granteeLink.publish(`qood/v1/${VEHICLE}/control/${id}/cmd`, bytes);
    await waitUntil(() => frames > before, 5000, 'the frame', 0);
    out.push(frameAt - t0);
  }
  await rig.perms.stop();
  await granteeLink.close();
  await deviceLink.close();
  return out;
}

/** Sealed messages per CPU second for `grants` grantees x `signals` signals. */
function fanOut(grants: number, signals: number): { perCpuS: number; bytes: number } {
  let sent = 0;
  let bytes = 0;
  const uplink = {
    connected: true,
    publish: async (_t: string, b: Uint8Array) => {
      sent++;
      bytes += b.length;
    },
    subscribe: async () => {},
    onMessage: () => () => {},
    onConnect: () => () => {},
    onDisconnect: () => () => {},
    close: async () => {},
  };
  const rig = permissionRig({ uplink, maxRateHz: 100 });
  const paths = Array.from({ length: signals }, (_, i) => `Vehicle.Bench.S${i}`);
  for (let g = 0; g < grants; g++)
    rig.grant('listen', paths, { rateHz: 5, granularity: new Map([[paths[0]!, 0.1]]) });
  const cpu0 = process.cpuUsage();
  for (let t = 0; t < 40; t++) {
    for (const p of paths) rig.setSignal(p, Math.random() * 100);
    rig.perms.hub.tick();
    rig.clock.nowMs += 200;
  }
  const cpu = process.cpuUsage(cpu0);
  return { perCpuS: sent / ((cpu.user + cpu.system) / 1e6), bytes: bytes / Math.max(1, sent) };
}

function aeadFloor(signals: number): number {
  const values = Array.from(
    { length: signals },
    (_, i) => [`Vehicle.Bench.S${i}`, Math.random() * 100, Date.now()] as const,
  );
  const key = new Uint8Array(32).fill(1);
  const nonce = new Uint8Array(12);
  const cpu0 = process.cpuUsage();
  const n = 4000;
  for (let i = 0; i < n; i++) seal(key, nonce, encodeListenerPayload(Date.now(), values));
  const cpu = process.cpuUsage(cpu0);
  return n / ((cpu.user + cpu.system) / 1e6);
}

function revokeTimes(): number[] {
  const rig = sqliteRig();
  const out: number[] = [];
  for (let i = 0; i < 50; i++) {
    const id = rig.grant('listen', ['Vehicle.Speed'], { rateHz: 10 });
    rig.setSignal('Vehicle.Speed', i);
    rig.perms.hub.tick();
    const t0 = performance.now();
    rig.perms.revoke(id);
    out.push(performance.now() - t0);
  }
  rig.store.close();
  return out;
}

let runNo = 0;
export const suite: BenchSuite = {
  name: 'control',
  async figures() {
    dir = mkdtempSync(join(tmpdir(), 'qood-control-bench-'));
    const figures: BenchFigure[] = [
      {
        name: `control arrival -> frame p50 (SQLite full, ${N} cmds)`,
        unit: 'ms',
        runs: 3,
        measure: async () =>
          pct(
            await cached(
              'sqlite',
              () => inProcess(sqliteRig()),
              () => runNo++,
            ),
            50,
          ),
        floor: { name: 'ed25519 verify', measure: cryptoFloor },
      },
      {
        name: `control arrival -> frame p99 (SQLite full, ${N} cmds)`,
        unit: 'ms',
        runs: 3,
        measure: async () =>
          pct(
            await cached(
              'sqlite',
              () => inProcess(sqliteRig()),
              () => runNo++,
            ),
            99,
          ),
        floor: { name: 'ed25519 verify', measure: cryptoFloor },
      },
      {
        name: `control arrival -> frame p50 (memory store, ${N} cmds)`,
        unit: 'ms',
        runs: 3,
        measure: async () => pct(await inProcess(permissionRig()), 50),
        floor: { name: 'ed25519 verify', measure: cryptoFloor },
      },
      {
        name: 'listener fan-out, 100 grantees x 10 signals',
        unit: 'msgs/CPU-s',
        runs: 3,
        measure: () => fanOut(100, 10).perCpuS,
        floor: { name: 'bare AEAD seal of the payload', measure: () => aeadFloor(10) },
      },
      {
        name: 'listener CPU at 100 grantees x 10 signals x 5 Hz',
        unit: '% of a core',
        runs: 3,
        measure: () => (500 / fanOut(100, 10).perCpuS) * 100,
      },
      {
        name: 'revoke -> stopped (SQLite full), median',
        unit: 'ms',
        runs: 3,
        measure: () => pct(revokeTimes(), 50),
        note: 'nothing is sealed or executed for the grant after revoke returns',
      },
    ];
    if (findProgram('mosquitto') !== undefined) {
      broker = await Mosquitto.start();
      const b = broker;
      let through: number[] | undefined;
      figures.push(
        {
          name: 'control publish -> frame p50 through mosquitto',
          unit: 'ms',
          runs: 1,
          measure: async () => {
            through = await throughBroker(b);
            return pct(through, 50);
          },
        },
        {
          name: 'control publish -> frame p99 through mosquitto',
          unit: 'ms',
          runs: 1,
          measure: async () => pct(through ?? (await throughBroker(b)), 99),
        },
      );
    }
    return figures;
  },
  async teardown() {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
};
