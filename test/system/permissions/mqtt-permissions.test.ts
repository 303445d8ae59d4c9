/**
 * The permissions through a real mosquitto, in process: the owner's grants arrive on the downlink,
 * the grantee listens and commands over the broker, and `mosquitto_sub` (an independent client)
 * records every byte the broker carried. The broker only ever sees ciphertext on listener topics,
 * the grantee decrypts exactly the granted paths at the granted rounding, commands come back with
 * device-signed receipts, a refused command writes no frame, and after revoke no sample or command
 * of the grant is delivered or executed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BASE_TERMS, issueGrant, signOwnerRevoke } from '../../../agent/permissions/index.js';
import { openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import { ListenerReader, openReceipt, type Receipt, signCommand, toHex } from '../../../chain/index.js';
import { waitUntil } from '../../support/cli.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { type PermissionRig, permissionRig, VEHICLE } from '../../support/permissions.js';
import { describeSystem } from '../../support/system.js';

describeSystem(
  'permissions through a real mosquitto',
  [
    { bin: 'mosquitto', pkg: 'mosquitto' },
    { bin: 'mosquitto_sub', pkg: 'mosquitto-clients' },
  ],
  () => {
    let broker: Mosquitto;
    let sub: ChildProcess;
    let subOut = '';
    let deviceLink: Uplink;
    let granteeLink: Uplink;
    let rig: PermissionRig;
    const received: { topic: string; payload: Uint8Array; atMs: number }[] = [];
    let feeder: NodeJS.Timeout;

    beforeAll(async () => {
      broker = await Mosquitto.start();
      sub = spawn('mosquitto_sub', ['-p', String(broker.port), '-t', 'qood/v1/#', '-F', '%t %x', '-q', '1'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      sub.stdout!.setEncoding('utf8').on('data', (d: string) => {
        subOut += d;
      });
      deviceLink = openMqttUplink({ url: broker.url, clientId: `device-${process.pid}` });
      granteeLink = openMqttUplink({ url: broker.url, clientId: `grantee-${process.pid}` });
      rig = permissionRig({ uplink: deviceLink, realClock: true, tickMs: 20 });
      await waitUntil(() => deviceLink.connected && granteeLink.connected, 10_000, 'both clients connected');
      rig.perms.start();
      granteeLink.onMessage((topic, payload) => received.push({ topic, payload, atMs: Date.now() }));
      await granteeLink.subscribe(`qood/v1/${VEHICLE}/listen/+`);
      await granteeLink.subscribe(`qood/v1/${VEHICLE}/control/+/receipt`);
      // A parked car with the engine off, moving location; samples at 20 Hz.
      let i = 0;
      feeder = setInterval(() => {
        i++;
        rig.setSignal('Vehicle.Speed', 0);
        rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
        rig.setSignal('Vehicle.CurrentLocation.Latitude', 47.371234 + i * 1e-5);
        rig.setSignal('Vehicle.CurrentLocation.Longitude', 8.541234);
        rig.setSignal('Vehicle.TraveledDistance', 123456.7);
      }, 50);
      // mosquitto_sub is subscribed once it prints a probe.
      await waitUntil(
        async () => {
          await granteeLink.publish('qood/v1/probe', new Uint8Array([1]));
          return subOut.includes('qood/v1/probe');
        },
        10_000,
        'mosquitto_sub subscribed',
        100,
      );
    }, 30_000);

    afterAll(async () => {
      clearInterval(feeder);
      await rig?.perms.stop();
      await granteeLink?.close();
      await deviceLink?.close();
      sub?.kill('SIGTERM');
      await broker?.stop();
    });

    const owner = () => rig.owner.secretKey;
    const grantOver = async (kind: 'listen' | 'control', scope: string[], terms = {}) => {
      const { id, bundle } = issueGrant({
        ownerSecretKey: owner(),
        vehicleId: VEHICLE,
        grantee: rig.grantee.hex,
        kind,
        scope,
        fromMs: Date.now() - 1000,
        toMs: Date.now() + 600_000,
        terms: { ...BASE_TERMS, ...terms },
        nonce: Math.floor(Math.random() * 1e9),
      });
      await granteeLink.publish(`qood/v1/${VEHICLE}/down/grant`, bundle);
      await waitUntil(
        () => rig.perms.registry.get(id) !== undefined,
        5000,
        `grant ${id} installed from the broker`,
      );
      return id;
    };
    const sendCommand = async (grantId: string, command: string): Promise<Receipt> => {
      const bytes = signCommand(
        { grantId, command, args: {}, nonce: toHex(new Uint8Array(randomBytes(16))), issuedMs: Date.now() },
        rig.grantee.signer,
      );
      const before = received.length;
      await granteeLink.publish(`qood/v1/${VEHICLE}/control/${grantId}/cmd`, bytes);
      let receipt: Receipt | undefined;
      await waitUntil(
        () => {
          for (const m of received.slice(before))
            if (m.topic.endsWith(`${grantId}/receipt`))
              receipt = openReceipt(m.payload, rig.device.publicKey);
          return receipt !== undefined;
        },
        5000,
        'a receipt',
      );
      return receipt!;
    };

    let listenId = '';
    let controlId = '';

    it('a listen grant over the downlink streams exactly the granted paths, rounded, decryptable by the grantee only', async () => {
      listenId = await grantOver('listen', ['Vehicle.Speed', 'Vehicle.CurrentLocation.Latitude'], {
        rateHz: 5,
        granularity: new Map([
          ['Vehicle.Speed', 10],
          ['Vehicle.CurrentLocation.Latitude', 0.01],
        ]),
      });
      await waitUntil(
        () => received.filter((m) => m.topic.endsWith(`/listen/${listenId}`)).length >= 5,
        5000,
        '5 pushes',
      );
      const reader = new ListenerReader(rig.grantee.secretKey, rig.device.publicKey);
      for (const m of received.filter((x) => x.topic.endsWith(`/listen/${listenId}`))) {
        const msg = reader.open(m.payload);
        const paths = msg.values.map((v) => v[0]).sort();
        expect(paths).toEqual(['Vehicle.CurrentLocation.Latitude', 'Vehicle.Speed']);
        const lat = msg.values.find((v) => v[0] === 'Vehicle.CurrentLocation.Latitude')![1] as number;
        expect(Math.abs(lat * 100 - Math.round(lat * 100))).toBeLessThan(1e-9);
        expect(lat).toBeCloseTo(47.37, 2);
      }
    });

    it('control: unlock executes with a signed receipt and frames on the bus; while moving it is refused with none', async () => {
      controlId = await grantOver('control', ['lock', 'unlock'], {
        commandLimit: { count: 20, perMs: 60_000 },
      });
      const ok = await sendCommand(controlId, 'unlock');
      expect(ok).toMatchObject({ outcome: 'executed', reason: 'OK', framesWritten: 2, grantId: controlId });
      expect(rig.wire.sent).toHaveLength(2);
      clearInterval(feeder);
      rig.setSignal('Vehicle.Speed', 35);
      rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
      const moving = await sendCommand(controlId, 'unlock');
      expect(moving).toMatchObject({ outcome: 'refused', reason: 'INTERLOCK', framesWritten: 0 });
      expect(rig.wire.sent).toHaveLength(2);
      rig.setSignal('Vehicle.Speed', 0);
      feeder = setInterval(() => {
        rig.setSignal('Vehicle.Speed', 0);
        rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
        rig.setSignal('Vehicle.CurrentLocation.Latitude', 47.3712);
      }, 50);
    });

    it('after revoke no further sample or command of the grants is delivered or executed', async () => {
      // The listen grant is revoked by the owner's signed transaction over the broker, the control
      // grant on the device (as `qood grants revoke` does).
      await granteeLink.publish(
        `qood/v1/${VEHICLE}/down/revoke`,
        signOwnerRevoke({ ownerSecretKey: owner(), grantId: listenId }),
      );
      await waitUntil(() => rig.perms.registry.get(listenId)?.revokedMs != null, 5000, 'the revoke applied');
      const revokedAt = rig.perms.registry.get(listenId)!.revokedMs!;
      rig.perms.revoke(controlId);
      const refused = await sendCommand(controlId, 'lock');
      expect(refused).toMatchObject({ outcome: 'refused', reason: 'REVOKED', framesWritten: 0 });
      expect(rig.wire.sent).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 600));
      const reader = new ListenerReader(rig.grantee.secretKey, rig.device.publicKey);
      const late = received
        .filter((m) => m.topic.endsWith(`/listen/${listenId}`))
        .map((m) => reader.open(m.payload))
        .filter((m) => m.tMs > revokedAt);
      expect(late).toHaveLength(0);
      expect(rig.store.audit({ limit: 50 }).some((r) => r.kind === 'revoke' && r.actor === 'owner-tx')).toBe(
        true,
      );
    });

    it('a revocation that arrives before its grant is kept and refuses the grant (down/revoke, then down/grant, through the broker)', async () => {
      const { id, bundle } = issueGrant({
        ownerSecretKey: owner(),
        vehicleId: VEHICLE,
        grantee: rig.grantee.hex,
        kind: 'control',
        scope: ['lock', 'unlock'],
        fromMs: Date.now() - 1000,
        toMs: Date.now() + 600_000,
        terms: BASE_TERMS,
        nonce: Math.floor(Math.random() * 1e9),
      });
      const before = rig.store.audit({ limit: 1 })[0]?.seq ?? 0;
      await granteeLink.publish(
        `qood/v1/${VEHICLE}/down/revoke`,
        signOwnerRevoke({ ownerSecretKey: owner(), grantId: id }),
      );
      await waitUntil(
        () =>
          rig.store
            .audit({ limit: 10, afterSeq: before })
            .some((r) => r.kind === 'revoke' && r.grantId === id),
        5000,
        'the early revoke kept',
      );
      await granteeLink.publish(`qood/v1/${VEHICLE}/down/grant`, bundle);
      await waitUntil(
        () => (rig.metrics.snapshot().counters['grants.refused'] ?? 0) > 0,
        5000,
        'the grant refused',
      );
      expect(rig.perms.registry.get(id)).toBeUndefined();
      const sent = rig.wire.sent.length;
      const receipt = await sendCommand(id, 'unlock');
      expect(receipt).toMatchObject({ outcome: 'refused', framesWritten: 0 });
      expect(rig.wire.sent).toHaveLength(sent);
    });

    it('the broker carried only ciphertext on listener topics (as mosquitto_sub recorded it)', async () => {
      await waitUntil(() => subOut.includes(`/listen/${listenId} `), 2000, 'mosquitto_sub output');
      const lines = subOut.trim().split('\n');
      const listen = lines.filter((l) => l.split(' ')[0]!.includes('/listen/'));
      expect(listen.length).toBeGreaterThanOrEqual(5);
      const reader = new ListenerReader(rig.grantee.secretKey, rig.device.publicKey);
      for (const l of listen) {
        const [, hex] = l.split(' ');
        const bytes = Buffer.from(hex!, 'hex');
        const text = bytes.toString('latin1');
        for (const needle of ['Vehicle', 'Speed', 'Latitude', '47.37', 'Traveled'])
          expect(text).not.toContain(needle);
        // It is the same message the grantee opened: the broker relays, it cannot read.
        expect(reader.open(new Uint8Array(bytes)).grantId).toBe(listenId);
      }
    });
  },
);
