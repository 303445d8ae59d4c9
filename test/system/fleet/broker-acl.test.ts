/**
 * The shipped mosquitto fleet configuration (packaging/mosquitto/qood.conf and the ACL `qood fleet
 * ca` writes) enforces topics, against a real mosquitto over real TLS with certificates of a real
 * CA made by the openssl binary: a device publishes on its own uplink and the node receives it; it
 * cannot publish on another car's uplink nor read another car's downlink; a grantee uses only its
 * grant's topics; a revoked certificate, one of another CA and none at all are refused at connect.
 *
 * "Not delivered" is shown without waiting for nothing: after the refused message the same client
 * publishes a marker the receiver may get, and mosquitto delivers one client's messages to a
 * subscriber in order, so once the marker is in, the refused message would have been before it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FleetCa, type IssuedCertificate } from '../../../node/fleet/index.js';
import {
  connectFleetClient,
  mustConnect,
  publishQos1,
  shippedFleetAclPath,
  startFleetBroker,
} from '../../support/fleet-broker.js';
import type { Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

const P = 'qood/v1';
const GRANT = 'a1'.repeat(32);
const OTHER_GRANT = 'b2'.repeat(32);
/** A SUBACK for a filter the ACL does not allow: granted QoS 1 (mosquitto 2.0) or 0x87. */
const SUBSCRIBED_OR_REFUSED = [1, 0x87];

/** Collects what a client receives, and resolves waits for a topic and payload. */
function inbox(c: MqttClient) {
  const got: { topic: string; payload: string }[] = [];
  const waiters: { topic: string; payload: string; resolve: () => void }[] = [];
  c.on('message', (topic, payload) => {
    const m = { topic, payload: payload.toString() };
    got.push(m);
    for (const w of waiters.splice(0))
      if (w.topic === m.topic && w.payload === m.payload) w.resolve();
      else waiters.push(w);
  });
  return {
    got,
    /** Resolves once `topic` with `payload` has arrived (tests time out otherwise). */
    until(topic: string, payload: string): Promise<void> {
      if (got.some((m) => m.topic === topic && m.payload === payload)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ topic, payload, resolve }));
    },
  };
}

function subscribe(c: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) =>
    c.subscribe(filter, { qos: 1 }, (err, granted) =>
      err ? reject(err) : resolve(granted?.[0]?.qos ?? Number.NaN),
    ),
  );
}

const publish1 = publishQos1;

describeSystem(
  'the fleet broker config',
  [
    { bin: 'mosquitto', pkg: 'mosquitto' },
    { bin: 'openssl', pkg: 'openssl' },
  ],
  () => {
    let tmp: string;
    let ca: FleetCa;
    let broker: Mosquitto;
    const certs: Record<string, IssuedCertificate> = {};
    const clients: MqttClient[] = [];
    const connect = async (who: string) => {
      const c = await mustConnect(broker.url, certs[who]!);
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'qood-fleet-acl-'));
      ca = await FleetCa.init({ dir: join(tmp, 'ca') });
      const out = join(tmp, 'clients');
      const key = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
      certs.A = await ca.issue({ role: 'vehicle', vehicleId: 'VIN-A', deviceKey: key(1) }, { outDir: out });
      certs.B = await ca.issue({ role: 'vehicle', vehicleId: 'VIN-B', deviceKey: key(2) }, { outDir: out });
      certs.E = await ca.issue(
        { role: 'vehicle', vehicleId: 'VIN-E', deviceKey: key(3) },
        { outDir: out, keyType: 'ed25519' },
      );
      certs.R = await ca.issue({ role: 'vehicle', vehicleId: 'VIN-R', deviceKey: key(4) }, { outDir: out });
      certs.node = await ca.issue({ role: 'node', name: 'qood-node' }, { outDir: out });
      certs.grantee = await ca.issue({ role: 'grantee', grantId: GRANT }, { outDir: out });
      // The shipped ACL (node 'qood-node'), which is also what the CA wrote for the same node.
      expect(readFileSync(ca.file('acl'), 'utf8')).toBe(readFileSync(shippedFleetAclPath(), 'utf8'));
      broker = await startFleetBroker(ca, shippedFleetAclPath());
    }, 120_000);

    afterAll(async () => {
      for (const c of clients) c.end(true);
      await broker?.stop();
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    });

    it('delivers a device publishing on its own up topic to the node', async () => {
      const node = await connect('node');
      const box = inbox(node);
      expect(await subscribe(node, `${P}/+/up/#`)).toBe(1);
      const a = await connect('A');
      expect(await publish1(a, `${P}/VIN-A/up/chunk`, 'a-1')).toBe(0);
      await box.until(`${P}/VIN-A/up/chunk`, 'a-1');
    });

    it("drops device A's publishes on device B's up topic, at QoS 0 silently and at QoS 1 with 'not authorized'", async () => {
      const node = await connect('node');
      const box = inbox(node);
      await subscribe(node, `${P}/+/up/#`);
      const a = await connect('A');
      await new Promise<void>((r) => a.publish(`${P}/VIN-B/up/chunk`, 'forged-0', { qos: 0 }, () => r()));
      // MQTT 5 PUBACK reason code 0x87 (not authorized), MQTT 5.0 section 3.4.2.1.
      expect(await publish1(a, `${P}/VIN-B/up/tx`, 'forged-1')).toBe(0x87);
      expect(await publish1(a, `${P}/chain/finality`, 'forged-2')).toBe(0x87);
      expect(await publish1(a, `${P}/VIN-A/up/chunk`, 'marker')).toBe(0);
      await box.until(`${P}/VIN-A/up/chunk`, 'marker');
      expect(box.got.map((m) => m.payload)).not.toContain('forged-0');
      expect(box.got.map((m) => m.payload)).not.toContain('forged-1');
      expect(a.connected).toBe(true);
    });

    it("gives device A nothing of device B's down topic, even subscribed to it", async () => {
      const a = await connect('A');
      const box = inbox(a);
      // mosquitto 2.0 grants the SUBACK and checks the read ACL on each delivery instead; a broker
      // that refuses the subscription (reason 0x87, MQTT 5.0 section 3.9.3) is as good.
      expect(SUBSCRIBED_OR_REFUSED).toContain(await subscribe(a, `${P}/VIN-B/down/#`));
      expect(SUBSCRIBED_OR_REFUSED).toContain(await subscribe(a, `${P}/+/down/#`));
      expect(await subscribe(a, `${P}/VIN-A/down/#`)).toBe(1);
      const node = await connect('node');
      expect(await publish1(node, `${P}/VIN-B/down/ack`, 'for-b')).toBe(0);
      expect(await publish1(node, `${P}/VIN-A/down/ack`, 'for-a')).toBe(0);
      await box.until(`${P}/VIN-A/down/ack`, 'for-a');
      // Twice at most (its own filter and the wildcard one both match), never B's.
      expect(new Set(box.got.map((m) => m.payload))).toEqual(new Set(['for-a']));
    });

    it('lets every client read the retained finality update, which only the node writes', async () => {
      const node = await connect('node');
      expect(await publish1(node, `${P}/chain/finality`, 'final-7')).toBe(0);
      await new Promise<void>((r) =>
        node.publish(`${P}/chain/finality`, 'final-8', { qos: 1, retain: true }, () => r()),
      );
      const b = await connect('B');
      const box = inbox(b);
      expect(await subscribe(b, `${P}/chain/finality`)).toBe(1);
      await box.until(`${P}/chain/finality`, 'final-8');
    });

    it("does not let a device take the node's client id, and so its place or session", async () => {
      const node = await connect('node');
      const box = inbox(node);
      await subscribe(node, `${P}/+/up/#`);
      const a = await mustConnect(broker.url, certs.A!, { clientId: 'qood-node', clean: false });
      clients.push(a);
      expect(await publish1(a, `${P}/VIN-A/up/chunk`, 'after-takeover-try')).toBe(0);
      await box.until(`${P}/VIN-A/up/chunk`, 'after-takeover-try');
      expect(node.connected).toBe(true);
    });

    it('accepts a device whose TLS key is ed25519 (TLS 1.3)', async () => {
      const node = await connect('node');
      const box = inbox(node);
      await subscribe(node, `${P}/+/up/#`);
      const e = await connect('E');
      expect(await publish1(e, `${P}/VIN-E/up/descriptor`, 'e-1')).toBe(0);
      await box.until(`${P}/VIN-E/up/descriptor`, 'e-1');
    });

    it("lets a grantee command under its own grant only, and read that grant's receipts", async () => {
      const a = await connect('A');
      const aBox = inbox(a);
      expect(await subscribe(a, `${P}/VIN-A/control/+/cmd`)).toBe(1);
      const g = await connect('grantee');
      const gBox = inbox(g);
      expect(await subscribe(g, `${P}/+/control/${GRANT}/receipt`)).toBe(1);
      expect(SUBSCRIBED_OR_REFUSED).toContain(await subscribe(g, `${P}/+/control/${OTHER_GRANT}/receipt`));
      expect(SUBSCRIBED_OR_REFUSED).toContain(await subscribe(g, `${P}/VIN-A/down/#`));
      expect(await publish1(g, `${P}/VIN-A/control/${OTHER_GRANT}/cmd`, 'not-mine')).toBe(0x87);
      expect(await publish1(g, `${P}/VIN-A/up/chunk`, 'not-mine')).toBe(0x87);
      expect(await publish1(g, `${P}/VIN-A/control/${GRANT}/cmd`, 'cmd-1')).toBe(0);
      await aBox.until(`${P}/VIN-A/control/${GRANT}/cmd`, 'cmd-1');
      expect(aBox.got.map((m) => m.payload)).toEqual(['cmd-1']);
      const node = await connect('node');
      expect(await publish1(node, `${P}/VIN-A/down/grant`, 'bundle')).toBe(0);
      expect(await publish1(a, `${P}/VIN-A/control/${OTHER_GRANT}/receipt`, 'rcpt-other')).toBe(0);
      expect(await publish1(a, `${P}/VIN-A/control/${GRANT}/receipt`, 'rcpt-1')).toBe(0);
      await gBox.until(`${P}/VIN-A/control/${GRANT}/receipt`, 'rcpt-1');
      expect(gBox.got.map((m) => m.payload)).toEqual(['rcpt-1']);
    });

    it('refuses a client without a certificate, and one whose certificate another CA issued', async () => {
      const none = await connectFleetClient(broker.url, { caFile: certs.A!.caFile });
      expect(none).toHaveProperty('refused');
      const other = await FleetCa.init({ dir: join(tmp, 'other-ca') });
      const forged = await other.issue(
        { role: 'vehicle', vehicleId: 'VIN-A', deviceKey: '01'.repeat(32) },
        { outDir: join(tmp, 'forged') },
      );
      // The client trusts the real broker; only its own certificate is foreign.
      const r = await connectFleetClient(broker.url, { ...forged, caFile: certs.A!.caFile });
      expect(r).toHaveProperty('refused');
    });

    it('refuses a revoked certificate at connect once the broker reloads (SIGHUP) the new CRL', async () => {
      const before = await connect('R');
      expect(before.connected).toBe(true);
      before.end(true);
      const a = await connect('A');
      expect(await ca.revoke({ role: 'vehicle', name: 'VIN-R' })).toEqual([certs.R!.serial]);
      await broker.reload();
      // The TLS contexts are renewed just after the logged reload: a connect in between may still
      // pass, so try until one is refused (the test's timeout bounds it).
      let r = await connectFleetClient(broker.url, certs.R!);
      while (!('refused' in r)) {
        r.client.end(true);
        r = await connectFleetClient(broker.url, certs.R!);
      }
      expect(r.refused).toMatch(/certificate revoked/);
      // A client connected before the reload stays, and everyone else still connects.
      expect(a.connected).toBe(true);
      await connect('B');
    });

    it('refuses a revoked certificate after a restart as well', async () => {
      await broker.restart();
      const r = await connectFleetClient(broker.url, certs.R!);
      expect(r).toHaveProperty('refused');
      await connect('B');
    });
  },
);
