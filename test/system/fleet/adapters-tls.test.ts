/**
 * The agent's uplink and the node's ingest link, the adapters a user runs, through the fleet broker
 * with certificates of the fleet CA given as their `tls` files (the `sync.tls` and `ingest.tls`
 * config sections): the device's chunk reaches the node, the node's ack reaches the device, and the
 * device's publish on another car's topic never reaches the node. The device's TLS key is P-256 in
 * one case and ed25519 in the other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import { FleetCa, type IssuedCertificate, type TlsKeyType } from '../../../node/fleet/index.js';
import { type IngestLink, openMqttIngestLink } from '../../../node/ingest/index.js';
import { shippedFleetAclPath, startFleetBroker } from '../../support/fleet-broker.js';
import type { Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

const P = 'qood/v1';
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describeSystem(
  "the agent's uplink and the node's ingest link on the fleet broker",
  [
    { bin: 'mosquitto', pkg: 'mosquitto' },
    { bin: 'openssl', pkg: 'openssl' },
  ],
  () => {
    let tmp: string;
    let ca: FleetCa;
    let broker: Mosquitto;
    let nodeCert: IssuedCertificate;
    const closers: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'qood-fleet-adapters-'));
      ca = await FleetCa.init({ dir: join(tmp, 'ca') });
      nodeCert = await ca.issue({ role: 'node', name: 'qood-node' }, { outDir: join(tmp, 'node') });
      broker = await startFleetBroker(ca, shippedFleetAclPath());
    }, 60_000);

    // Each test's clients go before the next starts: its node link has the same client id (so the
    // same broker session), and a link left reconnecting would take it back.
    afterEach(async () => {
      for (const c of closers.splice(0).reverse()) await c();
    });

    afterAll(async () => {
      await broker?.stop();
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    });

    const tlsOf = (c: IssuedCertificate) => ({ caFile: c.caFile, certFile: c.certFile, keyFile: c.keyFile });

    for (const [i, keyType] of (['p256', 'ed25519'] as TlsKeyType[]).entries()) {
      it(`carries a ${keyType} device's chunk to the node and its ack back, and nothing forged`, async () => {
        const vehicle = `car-${keyType}`;
        const dev = await ca.issue(
          { role: 'vehicle', vehicleId: vehicle, deviceKey: `0${i}`.repeat(32) },
          { outDir: join(tmp, vehicle), keyType },
        );
        const link: IngestLink = openMqttIngestLink({
          url: broker.url,
          clientId: 'qood-node',
          tls: tlsOf(nodeCert),
        });
        closers.push(() => link.close());
        const atNode: string[] = [];
        let marker: () => void = () => undefined;
        const markerIn = new Promise<void>((r) => {
          marker = r;
        });
        link.onMessage((topic, payload) => {
          atNode.push(`${topic} ${text(payload)}`);
          if (text(payload) === 'chunk-2') marker();
        });
        await new Promise<void>((r) => {
          const off = link.onConnect(() => {
            off();
            r();
          });
        });
        await link.subscribe(`${P}/+/up/chunk`);

        const up: Uplink = openMqttUplink({ url: broker.url, clientId: vehicle, tls: tlsOf(dev) });
        closers.push(() => up.close());
        const atDevice: string[] = [];
        let ackIn: () => void = () => undefined;
        const acked = new Promise<void>((r) => {
          ackIn = r;
        });
        up.onMessage((topic, payload) => {
          atDevice.push(`${topic} ${text(payload)}`);
          if (text(payload) === 'ack-1') ackIn();
        });
        await new Promise<void>((r) => {
          if (up.connected) r();
          else {
            const off = up.onConnect(() => {
              off();
              r();
            });
          }
        });
        await up.subscribe(`${P}/${vehicle}/down/ack`);

        await up.publish(`${P}/${vehicle}/up/chunk`, bytes('chunk-1'));
        // The broker answers 0x87; the adapter reports it or not, but nothing reaches the node.
        await up.publish(`${P}/car-other/up/chunk`, bytes('forged')).catch(() => undefined);
        await up.publish(`${P}/${vehicle}/up/chunk`, bytes('chunk-2'));
        await markerIn;
        expect(atNode).toEqual([`${P}/${vehicle}/up/chunk chunk-1`, `${P}/${vehicle}/up/chunk chunk-2`]);

        await link.publish(`${P}/${vehicle}/down/ack`, bytes('ack-1'));
        await acked;
        expect(atDevice).toEqual([`${P}/${vehicle}/down/ack ack-1`]);
      });
    }
  },
);
