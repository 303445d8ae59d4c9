/**
 * The `Uplink` contract against the memory broker (the double the sync's unit tests use) and
 * against the mqtt adapter talking to aedes in this process, the broker `qood demo` runs
 * (simulators/demo/broker.ts), over MQTT 3.1.1 as the demo does. A real mosquitto runs the same
 * checks in test/system/sync/uplink-mosquitto.contract.test.ts.
 */
import { afterAll, beforeAll } from 'vitest';
import { MemoryBroker, type Uplink } from '../../../../agent/sync/index.js';
import { type DemoBroker, startDemoBroker } from '../../../../simulators/demo/broker.js';
import { mqttUplinkRig } from '../../../support/contracts/mqtt-uplink-rig.js';
import { uplinkContract } from '../../../support/contracts/uplink.contract.js';

uplinkContract('MemoryBroker', async () => {
  const broker = new MemoryBroker();
  const links: Uplink[] = [];
  return {
    connect(clientId) {
      const link = broker.connect(clientId);
      links.push(link);
      return link;
    },
    async setNetwork(up) {
      broker.setUp(up);
    },
    keepsSessions: false,
    async dispose() {
      for (const l of links) await l.close();
    },
  };
});

let aedes: DemoBroker;
beforeAll(async () => {
  aedes = await startDemoBroker();
});
afterAll(async () => {
  await aedes?.close();
});

uplinkContract('mqtt.js to aedes (MQTT 3.1.1)', () => mqttUplinkRig(aedes.url, 4));
