/**
 * The device's chain transaction counter after its store was recreated (issue 14, item 13): a new
 * store starts the counter at 0, while the chain's account of the device is ahead; once the light
 * client proves the device's account record, the next record the device signs continues after the
 * chain's nonce. A real agent with a real SQLite store, a chain built with the real state machine.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finalityTopic } from '../../../../agent/chain/index.js';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { startAgent } from '../../../../agent/main/start-agent.js';
import { MemoryBroker } from '../../../../agent/sync/memory-uplink.js';
import {
  encodeCheckpoint,
  encodeUpdate,
  getAccount,
  sha256,
  stateKey,
  toHex,
  UNIT,
} from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { noopNotifier } from '../../../../process/service.js';
import { waitUntil } from '../../../support/cli.js';
import {
  buildLightChain,
  checkpointAt,
  LIGHT_T0,
  lightKey,
  lightTx,
  updateAt,
} from '../../../support/light-chain.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-device-nonce-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('device transaction counter (issue 14, item 13)', () => {
  it('recreate the store: the next record continues after the chain account nonce, not from 0', async () => {
    // The device's key, and a chain on which its account has already used nonces 0..4.
    const device = lightKey('device');
    const address = toHex(device.publicKey);
    const chain = buildLightChain({
      producers: 4,
      electAt: [],
      height: 6,
      roundBlocks: 4,
      accounts: [{ address, qdt: 1000n * UNIT }],
      extra: (s, h) =>
        h === 2
          ? [0, 1, 2, 3, 4].map((i) =>
              lightTx(
                s,
                device,
                'transfer',
                { to: address, token: 'QDT', amount: 1n, memo: new Uint8Array() },
                i,
              ),
            )
          : [],
    });
    expect(getAccount(chain.states[4]!, address).nonce).toBe(5);

    const dataDir = mkdtempSync(join(dir, 'car-'));
    writeFileSync(
      join(dataDir, 'device.key'),
      `${toHex(sha256(new TextEncoder().encode('light-key/device')))}\n`,
      {
        mode: 0o600,
      },
    );
    const checkpoint = join(dataDir, 'checkpoint.cbor');
    writeFileSync(checkpoint, encodeCheckpoint(checkpointAt(chain, 1)));
    const broker = new MemoryBroker();
    const node = broker.connect('node');
    const sock = join(dir, 'n.sock');
    const start = () =>
      startAgent({
        config: agentConfigSchema.parse({
          device: { vehicleId: 'nonce-car', dataDir, socketPath: sock },
          storage: {},
          sync: { broker: 'mqtt://broker.invalid:1883' },
          chain: { checkpoint, maxCheckpointAgeDays: 365 },
        }),
        logger: silentLogger,
        notifier: noopNotifier,
        openUplink: () => broker.connect('device'),
        nowMs: () => LIGHT_T0 + 60_000,
      });
    const record = (nonce: number) => ({ kind: 'test', bytes: Uint8Array.of(nonce) });

    // A first life of the store numbers from 0 (the chain has not proven anything yet).
    const first = await start();
    let n = -1;
    first.store!.enqueueDeviceTx((nonce) => {
      n = nonce;
      return record(nonce);
    }, LIGHT_T0);
    expect(n).toBe(0);
    await first.stop();

    // The store is moved aside (corrupt, or a new SD card): agent.db and its WAL are gone.
    for (const f of readdirSync(dataDir)) if (f.startsWith('agent.db')) rmSync(join(dataDir, f));
    const second = await start();
    try {
      await new Promise((r) => setTimeout(r, 10));
      await node.publish(finalityTopic(), encodeUpdate(updateAt(chain, 4, [stateKey.account(address)])));
      await waitUntil(() => second.metrics.snapshot().counters['chain.updates'] === 1, 10_000, 'the update');
      let next = -1;
      second.store!.enqueueDeviceTx((nonce) => {
        next = nonce;
        return record(nonce);
      }, LIGHT_T0);
      expect(next).toBe(5);
    } finally {
      await second.stop();
    }
  });
});
