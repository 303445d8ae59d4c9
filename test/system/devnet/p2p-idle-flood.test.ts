/**
 * Attack 12 of issue 14 against a running network: four producers (FullNodes in this process over
 * real TCP on loopback) while an attacker keeps 70 idle TCP connections open to every one of them
 * from 70 loopback addresses each, reopening each one 20 ms after it is closed. A producer that
 * restarts during the flood gets back in and the chain keeps finalizing, with the admission limits
 * doing the work (their counters moved). Before the handshake budget the idle sockets held every
 * slot until their 5 s deadline, so a restarted producer got in only through the churn of their
 * expiry, seconds later; the deterministic form of the attack, which failed before the fix, is
 * test/unit/node/p2p/p2p-admission.test.ts. Waits here are bounds for a slow machine, not timings.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChainStore } from '../../../chain/index.js';
import { tcpTransport } from '../../../node/p2p/index.js';
import { FullNode } from '../../../node/runtime/index.js';
import { type LocalNet, startLocalNet, waitFor } from '../../support/node-net.js';

/** Idle connections to some ports, each reopened `reopenMs` after it closes, until stopped. */
class IdleFlood {
  readonly #sockets = new Set<Socket>();
  #running = true;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(ports: readonly number[], perPort: number, reopenMs: number) {
    ports.forEach((port, i) => {
      for (let k = 0; k < perPort; k++) this.#open(port, `127.0.${10 + i}.${k + 1}`, reopenMs);
    });
  }

  #open(port: number, localAddress: string, reopenMs: number): void {
    if (!this.#running) return;
    const s = connect({ host: '127.0.0.1', port, localAddress });
    this.#sockets.add(s);
    s.on('error', () => {});
    s.resume();
    s.once('close', () => {
      this.#sockets.delete(s);
      if (!this.#running) return;
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#open(port, localAddress, reopenMs);
      }, reopenMs);
      this.#timers.add(t);
    });
  }

  stop(): void {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.#sockets) s.destroy();
  }
}

describe('producers under a flood of idle sockets', () => {
  let net: LocalNet | undefined;
  let back: FullNode | undefined;
  let flood: IdleFlood | undefined;

  afterAll(async () => {
    flood?.stop();
    await back?.stop();
    for (const n of net?.nodes.slice(0, 3) ?? []) await n.stop();
  });

  it('a producer restarting while every producer is flooded rejoins, and the chain keeps finalizing', async () => {
    net = await startLocalNet(4);
    const nodes = net.nodes;
    await waitFor(() => nodes.every((n) => n.lastFinal.height >= 4), 20_000, '4 final blocks');
    flood = new IdleFlood(
      nodes.map((n) => n.network.listenPort),
      70,
      20,
    );
    await new Promise((r) => setTimeout(r, 500));
    // Producer 3 goes down; while it is away the attacker's reopened sockets take what it freed.
    await nodes[3]!.stop();
    await new Promise((r) => setTimeout(r, 1000));
    back = new FullNode({
      genesis: net.genesis,
      signer: net.keys[3]!,
      store: new MemoryChainStore(),
      transport: tcpTransport,
      listen: { host: '127.0.0.1', port: 0 },
      peers: nodes.slice(0, 3).map((n) => ({ host: '127.0.0.1', port: n.network.listenPort })),
    });
    const target = nodes[0]!.lastFinal.height;
    await back.start();
    const restarted = back;
    await waitFor(
      () => restarted.network.peerKeys.length === 3,
      20_000,
      'the restarted producer to reach all three',
    );
    await waitFor(() => restarted.lastFinal.height >= target, 15_000, 'the restarted producer to catch up');
    // The three that stayed kept their links to each other and kept finalizing.
    const h = nodes[0]!.lastFinal.height;
    await waitFor(() => nodes[0]!.lastFinal.height >= h + 4, 10_000, '4 more final blocks');
    for (const n of nodes.slice(0, 3)) expect(n.network.peerKeys).toHaveLength(3);
    const s = nodes[0]!.network.stats;
    expect(s.evictedBeforeHello + s.refusedAddressLimit + s.refusedHandshakeBudget).toBeGreaterThan(0);
  }, 60_000);
});
