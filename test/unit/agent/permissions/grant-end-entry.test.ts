/**
 * A listen grant's entry payment (its terms' `minPaid`, what the grantee pays before any data
 * flows) buys no extension time at the device: only what is paid beyond it counts toward moving the
 * end, at the owner's price, never past the owner's latest end (chain/state/apply-market.ts
 * `paidEndMs`, the same function the chain's terms are written against).
 */
import { describe, expect, it } from 'vitest';
import { BASE_TERMS, grantEndMs, grantState, issueGrant } from '../../../../agent/permissions/index.js';
import { permissionRig, VEHICLE } from '../../../support/permissions.js';

const HOUR = 3_600_000;

describe('listen grant end and the entry payment', () => {
  it("the entry payment a listen grant's terms require buys no extension time at the device", () => {
    const rig = permissionRig();
    const start = rig.clock.nowMs;
    const { bundle } = issueGrant({
      ownerSecretKey: rig.owner.secretKey,
      vehicleId: VEHICLE,
      grantee: rig.grantee.hex,
      kind: 'listen',
      scope: ['Vehicle.Speed'],
      fromMs: start - 1000,
      toMs: start + HOUR,
      terms: { ...BASE_TERMS, rateHz: 1, minPaid: 100n },
      nonce: 7,
      extension: { pricePerHour: 10n, latestEndMs: start + 3 * HOUR },
    });
    const r = rig.perms.registry.install(bundle, 'test');
    if (!r.ok) throw new Error(r.message);
    const held = () => rig.perms.registry.get(r.grant.id)!;
    // The record says: the entry paid, and the end moved to 2096. The entry is owed for the data
    // to flow at all; it buys no time, so the grant ends where the owner signed.
    rig.perms.registry.applyChainRecord(r.grant.id, { revoked: false, paid: 100n, toMs: 4e12 });
    expect(grantEndMs(held())).toBe(start + HOUR);
    rig.clock.nowMs = start + HOUR + 1;
    expect(grantState(held(), rig.clock.nowMs)).toBe('expired');
    // Ten units beyond the entry at 10 an hour buy one more hour.
    rig.perms.registry.applyChainRecord(r.grant.id, { revoked: false, paid: 110n, toMs: 4e12 });
    expect(grantEndMs(held())).toBe(start + 2 * HOUR);
    expect(grantState(held(), rig.clock.nowMs)).toBe('active');
    // Less than the entry: unpaid, and no extension either.
    rig.perms.registry.applyChainRecord(r.grant.id, { revoked: false, paid: 99n, toMs: 4e12 });
    expect(grantEndMs(held())).toBe(start + HOUR);
  });
});
