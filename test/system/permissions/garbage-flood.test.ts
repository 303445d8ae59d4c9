/**
 * Issue 14, attack 10 through a real mosquitto: another broker client floods the car's
 * `control/+/cmd` topics with 3,000 garbage messages. The device (its permissions on a real SQLite
 * `agent.db`, synchronous FULL) refuses each, and its audit log grows by a handful of summary rows,
 * measured on disk, instead of one fsynced row per message; a genuine command after the flood is
 * still executed and audited on its own, and the log's hash chain verifies.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BASE_TERMS, issueGrant } from '../../../agent/permissions/index.js';
import { SqlitePermissionStore } from '../../../agent/store/index.js';
import { openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import { signCommand, toHex } from '../../../chain/index.js';
import { waitUntil } from '../../support/cli.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { keyPair, type PermissionRig, parked, permissionRig, VEHICLE } from '../../support/permissions.js';
import { describeSystem } from '../../support/system.js';

const sizeOf = (path: string) => {
  let n = 0;
  for (const p of [path, `${path}-wal`])
    try {
      n += statSync(p).size;
    } catch {}
  return n;
};

describeSystem(
  'a flood of garbage commands through a real mosquitto',
  [{ bin: 'mosquitto', pkg: 'mosquitto' }],
  () => {
    let broker: Mosquitto;
    let deviceLink: Uplink;
    let attackerLink: Uplink;
    let rig: PermissionRig;
    let store: SqlitePermissionStore;
    let dir: string;
    const path = () => join(dir, 'agent.db');

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'qood-flood-sys-'));
      broker = await Mosquitto.start();
      deviceLink = openMqttUplink({ url: broker.url, clientId: `device-${process.pid}` });
      attackerLink = openMqttUplink({ url: broker.url, clientId: `attacker-${process.pid}` });
      store = new SqlitePermissionStore({ path: path(), synchronous: 'full' });
      rig = permissionRig({ uplink: deviceLink, realClock: true, store });
      await waitUntil(() => deviceLink.connected && attackerLink.connected, 10_000, 'both clients connected');
      rig.perms.start();
    }, 30_000);

    afterAll(async () => {
      await rig?.perms.stop();
      store?.close();
      await attackerLink?.close();
      await deviceLink?.close();
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('3,000 garbage control messages from another broker client add a few audit rows and a few KB', async () => {
      const { id, bundle } = issueGrant({
        ownerSecretKey: rig.owner.secretKey,
        vehicleId: VEHICLE,
        grantee: rig.grantee.hex,
        kind: 'control',
        scope: ['lock'],
        fromMs: Date.now() - 1000,
        toMs: Date.now() + 600_000,
        terms: BASE_TERMS,
        nonce: 1,
      });
      expect(rig.perms.registry.install(bundle, 'test').ok).toBe(true);
      const before = sizeOf(path());
      const rowsBefore = store.audit({ limit: 10_000 }).length;
      const stranger = keyPair();
      const refused = () => rig.metrics.snapshot().counters['control.refused'] ?? 0;
      for (let i = 0; i < 3000; i++) {
        const topicGrant = i % 3 === 0 ? id : toHex(new Uint8Array(randomBytes(32)));
        const bytes =
          i % 2 === 0
            ? new Uint8Array(randomBytes(100))
            : signCommand(
                {
                  grantId: topicGrant,
                  command: 'lock',
                  args: {},
                  nonce: toHex(new Uint8Array(randomBytes(16))),
                  issuedMs: Date.now(),
                },
                stranger.signer,
              );
        await attackerLink.publish(`qood/v1/${VEHICLE}/control/${topicGrant}/cmd`, bytes);
        // Keep the broker's queue for the device under mosquitto's max_queued_messages (1000): on a
        // loaded machine the device reads slower than the attacker writes, and the broker would
        // drop the excess (which the device then never sees to count).
        if ((i + 1) % 250 === 0)
          await waitUntil(() => refused() >= i + 1 - 500, 60_000, `${i + 1 - 500} refused`, 20);
      }
      // Every message the broker delivered is refused and counted; on a loaded machine mosquitto
      // may still drop some of a flood this size, so wait until the count stops moving.
      let seen = -1;
      await waitUntil(
        () => {
          const now = refused();
          const settled = now === seen || now >= 3000;
          seen = now;
          return settled;
        },
        120_000,
        'the refusals to stop coming',
        2000,
      );
      expect(refused()).toBeGreaterThan(2500);
      await Promise.allSettled([...rig.perms.inFlight]);
      // The owner reads the log (this writes out the current window's counts).
      const rows = (await rig.perms.localMethods().audit!({ limit: 10_000 })) as {
        outcome: string;
        args: string;
      }[];
      expect(rows.length - rowsBefore).toBeLessThanOrEqual(4);
      const counted = rows
        .filter((r) => r.outcome === 'summarised')
        .reduce((n, r) => n + (JSON.parse(r.args) as { count: number }).count, 0);
      expect(counted).toBe(refused());
      expect(sizeOf(path()) - before).toBeLessThan(64 * 1024);
      // The grantee's command still runs and is audited on its own.
      parked(rig);
      const cmd = signCommand(
        {
          grantId: id,
          command: 'lock',
          args: {},
          nonce: toHex(new Uint8Array(randomBytes(16))),
          issuedMs: Date.now(),
        },
        rig.grantee.signer,
      );
      await attackerLink.publish(`qood/v1/${VEHICLE}/control/${id}/cmd`, cmd);
      await waitUntil(
        () => (rig.metrics.snapshot().counters['control.executed'] ?? 0) === 1,
        10_000,
        'executed',
      );
      await Promise.allSettled([...rig.perms.inFlight]);
      expect(store.audit({ limit: 1 })[0]).toMatchObject({ outcome: 'executed', command: 'lock' });
      expect(store.verifyAudit().ok).toBe(true);
    }, 120_000);
  },
);
