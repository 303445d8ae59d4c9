/**
 * Signature checks on a network of FullNodes over real TCP on loopback: transfers gossiped to every
 * node are verified once per node (at admission; the block that carries them applies from the
 * signature cache), and a follower that starts late with a verify pool checks the signatures of the
 * ranges it syncs on worker threads and reaches the same state root as the producers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryChainStore, signTx, toHex, UNIT } from '../../../chain/index.js';
import { tcpTransport } from '../../../node/p2p/index.js';
import { FullNode, VerifyPool } from '../../../node/runtime/index.js';
import { type LocalNet, startLocalNet, testKey, waitFor } from '../../support/node-net.js';

const TXS = 60;

describe('signatures checked once per node, and on worker threads when syncing', () => {
  let net: LocalNet;
  let follower: FullNode | undefined;
  const pool = new VerifyPool({ workers: 1, minParallel: 8 });

  beforeAll(async () => {
    net = await startLocalNet(4);
    await waitFor(() => net.nodes.every((n) => n.lastFinal.height >= 2), 20_000, '2 final blocks');
  });

  afterAll(async () => {
    await follower?.stop();
    await net.stop();
    await pool.close();
  });

  it('verifies each gossiped transfer once on every node, not again when its block applies', async () => {
    const to = toHex(testKey('payee').publicKey);
    const txs = Array.from({ length: TXS }, (_, nonce) =>
      signTx(
        {
          chainId: net.genesis.params.chainId,
          kind: 'transfer',
          sender: toHex(net.whale.publicKey),
          nonce,
          fee: 0n,
          body: { to, token: 'QDT', amount: UNIT, memo: new Uint8Array() },
        },
        net.whale,
      ),
    );
    for (const t of txs) expect(net.nodes[0]!.submitTx(t).admitted).toBe(true);
    const last = toHex(txs[TXS - 1]!.id);
    const finalOn = (n: FullNode) => {
      for (let h = n.lastFinal.height; h >= 1; h--)
        if (n.block(h)?.txs.some((t) => toHex(t.id) === last)) return true;
      return false;
    };
    await waitFor(() => net.nodes.every(finalOn), 15_000, 'the transfers to be final everywhere');
    for (const n of net.nodes) {
      const c = n.signatureCache!;
      // Exactly one verification per transfer, whoever built the blocks; no failures.
      expect(c.stats.verified).toBe(TXS);
      expect(c.stats.failed).toBe(0);
      expect(c.stats.hits).toBeGreaterThanOrEqual(TXS);
    }
  }, 30_000);

  it('a late follower with a verify pool syncs the ranges with their signatures checked on a worker', async () => {
    follower = new FullNode({
      genesis: net.genesis,
      signer: testKey('follower'),
      store: new MemoryChainStore(),
      transport: tcpTransport,
      peers: [{ host: '127.0.0.1', port: net.nodes[0]!.network.listenPort }],
      verifyPool: pool,
      verifyPoolMinTxs: 8,
    });
    const target = net.nodes[0]!.lastFinal.height;
    await follower.start();
    await waitFor(() => follower!.lastFinal.height >= target, 15_000, 'the follower to catch up');
    expect(follower.stats.rangesFetched).toBeGreaterThanOrEqual(1);
    expect(pool.stats.offloaded).toBeGreaterThan(0);
    const c = follower.signatureCache!;
    expect(c.stats.verified).toBeGreaterThanOrEqual(TXS);
    expect(c.stats.failed).toBe(0);
    const h = Math.min(follower.lastFinal.height, net.nodes[0]!.lastFinal.height);
    expect(toHex(follower.block(h)!.header.header.stateRoot)).toBe(
      toHex(net.nodes[0]!.block(h)!.header.header.stateRoot),
    );
  }, 30_000);
});
