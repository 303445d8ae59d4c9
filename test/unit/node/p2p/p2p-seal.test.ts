/**
 * Traffic after the handshake is sealed (issue 14, attack 12): a man in the middle of a TCP link
 * between two nodes sees no plaintext, and a frame it alters, replays or reorders closes the
 * connection instead of reaching the node. Real TCP on loopback through a proxy that parses the
 * frames it carries and can tamper with them.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createGenesis,
  encodeCanonical,
  encodeSignedTx,
  type SignedTx,
  signTx,
  toHex,
} from '../../../../chain/index.js';
import { encodeFrame, FrameDecoder, P2P_VERSION } from '../../../../node/p2p/index.js';
import { localGenesis } from '../../../../node/runtime/index.js';
import { waitUntil } from '../../../support/cli.js';
import { p2pTestKey, p2pTestNodes, type TestNode } from '../../../support/p2p-nodes.js';

const key = p2pTestKey;
const whale = key(9);
const spec = localGenesis({
  chainId: 'qood-unit',
  preset: 'minimal',
  producers: [key(1), key(2), key(3), key(4)],
  whale,
  timeMs: 1_800_000_000_000,
});
const genesisId = createGenesis(spec).blockId;
const { startNode, stopAll } = p2pTestNodes(genesisId);

const transfer = (nonce: number): SignedTx =>
  signTx(
    {
      chainId: 'qood-unit',
      kind: 'transfer',
      sender: toHex(whale.publicKey),
      nonce,
      fee: 0n,
      body: {
        to: toHex(key(5).publicKey),
        token: 'QDT',
        amount: 1_000_000n,
        memo: new TextEncoder().encode(`a memo to look for on the wire, number ${nonce}`),
      },
    },
    whale,
  );

/**
 * A TCP proxy to `target` that splits what the dialer sends into frames, lets `tamper` replace
 * each (by index on its connection: 0 is hello, 1 is auth) and records every byte either way.
 */
class FrameProxy {
  readonly #server: Server;
  readonly #sockets: Socket[] = [];
  /** Bytes the dialer sent, as they arrived. */
  readonly upstreamBytes: Uint8Array[] = [];
  /** Bytes the listener sent back. */
  readonly downstreamBytes: Uint8Array[] = [];
  tamper: (index: number, frame: Uint8Array) => Uint8Array[] = (_, f) => [f];

  constructor(target: number) {
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: target });
      this.#sockets.push(client, upstream);
      const decoder = new FrameDecoder(1 << 24);
      let index = 0;
      client.on('data', (b: Buffer) => {
        this.upstreamBytes.push(Uint8Array.from(b));
        for (const payload of decoder.push(b))
          for (const out of this.tamper(index++, encodeFrame(payload))) upstream.write(out);
      });
      upstream.on('data', (b: Buffer) => {
        this.downstreamBytes.push(Uint8Array.from(b));
        client.write(b);
      });
      for (const s of [client, upstream]) {
        s.on('error', () => {});
        s.on('close', () => {
          client.destroy();
          upstream.destroy();
        });
      }
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.#server.listen(0, '127.0.0.1', () => resolve((this.#server.address() as { port: number }).port)),
    );
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const proxies: FrameProxy[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await stopAll();
  for (const p of proxies.splice(0)) await p.close();
});

/** A (listener) and B dialing A through a frame proxy, connected. */
async function pairThroughProxy() {
  const a = await startNode(11, []);
  const proxy = new FrameProxy(a.net.listenPort);
  proxies.push(proxy);
  const port = await proxy.listen();
  // B's dial loop retries quickly while the test runs; only the first connection matters.
  const b = await startNode(12, [port]);
  await waitUntil(() => a.net.peerKeys.includes(b.key) && b.net.peerKeys.includes(a.key), 3000, 'handshake');
  return { a, b, proxy };
}

const txsFrom = (n: TestNode, from: string) =>
  n.got.filter((g) => g.from === from && g.msg.kind === 'tx').map((g) => (g.msg as { tx: SignedTx }).tx);

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0;
}

describe('sealed p2p frames', () => {
  it('a frame altered on the wire after the handshake closes the connection', async () => {
    const { a, b, proxy } = await pairThroughProxy();
    const tx1 = transfer(1);
    b.net.send(a.key, { kind: 'tx', tx: tx1 });
    await waitUntil(() => txsFrom(a, b.key).length === 1, 2000, 'tx1 at A');
    // Nothing of the transaction is visible on the wire, either way.
    const wire = Buffer.concat([...proxy.upstreamBytes, ...proxy.downstreamBytes]);
    expect(contains(wire, encodeSignedTx(tx1))).toBe(false);
    expect(contains(wire, tx1.signature)).toBe(false);
    expect(contains(wire, new TextEncoder().encode('a memo to look for'))).toBe(false);
    // Flip one byte of the next frame B sends.
    proxy.tamper = (_, f) => {
      const g = Uint8Array.from(f);
      g[g.length - 20]! ^= 0x01;
      proxy.tamper = (__, h) => [h];
      return [g];
    };
    b.net.send(a.key, { kind: 'tx', tx: transfer(2) });
    await waitUntil(() => a.downs.includes(b.key), 2000, 'A to drop B');
    expect(txsFrom(a, b.key)).toHaveLength(1);
    expect(a.net.stats.framesRejected).toBe(1);
    expect(a.net.stats.lastCutOff).toMatch(/does not open/);
    // Not held against B's key: the middleman, not B, altered the frame.
    expect(a.net.isBanned(b.key)).toBe(false);
    expect(a.net.peers().find((p) => p.key === b.key)?.score ?? 0).toBe(0);
  });

  it('a frame replayed or reordered is refused', async () => {
    // Replayed: the first frame after the handshake arrives twice.
    {
      const { a, b, proxy } = await pairThroughProxy();
      proxy.tamper = (i, f) => (i === 2 ? [f, f] : [f]);
      b.net.send(a.key, { kind: 'tx', tx: transfer(1) });
      await waitUntil(() => a.downs.includes(b.key), 2000, 'A to drop B after a replay');
      expect(txsFrom(a, b.key).map((t) => t.tx.nonce)).toEqual([1]);
      expect(a.net.stats.framesRejected).toBe(1);
      await stopAll();
    }
    // Reordered: the first two frames after the handshake are swapped.
    {
      const { a, b, proxy } = await pairThroughProxy();
      let held: Uint8Array | undefined;
      proxy.tamper = (i, f) => {
        if (i === 2) {
          held = f;
          return [];
        }
        return i === 3 ? [f, held!] : [f];
      };
      b.net.send(a.key, { kind: 'tx', tx: transfer(1) });
      b.net.send(a.key, { kind: 'tx', tx: transfer(2) });
      await waitUntil(() => a.downs.includes(b.key), 2000, 'A to drop B after a reorder');
      expect(txsFrom(a, b.key)).toEqual([]);
      expect(a.net.stats.framesRejected).toBe(1);
    }
  });

  it('refuses a peer of the previous protocol version with a clear reason', async () => {
    const a = await startNode(11, []);
    const s = createConnection({ host: '127.0.0.1', port: a.net.listenPort });
    sockets.push(s);
    s.on('error', () => {});
    s.resume();
    // A version-1 hello: seven items, no ephemeral key.
    const hello = encodeCanonical([
      0,
      1,
      'qood-unit',
      genesisId,
      key(12).publicKey,
      new Uint8Array(32).fill(7),
      0,
    ]);
    s.write(encodeFrame(hello));
    await waitUntil(() => s.destroyed, 2000, 'A to close');
    expect(P2P_VERSION).toBe(2);
    expect(a.net.stats.lastHandshakeFailure).toMatch(/protocol version 1; this node speaks 2/);
  });
});
