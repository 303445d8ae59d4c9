/**
 * `qood owner` reaching the device over a real mosquitto: `grant issue --broker` puts the grant on
 * chain and, once final, publishes the bundle on the vehicle's `down/grant` topic, where the
 * device's permissions (the agent's own, on a real MQTT link) install it; `revoke --broker`
 * publishes the owner's signed revoke on `down/revoke` (before submitting it, so an online device
 * refuses the grant without waiting for blocks), which the device takes, and the chain's record
 * is final and revoked when the command returns.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { grantState } from '../../../agent/permissions/index.js';
import { openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import { toHex, UNIT } from '../../../chain/index.js';
import { OwnerWallet } from '../../../market/index.js';
import { QOOD_CLI, waitUntil } from '../../support/cli.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { type OwnerChain, startOwnerChain } from '../../support/owner-chain.js';
import { type PermissionRig, permissionRig, VEHICLE } from '../../support/permissions.js';
import { describeSystem } from '../../support/system.js';

/** Runs `qood ...args` without blocking this process (the node and the device run in it). */
function qood(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [QOOD_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describeSystem(
  'qood owner delivering to a device over a real mosquitto',
  [{ bin: 'mosquitto', pkg: 'mosquitto' }],
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'qood-owner-device-'));
    const keyFile = join(dir, 'owner.key');
    let broker: Mosquitto;
    let deviceLink: Uplink;
    let rig: PermissionRig;
    let chain: OwnerChain;

    beforeAll(async () => {
      broker = await Mosquitto.start();
      deviceLink = openMqttUplink({ url: broker.url, clientId: `owner-device-${process.pid}` });
      rig = permissionRig({ uplink: deviceLink, realClock: true, tickMs: 20 });
      await waitUntil(() => deviceLink.connected, 10_000, 'the device connected');
      rig.perms.start();
      chain = await startOwnerChain();
      writeFileSync(keyFile, `${toHex(rig.owner.secretKey)}\n`, { mode: 0o600 });
      const whale = new OwnerWallet({ nodeUrl: chain.apiUrl, secretKey: chain.whaleSecret, pollMs: 50 });
      await whale.fundDevice(rig.owner.hex, 1000n * UNIT);
      const owner = new OwnerWallet({ nodeUrl: chain.apiUrl, secretKey: rig.owner.secretKey, pollMs: 50 });
      await owner.registerVehicle(VEHICLE);
      await owner.bindDevice(VEHICLE, rig.device.hex);
    }, 90_000);

    afterAll(async () => {
      await rig?.perms.stop();
      await deviceLink?.close();
      await chain?.stop();
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('delivers the grant once final, and the revocation to the device as well as to the chain', async () => {
      const common = ['--node', chain.apiUrl, '--key-file', keyFile, '--broker', broker.url];
      const issued = await qood([
        'owner',
        'grant',
        'issue',
        ...common,
        '--vehicle',
        VEHICLE,
        '--grantee',
        rig.grantee.hex,
        '--kind',
        'listen',
        '--scope',
        'Vehicle.Speed',
        '--valid-for',
        '1h',
        '--out',
        join(dir, 'g.grant'),
        '--json',
      ]);
      expect(issued.status, issued.stderr).toBe(0);
      const doc = JSON.parse(issued.stdout) as { grantId: string; delivered: string };
      expect(doc.delivered).toBe(`qood/v1/${VEHICLE}/down/grant`);
      await waitUntil(
        () => rig.perms.registry.get(doc.grantId) !== undefined,
        10_000,
        'the grant installed from the broker',
      );
      expect(grantState(rig.perms.registry.get(doc.grantId)!, Date.now())).toBe('active');

      const revoked = await qood(['owner', 'revoke', doc.grantId, ...common, '--vehicle', VEHICLE, '--json']);
      expect(revoked.status, revoked.stderr).toBe(0);
      expect(JSON.parse(revoked.stdout)).toMatchObject({
        kind: 'revoke',
        delivered: `qood/v1/${VEHICLE}/down/revoke`,
      });
      // The device took the owner's signed revoke from its topic (the chain's record is final too).
      await waitUntil(
        () => rig.perms.registry.get(doc.grantId)?.revokedMs !== null,
        10_000,
        'the device revoked the grant',
      );
      expect(rig.perms.registry.get(doc.grantId)?.revokedBy).toBe('owner-tx');
      const owner = new OwnerWallet({ nodeUrl: chain.apiUrl, secretKey: rig.owner.secretKey });
      expect((await owner.grant(doc.grantId))?.revoked).toBe(true);
    }, 90_000);

    it('names --vehicle when revoke is asked to publish without it', async () => {
      const r = await qood([
        'owner',
        'revoke',
        'ab'.repeat(32),
        '--key-file',
        keyFile,
        '--broker',
        broker.url,
      ]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/qood owner revoke: --broker needs --vehicle ID/);
    });
  },
);
