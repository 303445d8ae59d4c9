/**
 * Issue 14, attack 2: a revocation that arrives before its grant. The owner's revocation (an
 * owner-signed revoke on the downlink, the local API, a proven chain record) is kept as a
 * tombstone by grant id whether or not the device holds the grant, every install checks it, and it
 * survives the agent's database being moved aside as unusable (real SQLite files) and is learnt
 * again from the chain when it is lost.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainView, finalityTopic } from '../../../../agent/chain/index.js';
import {
  BASE_TERMS,
  GrantRegistry,
  issueGrant,
  signOwnerRevoke,
} from '../../../../agent/permissions/index.js';
import {
  MemoryPermissionStore,
  openChunkStoreOrMoveAside,
  SqlitePermissionStore,
} from '../../../../agent/store/index.js';
import { MemoryBroker } from '../../../../agent/sync/memory-uplink.js';
import { getPublicKey, sha256 } from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { chainViewRig, REVOKED_AT, RIG_VEHICLE } from '../../../support/chain-view-rig.js';
import { checkpointAt, LIGHT_T0 } from '../../../support/light-chain.js';
import { type PermissionRig, parked, permissionRig, VEHICLE } from '../../../support/permissions.js';

const flush = () => new Promise((r) => setTimeout(r, 5));

/** A control grant for the rig's grantee, signed by its owner but not installed. */
function issued(rig: PermissionRig): { id: string; bundle: Uint8Array } {
  return issueGrant({
    ownerSecretKey: rig.owner.secretKey,
    vehicleId: VEHICLE,
    grantee: rig.grantee.hex,
    kind: 'control',
    scope: ['lock', 'unlock'],
    fromMs: rig.clock.nowMs - 1000,
    toMs: rig.clock.nowMs + 3_600_000,
    terms: BASE_TERMS,
    nonce: Math.floor(Math.random() * 1e9),
  });
}

describe('a revocation that arrives before its grant', () => {
  it('a revocation that arrives before its grant is kept and refuses the grant (down/revoke then down/grant)', async () => {
    const broker = new MemoryBroker();
    const rig = permissionRig({ uplink: broker.connect('device') });
    rig.perms.start();
    await flush();
    parked(rig);
    const { id, bundle } = issued(rig);
    broker.inject(
      rig.perms.topics.revoke,
      signOwnerRevoke({ ownerSecretKey: rig.owner.secretKey, grantId: id }),
    );
    await flush();
    broker.inject(rig.perms.topics.grant, bundle);
    await flush();
    const held = rig.perms.registry.get(id);
    expect(held === undefined || held.revokedMs !== null).toBe(true);
    const r = await rig.perms.control!.handle(id, rig.command(id, 'unlock'));
    expect(r.receipt.outcome).toBe('refused');
    expect(['REVOKED', 'UNKNOWN_GRANT']).toContain(r.receipt.reason);
    expect(rig.wire.sent).toHaveLength(0);
    await rig.perms.stop();
  });

  it("the owner's local revoke of a grant not yet received is kept and refuses the grant", () => {
    const rig = permissionRig();
    const { id, bundle } = issued(rig);
    const r = rig.perms.revoke(id);
    expect(r).toMatchObject({ id, queued: 'revoke-request' });
    const install = rig.perms.registry.install(bundle, 'local');
    expect(install).toMatchObject({ ok: false, code: 'REVOKED' });
    expect(rig.perms.registry.get(id)).toBeUndefined();
    // The owner's revoke still reaches the chain, through the outbox.
    expect((rig.store as MemoryPermissionStore).outbox.map((t) => t.kind)).toEqual(['revoke-request']);
  });

  it('a proven chain record of a revoked grant the device does not hold is kept and refuses the grant', () => {
    const rig = permissionRig();
    const { id, bundle } = issued(rig);
    rig.perms.registry.applyChainRecord(id, {
      vehicle: rig.perms.registry.chainVehicle,
      revoked: true,
      paid: 0n,
      toMs: rig.clock.nowMs + 3_600_000,
    });
    expect(rig.perms.registry.install(bundle, 'mqtt')).toMatchObject({ ok: false, code: 'REVOKED' });
  });

  it("a proven revoked record of another vehicle's grant is not kept (a node cannot fill the tombstones)", () => {
    const rig = permissionRig();
    const { id } = issued(rig);
    rig.perms.registry.applyChainRecord(id, {
      vehicle: 'ab'.repeat(32),
      revoked: true,
      paid: 0n,
      toMs: rig.clock.nowMs + 3_600_000,
    });
    expect(rig.store.revocations()).toHaveLength(0);
  });
});

describe('revocations survive the database being moved aside', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a revocation survives agent.db being moved aside as unusable: the same grant from the downlink is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qood-revoke-'));
    dirs.push(dir);
    const path = join(dir, 'agent.db');
    const open = () => {
      const chunks = openChunkStoreOrMoveAside({
        path,
        logger: silentLogger,
        nowMs: () => Date.UTC(2025, 0, 2),
      });
      const store = new SqlitePermissionStore({ path });
      return { chunks, store };
    };
    const first = open();
    const rig = permissionRig({ store: first.store });
    const { id, bundle } = issued(rig);
    expect(rig.perms.registry.install(bundle, 'mqtt').ok).toBe(true);
    rig.perms.revoke(id);
    first.store.close();
    first.chunks.store.close();
    // The file is damaged beyond use; the agent moves it (with its -wal and -shm) aside.
    writeFileSync(path, Buffer.alloc(statSync(path).size, 0x42));
    const second = open();
    expect(second.chunks.movedTo).toBeDefined();
    expect(readFileSync(second.chunks.movedTo!)[0]).toBe(0x42);
    const registry = new GrantRegistry({
      store: second.store,
      ownerPublicKey: rig.owner.publicKey,
      vehicleId: VEHICLE,
      nowMs: () => rig.clock.nowMs,
      logger: silentLogger,
    });
    // The broker's retained grant comes again after the restart.
    expect(registry.install(bundle, 'mqtt')).toMatchObject({ ok: false, code: 'REVOKED' });
    second.store.close();
    second.chunks.store.close();
  });

  it('a revocation lost with the device is learnt again from the chain and refuses the grant', async () => {
    const rig = chainViewRig();
    // A device that holds nothing (a new store): the grant's bundle has not arrived yet.
    const registry = new GrantRegistry({
      store: new MemoryPermissionStore(),
      ownerPublicKey: getPublicKey(sha256(new TextEncoder().encode('light-key/owner'))),
      vehicleId: RIG_VEHICLE,
      nowMs: () => LIGHT_T0 + 60_000,
      logger: silentLogger,
    });
    const broker = new MemoryBroker();
    const view = new ChainView({
      checkpoint: checkpointAt(rig.chain, 1),
      uplink: broker.connect('device'),
      metrics: new Metrics(),
      logger: silentLogger,
      grants: registry,
    });
    view.start();
    await flush();
    const node = broker.connect('node');
    await flush();
    for (const h of [2, 4, REVOKED_AT]) {
      await node.publish(finalityTopic(), rig.updateBytes(h));
      await flush();
    }
    expect(view.grantStatus(rig.grantId, LIGHT_T0 + 60_000).state).toBe('revoked');
    expect(registry.install(rig.bundle, 'mqtt')).toMatchObject({ ok: false, code: 'REVOKED' });
    view.stop();
  });
});
