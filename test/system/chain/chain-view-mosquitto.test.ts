/**
 * Finality updates through a real mosquitto: a node-side client publishes the canonical update
 * bytes on qood/v1/chain/finality, the device's ChainView (on the agent's MQTT uplink) follows them
 * through a schedule change to the block that revokes a grant, and the device's registry revokes
 * it. mosquitto_pub, an independent client, publishes garbage on the same topic: counted, refused,
 * and the view keeps following.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChainView, finalityTopic } from '../../../agent/chain/index.js';
import { openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import { silentLogger } from '../../../process/log.js';
import { Metrics } from '../../../process/metrics.js';
import { chainViewRig, REVOKED_AT } from '../../support/chain-view-rig.js';
import { waitUntil } from '../../support/cli.js';
import { checkpointAt } from '../../support/light-chain.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { describeSystem, findProgram } from '../../support/system.js';

describeSystem(
  'chain finality updates through a real mosquitto',
  [
    { bin: 'mosquitto', pkg: 'mosquitto' },
    { bin: 'mosquitto_pub', pkg: 'mosquitto-clients' },
  ],
  () => {
    let broker: Mosquitto;
    let dir: string;
    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'qood-chain-view-'));
    });
    afterAll(async () => {
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('the device follows updates to a proven revocation, and refuses garbage from another client', async () => {
      const rig = chainViewRig();
      const metrics = new Metrics();
      const device: Uplink = openMqttUplink({
        url: broker.url,
        clientId: 'car-chain',
        backoff: { initialMs: 200, maxMs: 1000 },
      });
      const node: Uplink = openMqttUplink({
        url: broker.url,
        clientId: 'node-chain',
        backoff: { initialMs: 200, maxMs: 1000 },
      });
      const view = new ChainView({
        checkpoint: checkpointAt(rig.chain, 1),
        uplink: device,
        metrics,
        logger: silentLogger,
        grants: rig.registry,
      });
      view.start();
      const counters = () => metrics.snapshot().counters;
      try {
        await waitUntil(() => device.connected && node.connected, 10_000, 'both clients connected');
        // The subscription is made on connect; wait until a first update gets through.
        await waitUntil(
          async () => {
            await node.publish(finalityTopic(), rig.updateBytes(3));
            return view.finalHeight === 3;
          },
          10_000,
          'the first update reaches the device',
          200,
        );
        expect(view.grantStatus(rig.grantId, Date.now()).state).not.toBe('unknown');
        const garbage = join(dir, 'garbage.bin');
        writeFileSync(garbage, Buffer.from([0x85, 0x01, 0xff, 0x00]));
        const pub = spawnSync(
          findProgram('mosquitto_pub')!,
          ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', finalityTopic(), '-f', garbage],
          { timeout: 10_000 },
        );
        expect(pub.status).toBe(0);
        await waitUntil(() => (counters()['chain.refused.MALFORMED'] ?? 0) === 1, 10_000, 'garbage refused');
        await node.publish(finalityTopic(), rig.updateBytes(4));
        await node.publish(finalityTopic(), rig.updateBytes(REVOKED_AT));
        await waitUntil(
          () => view.finalHeight === REVOKED_AT,
          10_000,
          'the revoking block is final on the device',
        );
        expect(view.client.schedule).toEqual(rig.chain.active[REVOKED_AT]);
        expect(rig.registry.get(rig.grantId)?.revokedBy).toBe('chain');
        expect(view.grantStatus(rig.grantId, Date.now()).state).toBe('revoked');
        // Besides the garbage, only repeats of the first update (sent until the subscription held) were refused.
        const c = counters();
        expect(c['chain.refused.MALFORMED']).toBe(1);
        expect(c['chain.refused']).toBe(1 + (c['chain.refused.STALE_UPDATE'] ?? 0));
      } finally {
        view.stop();
        await device.close();
        await node.close();
      }
    }, 40_000);
  },
);
