/**
 * `qood devnet start --nodes 4`: four `qood node` processes on loopback, talking over TCP, each with
 * its SQLite chain database and HTTP API. Checks, through the HTTP API of every node:
 * - finality is reached and kept for 2 minutes: every node's final height grows in every 4 s window, the
 *   head stays within a few blocks of the final one, and all nodes hold the same final block ids;
 * - a peer sending garbage, an oversized frame, invalid blocks or a flood of messages is cut off
 *   (banned when its score falls low enough) and the nodes keep finalizing;
 * - a node killed with SIGKILL and started again replays its database and catches up from its peers,
 *   ending on the same final chain.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBlock, createGenesis, Ed25519Signer } from '../../../chain/index.js';
import {
  DEFAULT_PEER_LIMITS,
  dialTcp,
  encodeFrame,
  encodeP2p,
  type P2pMessage,
  Peer,
} from '../../../node/p2p/index.js';
import { readGenesisFile } from '../../../node/runtime/index.js';
import { collectOutput, startQood, waitUntil } from '../../support/cli.js';
import { takeVmLock } from '../vm/run-in-vm.js';

const NODES = 4;
const BASE = 30_000 + Math.floor(Math.random() * 20_000);
const api = (i: number) => `http://127.0.0.1:${BASE + 100 + i}`;

interface Status {
  head: { height: number };
  final: { height: number; id: string };
  network: { peersCutOff: number; bans: number; lastCutOff?: string };
  node: { replayedBlocks: number; rangesFetched: number };
  peers: unknown[];
}

async function status(i: number): Promise<Status | undefined> {
  try {
    const r = await fetch(`${api(i)}/status`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as Status) : undefined;
  } catch {
    return undefined;
  }
}

async function blockId(i: number, height: number): Promise<string | undefined> {
  const r = await fetch(`${api(i)}/blocks/${height}`, { signal: AbortSignal.timeout(2000) });
  return r.ok ? ((await r.json()) as { id: string }).id : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a raw TCP connection; resolves `closed` when the node closes it. */
function raw(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => {});
    // Read (and drop) what the node sends, so its close is seen.
    socket.resume();
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/** An authenticated peer with a fresh key, connected to node 0. */
async function authenticatedPeer(genesisId: Uint8Array, signer: Ed25519Signer) {
  const link = await dialTcp('127.0.0.1', BASE, 3000);
  let closeReason = '';
  const closed = new Promise<void>((done) => link.onClose(() => done()));
  const ready = new Promise<Peer>((resolve) => {
    new Peer({
      link,
      outbound: true,
      ctx: { chainId: 'qood-devnet', genesisId, signer },
      listenPort: 0,
      limits: DEFAULT_PEER_LIMITS,
      nowMs: Date.now,
      onReady: resolve,
      onMessage: () => {},
      onClose: (_p, c) => {
        closeReason = c.reason;
      },
    });
  });
  const peer = await Promise.race([ready, sleep(5000).then(() => undefined)]);
  if (peer === undefined) throw new Error(`handshake with node 0 failed: ${closeReason}`);
  return { peer, link, closed };
}

describe('qood devnet start: 4 producer processes on loopback', () => {
  let dir: string;
  let releaseLock: (() => void) | undefined;
  let devnet: ChildProcess;
  let out: ReturnType<typeof collectOutput>;
  let restarted: ChildProcess | undefined;

  beforeAll(async () => {
    // Four nodes busy for minutes: never beside a VM (see takeVmLock).
    releaseLock = await takeVmLock();
    dir = mkdtempSync(join(tmpdir(), 'qood-devnet-'));
    devnet = startQood([
      'devnet',
      'start',
      '--nodes',
      String(NODES),
      '--dir',
      dir,
      '--base-port',
      String(BASE),
    ]);
    out = collectOutput(devnet);
    await waitUntil(() => out.stdout().includes('Ctrl-C stops the devnet'), 30_000, 'the devnet to start');
    await waitUntil(
      async () => {
        const s = await Promise.all([0, 1, 2, 3].map(status));
        return s.every((x) => x !== undefined && x.final.height >= 2);
      },
      60_000,
      'every node to finalize a block',
      250,
    );
  }, 1_500_000);

  afterAll(async () => {
    restarted?.kill('SIGTERM');
    if (devnet.exitCode === null) {
      devnet.kill('SIGTERM');
      await waitUntil(() => devnet.exitCode !== null, 10_000, 'the devnet to stop').catch(() => {
        devnet.kill('SIGKILL');
      });
    }
    rmSync(dir, { recursive: true, force: true });
    releaseLock?.();
  });

  it('prints each node and its HTTP API', () => {
    for (let i = 0; i < NODES; i++) expect(out.stdout()).toContain(`node ${i}: ${api(i)}`);
  });

  it('reaches finality and keeps it for 2 minutes, every node on the same final chain', async () => {
    const first = await Promise.all([0, 1, 2, 3].map(status));
    let prev = first.map((s) => s!.final.height);
    for (let w = 0; w < 30; w++) {
      await sleep(4000);
      const now = await Promise.all([0, 1, 2, 3].map(status));
      for (let i = 0; i < NODES; i++) {
        const s = now[i]!;
        // 4 s is 8 slots: finality must have moved on every node.
        expect(s.final.height, `node ${i} in window ${w}`).toBeGreaterThan(prev[i]!);
        expect(s.head.height - s.final.height, `node ${i} head vs final`).toBeLessThanOrEqual(4);
      }
      prev = now.map((s) => s!.final.height);
    }
    // 120 s is 240 slots; allow for missed ones on a loaded machine.
    expect(Math.min(...prev) - Math.max(...first.map((s) => s!.final.height))).toBeGreaterThanOrEqual(150);
    const h = Math.min(...prev);
    for (const height of [1, Math.floor(h / 4), Math.floor(h / 2), Math.floor((3 * h) / 4), h]) {
      const ids = await Promise.all([0, 1, 2, 3].map((i) => blockId(i, height)));
      expect(new Set(ids).size, `block ids at ${height}: ${ids.join(', ')}`).toBe(1);
      expect(ids[0]).toMatch(/^[0-9a-f]{64}$/);
    }
  }, 160_000);

  it('cuts off garbage, an oversized frame, invalid blocks and a flood; the nodes keep finalizing', async () => {
    const before = (await status(0))!;
    // Garbage after the node's hello: a frame that is not a message.
    const g = await raw(BASE);
    g.socket.write(encodeFrame(new TextEncoder().encode('not a message at all')));
    await Promise.race([g.closed, sleep(3000).then(() => Promise.reject(new Error('garbage: not cut off')))]);
    // A frame announcing 4 GiB.
    const o = await raw(BASE);
    o.socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
    await Promise.race([
      o.closed,
      sleep(3000).then(() => Promise.reject(new Error('oversized: not cut off'))),
    ]);

    const spec = readGenesisFile(join(dir, 'genesis.yaml'), 'minimal');
    const genesis = createGenesis(spec);
    // Invalid blocks from an authenticated stranger: a time that is no slot's start (BAD_SLOT).
    const bad = new Ed25519Signer(new Uint8Array(32).fill(7));
    const a = await authenticatedPeer(genesis.blockId, bad);
    for (let k = 1; k <= 6; k++) {
      const block = buildBlock(genesis, [], bad, spec.timeMs + k * 500 + 1).block;
      a.peer.send({ kind: 'block', block } as P2pMessage);
    }
    await Promise.race([
      a.closed,
      sleep(3000).then(() => Promise.reject(new Error('invalid blocks: not cut off'))),
    ]);
    // A flood of 30,000 status messages in one tick (one write) from another stranger, each sealed
    // as the session requires (a clear frame after the handshake would be cut off as unsealed).
    const f = await authenticatedPeer(genesis.blockId, new Ed25519Signer(new Uint8Array(32).fill(9)));
    const one = encodeP2p({ kind: 'status', finalHeight: 1, headHeight: 1 });
    for (let k = 0; k < 30_000; k++) f.peer.sendPayload(one);
    await Promise.race([f.closed, sleep(3000).then(() => Promise.reject(new Error('flood: not cut off')))]);

    const after = (await status(0))!;
    expect(after.network.peersCutOff - before.network.peersCutOff).toBeGreaterThanOrEqual(4);
    expect(after.network.bans).toBeGreaterThanOrEqual(1);
    // The honest nodes are still connected to each other and keep finalizing.
    await sleep(3000);
    const later = await Promise.all([0, 1, 2, 3].map(status));
    for (const s of later) expect(s!.final.height).toBeGreaterThan(after.final.height);
    expect(later[0]!.peers.length).toBe(NODES - 1);
  }, 30_000);

  it('a node killed with SIGKILL restarts from its database and catches up from its peers', async () => {
    const pid = Number(readFileSync(join(dir, 'node3', 'pid'), 'utf8'));
    const before = (await status(3))!;
    process.kill(pid, 'SIGKILL');
    await sleep(5000);
    // Three of four producers are a quorum: the others keep finalizing meanwhile.
    const others = (await status(0))!;
    expect(others.final.height).toBeGreaterThanOrEqual(before.final.height + 5);
    restarted = startQood(['node', '-c', join(dir, 'node3', 'node.yaml')]);
    let s3: Status | undefined;
    await waitUntil(
      async () => {
        s3 = await status(3);
        return s3 !== undefined && s3.final.height >= others.final.height + 2;
      },
      15_000,
      'node 3 to catch up',
      250,
    );
    expect(s3!.node.replayedBlocks).toBeGreaterThanOrEqual(before.final.height);
    expect(s3!.node.rangesFetched).toBeGreaterThanOrEqual(1);
    const h = others.final.height;
    expect(await blockId(3, h)).toBe(await blockId(0, h));
    // It takes part again: finality keeps moving on it.
    await sleep(2000);
    expect((await status(3))!.final.height).toBeGreaterThan(s3!.final.height);
  }, 40_000);
});
