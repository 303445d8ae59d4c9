/**
 * The agent's `chain` config section as a device runs it: the trusted checkpoint file is read at
 * start (a bad one stops the start with the file and the reason), and finality updates published on
 * the broker move the light client's final height, which the local API reports.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finalityTopic } from '../../../../agent/chain/index.js';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { startAgent } from '../../../../agent/main/start-agent.js';
import { MemoryBroker } from '../../../../agent/sync/memory-uplink.js';
import { encodeCheckpoint } from '../../../../chain/index.js';
import { callLocalApi } from '../../../../process/local-api/client.js';
import { silentLogger } from '../../../../process/log.js';
import { noopNotifier } from '../../../../process/service.js';
import { chainViewRig } from '../../../support/chain-view-rig.js';
import { waitUntil } from '../../../support/cli.js';
import { checkpointAt, LIGHT_T0 } from '../../../support/light-chain.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-agent-chain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(checkpoint: string, n: number) {
  return agentConfigSchema.parse({
    device: { vehicleId: 'light-car-1', dataDir: dir, socketPath: join(dir, `a${n}.sock`) },
    sync: { broker: 'mqtt://broker.invalid:1883' },
    chain: { checkpoint, maxCheckpointAgeDays: 365 },
  });
}

describe('agent with a chain section', () => {
  it('starts from the checkpoint file and follows finality updates from the broker', async () => {
    const rig = chainViewRig();
    const file = join(dir, 'checkpoint.cbor');
    writeFileSync(file, encodeCheckpoint(checkpointAt(rig.chain, 1)));
    const broker = new MemoryBroker();
    const node = broker.connect('node');
    const agent = await startAgent({
      config: config(file, 1),
      logger: silentLogger,
      notifier: noopNotifier,
      openUplink: () => broker.connect('device'),
      nowMs: () => LIGHT_T0 + 60_000,
    });
    try {
      const height = async () =>
        ((await callLocalApi(join(dir, 'a1.sock'), 'chain.status')) as { finalHeight: number }).finalHeight;
      expect(await height()).toBe(1);
      await new Promise((r) => setTimeout(r, 10));
      await node.publish(finalityTopic(), rig.updateBytes(4));
      // Bounds that only end a hung test: the in-process broker delivers at once, but a loaded
      // two-core machine can stall a test process for a second or more.
      await waitUntil(async () => (await height()) === 4, 10_000, 'final height 4');
      await node.publish(finalityTopic(), Uint8Array.of(1, 2, 3));
      await node.publish(finalityTopic(), rig.updateBytes(9));
      await waitUntil(async () => (await height()) === 9, 10_000, 'final height 9 after a garbage update');
      expect(agent.metrics.snapshot().counters['chain.refused']).toBe(1);
    } finally {
      await agent.stop();
    }
  });

  it('refuses to start with a checkpoint file that is missing or not a checkpoint, naming it', async () => {
    const bad = join(dir, 'bad.cbor');
    writeFileSync(bad, 'not cbor');
    const opts = {
      logger: silentLogger,
      notifier: noopNotifier,
      openUplink: () => new MemoryBroker().connect('d'),
    };
    await expect(startAgent({ ...opts, config: config(bad, 2) })).rejects.toThrow(`${bad}: not a checkpoint`);
    await expect(startAgent({ ...opts, config: config(join(dir, 'none.cbor'), 3) })).rejects.toThrow(
      /none\.cbor: cannot read the checkpoint \(ENOENT\)/,
    );
  });
});
