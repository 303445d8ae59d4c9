/**
 * The finality publisher over a real schedule change: two FullNodes on loopback TCP, a genesis
 * whose schedule (two seats) holds only the first; the second registers, stakes and votes for
 * itself, the engine elects it, and from the next-but-one round both produce and vote. A device's
 * light client that starts from the first node's checkpoint and applies every update the bridge
 * published ends on the two-producer schedule, certified by it: the change reached it in time.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeUpdate,
  Ed25519Signer,
  LightClient,
  MemoryChainStore,
  sha256,
  signTx,
  toHex,
  UNIT,
} from '../../../chain/index.js';
import { DeviceLink, nodeCheckpoint, nodeSource } from '../../../node/device-link/index.js';
import { IngestStore } from '../../../node/ingest/index.js';
import { tcpTransport } from '../../../node/p2p/index.js';
import { FullNode, localGenesis } from '../../../node/runtime/index.js';
import { waitUntil } from '../../support/cli.js';

const key = (label: string) => new Ed25519Signer(sha256(new TextEncoder().encode(`bridge-sched/${label}`)));
const a = key('a');
const b = key('b');
const dir = mkdtempSync(join(tmpdir(), 'qood-bridge-sched-'));
const nodes: FullNode[] = [];
afterAll(async () => {
  for (const n of nodes) await n.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the finality publisher over a real schedule change', () => {
  it('a device follows the published updates onto the newly elected schedule', async () => {
    const g = localGenesis({
      chainId: 'qood-sched',
      preset: 'minimal',
      producers: [a],
      whale: key('whale'),
      timeMs: Date.now(),
    });
    const genesis = {
      ...g,
      params: { ...g.params, scheduleSize: 2 },
      accounts: [...g.accounts, { address: toHex(b.publicKey), qdt: 100_000n * UNIT }],
    };
    const na = new FullNode({
      genesis,
      signer: a,
      store: new MemoryChainStore(),
      transport: tcpTransport,
      listen: { host: '127.0.0.1', port: 0 },
      peers: [],
    });
    await na.start();
    nodes.push(na);
    const nb = new FullNode({
      genesis,
      signer: b,
      store: new MemoryChainStore(),
      transport: tcpTransport,
      peers: [{ host: '127.0.0.1', port: na.network.listenPort }],
    });
    await nb.start();
    nodes.push(nb);
    await waitUntil(() => na.lastFinal.height >= 2, 10_000, 'a final block');
    const device = new LightClient({ checkpoint: nodeCheckpoint(nodeSource(na))! });
    const published: Uint8Array[] = [];
    const store = new IngestStore({ path: join(dir, 'ingest.db') });
    const bridge = new DeviceLink({
      link: {
        connected: true,
        publish: async (_t, p) => {
          published.push(p);
        },
        subscribe: async () => {},
        onMessage: () => () => {},
        onConnect: () => () => {},
        close: async () => {},
      },
      node: na,
      ingestStore: store,
      logger: { info() {}, warn() {}, error() {} },
    });
    bridge.start();
    const sender = toHex(b.publicKey);
    const t = (nonce: number, kind: 'registerProducer' | 'stake' | 'vote', body: object) =>
      signTx(
        { chainId: 'qood-sched', kind, sender, nonce, fee: 0n, body } as Parameters<typeof signTx>[0],
        b,
      );
    for (const [i, [kind, body]] of (
      [
        ['registerProducer', { url: 'http://b.invalid' }],
        ['stake', { amount: 50_000n * UNIT }],
        ['vote', { producers: [sender] }],
      ] as const
    ).entries())
      expect(na.submitTx(t(i, kind, body)).admitted).toBe(true);
    const two = [toHex(a.publicKey), sender].sort();
    // The device's current schedule changes only when a certificate of the proven next one arrives.
    const follow = () => {
      for (const p of published.splice(0)) {
        const r = device.apply(decodeUpdate(p));
        if (!r.ok) throw r.error;
      }
      return device.schedule.join() === two.join();
    };
    await waitUntil(follow, 30_000, 'the device to follow onto the new schedule', 100);
    expect(na.engine.scheduleChanges.map((c) => c.schedule)).toEqual([two]);
    expect(bridge.counters()['bridge.finality.scheduleChanges']).toBe(1);
    expect(bridge.counters()['bridge.finality.refused']).toBe(0);
    bridge.stop();
    store.close();
  }, 45_000);
});
