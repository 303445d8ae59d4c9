/**
 * A hundred simulated devices enrolled against a real mosquitto with the fleet config: each gets a
 * certificate from the CA, connects over TLS with it, is refused (PUBACK 0x87) on its neighbour's
 * up topic and accepted on its own; the node receives every device's own message and none of the
 * forged ones. The rates are printed; test/bench/fleet-enrol.bench.ts measures them properly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, expect, it } from 'vitest';
import { FleetCa } from '../../../node/fleet/index.js';
import {
  enrolFleet,
  mustConnect,
  shippedFleetAclPath,
  startFleetBroker,
} from '../../support/fleet-broker.js';
import type { Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

const COUNT = 100;

describeSystem(
  'enrolling a fleet',
  [
    { bin: 'mosquitto', pkg: 'mosquitto' },
    { bin: 'openssl', pkg: 'openssl' },
  ],
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'qood-fleet-enrol-'));
    let broker: Mosquitto | undefined;
    const clients: MqttClient[] = [];
    afterAll(async () => {
      for (const c of clients) c.end(true);
      await broker?.stop();
      rmSync(tmp, { recursive: true, force: true });
    });

    it(`enrols ${COUNT} devices, each publishing on its own topic only`, async () => {
      const ca = await FleetCa.init({ dir: join(tmp, 'ca') });
      const nodeCert = await ca.issue({ role: 'node', name: 'qood-node' }, { outDir: join(tmp, 'node') });
      broker = await startFleetBroker(ca, shippedFleetAclPath());
      const node = await mustConnect(broker.url, nodeCert);
      clients.push(node);
      const got = new Set<string>();
      let allIn: () => void = () => undefined;
      const done = new Promise<void>((r) => {
        allIn = r;
      });
      node.on('message', (topic, payload) => {
        got.add(`${topic} ${payload.toString()}`);
        if ([...got].filter((m) => m.includes(' from-')).length === COUNT) allIn();
      });
      await new Promise<void>((r, j) =>
        node.subscribe('qood/v1/+/up/#', { qos: 1 }, (e) => (e ? j(e) : r())),
      );

      const fleet = await enrolFleet({ ca, url: broker.url, count: COUNT, outDir: join(tmp, 'devices') });
      clients.push(...fleet.devices.map((d) => d.client));
      expect(fleet.devices.filter((d) => d.ownRc !== 0)).toEqual([]);
      expect(fleet.devices.filter((d) => d.neighbourRc !== 0x87)).toEqual([]);
      await done;
      expect([...got].filter((m) => m.includes('forged-by-'))).toEqual([]);
      for (const d of fleet.devices)
        expect(got).toContain(`qood/v1/${d.vehicleId}/up/chunk from-${d.vehicleId}`);
      process.stderr.write(
        `enrolled ${COUNT}: ${fleet.issuedPerSec.toFixed(1)} certificates/s, ${fleet.connectsPerSec.toFixed(1)} connects/s\n`,
      );
    }, 300_000);
  },
);
