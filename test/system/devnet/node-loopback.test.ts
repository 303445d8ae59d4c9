/**
 * FullNodes in this process over real TCP sockets and the real HTTP server on loopback: a follower
 * that starts late with an empty store catches up with range sync and then follows gossip; a
 * transaction posted to one node's HTTP API is gossiped, included and final on every node; the HTTP
 * server refuses an oversized body with 413.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSignedTx, getAccount, MemoryChainStore, signTx, toHex, UNIT } from '../../../chain/index.js';
import { type ApiServer, startApiServer } from '../../../node/http/index.js';
import { tcpTransport } from '../../../node/p2p/index.js';
import { FullNode } from '../../../node/runtime/index.js';
import { type LocalNet, startLocalNet, testKey, waitFor } from '../../support/node-net.js';

describe('full nodes on loopback', () => {
  let net: LocalNet;
  let api: ApiServer;
  let follower: FullNode | undefined;

  beforeAll(async () => {
    net = await startLocalNet(4);
    api = await startApiServer(net.nodes[1]!, '127.0.0.1', 0);
    await waitFor(() => net.nodes.every((n) => n.lastFinal.height >= 10), 20_000, '10 final blocks');
  });

  afterAll(async () => {
    await api.close();
    await follower?.stop();
    await net.stop();
  });

  it('a follower starting late with an empty store catches up by ranges, then follows', async () => {
    follower = new FullNode({
      genesis: net.genesis,
      signer: testKey('follower'),
      store: new MemoryChainStore(),
      transport: tcpTransport,
      peers: [{ host: '127.0.0.1', port: net.nodes[0]!.network.listenPort }],
    });
    const target = net.nodes[0]!.lastFinal.height;
    await follower.start();
    await waitFor(() => follower!.lastFinal.height >= target, 10_000, 'the follower to catch up');
    expect(follower.stats.rangesFetched).toBeGreaterThanOrEqual(1);
    const h = follower.lastFinal.height;
    await waitFor(() => follower!.lastFinal.height >= h + 4, 6000, 'the follower to follow gossip');
    const at = follower.lastFinal.height;
    expect(toHex(follower.block(at)!.header.signature)).toBe(
      toHex(net.nodes[0]!.block(at)!.header.signature),
    );
  }, 30_000);

  it('a transfer posted to one node is final on all, and the API shows its effect', async () => {
    const to = toHex(testKey('payee').publicKey);
    const tx = signTx(
      {
        chainId: net.genesis.params.chainId,
        kind: 'transfer',
        sender: toHex(net.whale.publicKey),
        nonce: 0,
        fee: 0n,
        body: { to, token: 'QDT', amount: 42n * UNIT, memo: new Uint8Array() },
      },
      net.whale,
    );
    const r = await fetch(`${api.url}/tx`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: Buffer.from(encodeSignedTx(tx)),
    });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ id: toHex(tx.id), status: 'pending' });
    await waitFor(
      () => net.nodes.every((n) => getAccount(n.lastFinal.state, to).qdt === 42n * UNIT),
      10_000,
      'the transfer to be final everywhere',
    );
    const state = (await (await fetch(`${api.url}/state/acct%2F${to}`)).json()) as {
      decoded: { qdt: string };
    };
    expect(state.decoded.qdt).toBe((42n * UNIT).toString());
    const fin = (await (await fetch(`${api.url}/finality`)).json()) as {
      height: number;
      certificate: { votes: unknown[] };
    };
    expect(fin.height).toBeGreaterThan(0);
    expect(fin.certificate.votes.length).toBeGreaterThanOrEqual(3);
    // The same transaction again is known (idempotent), not admitted twice.
    const again = await fetch(`${api.url}/tx`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: Buffer.from(encodeSignedTx(tx)),
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: toHex(tx.id), status: 'known' });
    expect(net.nodes[1]!.mempoolSize).toBe(0);
  }, 20_000);

  it('refuses a body over 64 KiB with 413', async () => {
    const r = await fetch(`${api.url}/tx`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: new Uint8Array(100_000),
    });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('TOO_LARGE');
  });
});
