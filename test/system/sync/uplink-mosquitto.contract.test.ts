/**
 * The `Uplink` contract against the mqtt adapter talking to a real mosquitto over MQTT 5, the
 * agent's default: the same checks as the memory broker and aedes in
 * test/unit/agent/sync/uplink.contract.test.ts. Each client but the steady publisher connects
 * through a TCP proxy the checks cut and stall; mosquitto itself keeps running and keeps sessions.
 */
import { afterAll, beforeAll } from 'vitest';
import { mqttUplinkRig } from '../../support/contracts/mqtt-uplink-rig.js';
import { uplinkContract } from '../../support/contracts/uplink.contract.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

describeSystem('a real mosquitto', [{ bin: 'mosquitto', pkg: 'mosquitto' }], () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await Mosquitto.start();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  uplinkContract('mqtt.js to mosquitto (MQTT 5)', () => mqttUplinkRig(broker.url, 5));
});
