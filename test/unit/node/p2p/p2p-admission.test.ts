/**
 * Who gets a connection slot (issue 14, attack 12): idle sockets that never finish a handshake, many
 * connections from one address and a table full of unknown peers must not keep an authenticated
 * peer, a configured peer or a scheduled producer out. Real TCP on loopback; the attacker's sockets
 * come from other loopback addresses (127.0.0.0/8 is all local on Linux).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGenesis, Ed25519Signer, toHex } from '../../../../chain/index.js';
import {
  formatGenesis,
  newNodeSecret,
  nodeConfigSchema,
  startNode as startNodeProcess,
  writeKeyFile,
} from '../../../../node/index.js';
import type { P2pMessage } from '../../../../node/p2p/index.js';
import { localGenesis } from '../../../../node/runtime/index.js';
import { noopNotifier, silentLogger } from '../../../../process/index.js';
import { waitUntil } from '../../../support/cli.js';
import { p2pTestKey, p2pTestNodes } from '../../../support/p2p-nodes.js';
import { TcpProxy } from '../../../support/tcp-proxy.js';

const key = p2pTestKey;
const spec = localGenesis({
  chainId: 'qood-unit',
  preset: 'minimal',
  producers: [key(1), key(2), key(3), key(4)],
  whale: key(9),
  timeMs: 1_800_000_000_000,
});
const genesisId = createGenesis(spec).blockId;
const { startNode, stopAll } = p2pTestNodes(genesisId);

const sockets: Socket[] = [];
const proxies: TcpProxy[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await stopAll();
  for (const p of proxies.splice(0)) await p.close();
});

/**
 * A TCP connection from `localAddress` that never completes a hello: it sends nothing, or (with
 * `dribble`) the first bytes of a frame and then nothing. Resolves once connected.
 */
function idleSocket(port: number, localAddress: string, dribble = false): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(s);
    s.on('error', () => {});
    s.resume(); // read (and drop) the node's hello, so its close is seen
    s.once('connect', () => {
      if (dribble) s.write(Uint8Array.of(0, 0, 0));
      resolve(s);
    });
    s.once('close', () => resolve(s));
  });
}

const openSockets = (list: Socket[]) => list.filter((s) => !s.destroyed && s.readyState === 'open');

const status: P2pMessage = { kind: 'status', finalHeight: 3, headHeight: 4 };

describe('p2p admission', () => {
  it('70 idle connections do not take the slots of an authenticated peer', async () => {
    const a = await startNode(11);
    const c = await startNode(12, [a.net.listenPort]);
    await waitUntil(() => a.net.peerKeys.includes(c.key), 3000, 'the established peer');
    // 70 sockets from 70 addresses (so per-address limits play no part): half say nothing, half
    // send 3 bytes of a frame header and stop.
    const idle = await Promise.all(
      Array.from({ length: 70 }, (_, i) => idleSocket(a.net.listenPort, `127.0.1.${i + 1}`, i % 2 === 1)),
    );
    expect(idle).toHaveLength(70);
    const started = Date.now();
    const b = await startNode(13, [a.net.listenPort]);
    // Well within the 5 s handshake deadline the idle sockets had before.
    await waitUntil(() => a.net.peerKeys.includes(b.key) && b.net.peerKeys.includes(a.key), 1500, 'b');
    expect(Date.now() - started).toBeLessThan(1500);
    b.net.send(a.key, status);
    a.net.send(b.key, status);
    await waitUntil(() => a.got.some((g) => g.from === b.key) && b.got.length > 0, 2000, 'messages');
    // The peer connected before the flood was never dropped.
    expect(a.net.peerKeys).toContain(c.key);
    expect(a.downs).toEqual([]);
    expect(c.downs).toEqual([]);
  });

  it('one address cannot hold more than N connections', async () => {
    // By default one address holds at most 2 connections in handshake ...
    const a = await startNode(11);
    const mine = await Promise.all(
      Array.from({ length: 10 }, () => idleSocket(a.net.listenPort, '127.0.0.3')),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(openSockets(mine)).toHaveLength(2);
    expect(a.net.stats.refusedAddressLimit).toBe(8);
    // ... and at most maxPerAddress connections in all, in handshake or not.
    const a2 = await startNode(15, [], { admission: { maxPerAddress: 4, maxHandshakesPerAddress: 8 } });
    const more = await Promise.all(
      Array.from({ length: 10 }, () => idleSocket(a2.net.listenPort, '127.0.0.4')),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(openSockets(more)).toHaveLength(4);
    expect(a2.net.stats.refusedAddressLimit).toBe(6);
    // Another address is still welcome.
    const b = await startNode(13, [a.net.listenPort]);
    await waitUntil(() => a.net.peerKeys.includes(b.key), 2000, 'b');
  });

  it('a configured peer is admitted when the table is full of others', async () => {
    const producer = key(2);
    // Q is configured on A (A dials it); its proxy refuses connections until A's table is full.
    const q = await startNode(14);
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: q.net.listenPort });
    proxies.push(proxy);
    proxy.setUp(false);
    const a = await startNode(11, [proxy.port], {
      admission: { maxPeers: 2 },
      // The node's scheduled producers (FullNode passes its schedule).
      isPriority: (k) => k === toHex(producer.publicKey),
    });
    const o1 = await startNode(21, [a.net.listenPort]);
    const o2 = await startNode(22, [a.net.listenPort]);
    await waitUntil(() => a.net.peerKeys.length === 2, 3000, 'a full table');
    const o3 = await startNode(23, [a.net.listenPort]);
    await waitUntil(() => a.net.stats.refusedTableFull > 0, 3000, 'a third other refused');
    expect(a.net.peerKeys).not.toContain(o3.key);
    // A scheduled producer dialing in is admitted past the limit ...
    const p = await startNode(2, [a.net.listenPort]);
    await waitUntil(() => a.net.peerKeys.includes(p.key), 3000, 'the producer');
    // ... and so is the configured peer A dials.
    proxy.setUp(true);
    await waitUntil(() => a.net.peerKeys.includes(q.key), 8000, 'the configured peer');
    expect(a.net.peerKeys.sort()).toEqual([o1.key, o2.key, p.key, q.key].sort());
  });

  it('drops an inbound connection whose hello has not arrived by the hello deadline', async () => {
    const a = await startNode(11, [], { limits: { inboundHelloTimeoutMs: 200 } });
    const quiet = await idleSocket(a.net.listenPort, '127.0.0.5');
    const dribbler = await idleSocket(a.net.listenPort, '127.0.0.6', true);
    await waitUntil(() => quiet.destroyed && dribbler.destroyed, 1500, 'both to be dropped');
    expect(a.net.stats.lastHandshakeFailure).toMatch(/no hello within 200 ms/);
  });

  it("takes its limits from the chain config's p2p section", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qood-p2p-config-'));
    try {
      const secret = newNodeSecret();
      writeKeyFile(join(dir, 'node.key'), secret);
      const genesis = localGenesis({
        chainId: 'qood-p2p-config',
        preset: 'minimal',
        producers: [new Ed25519Signer(secret)],
        whale: key(9),
        timeMs: Date.now(),
      });
      writeFileSync(join(dir, 'genesis.yaml'), formatGenesis(genesis));
      const config = nodeConfigSchema.parse({
        node: { dataDir: dir, socketPath: join(dir, 'node.sock') },
        chain: {
          keyFile: join(dir, 'node.key'),
          genesisFile: join(dir, 'genesis.yaml'),
          preset: 'minimal',
          listen: '127.0.0.1:0',
          p2p: { maxHandshakesPerAddress: 1 },
        },
      });
      expect(() =>
        nodeConfigSchema.parse({ ...config, chain: { ...config.chain, p2p: { maxSockets: 3 } } }),
      ).toThrow(/maxSockets/);
      const node = await startNodeProcess({ config, logger: silentLogger, notifier: noopNotifier });
      try {
        const port = node.fullNode!.network.listenPort;
        const mine = await Promise.all(Array.from({ length: 4 }, () => idleSocket(port, '127.0.0.7')));
        await new Promise((r) => setTimeout(r, 300));
        expect(openSockets(mine)).toHaveLength(1);
      } finally {
        await node.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
