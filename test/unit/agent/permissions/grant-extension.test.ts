/**
 * Issue 14, attack 3 at the device: a listen grant's end never goes past what the owner signed.
 * A chain record of the grant (a proof the light client checked, but made under an older rule or
 * fed by a byzantine node) may say the grant runs to 2096 for one base unit; the device clamps the
 * end to the owner-signed latest end and to what the recorded payment covers at the owner's price.
 */
import { describe, expect, it } from 'vitest';
import { BASE_TERMS, grantEndMs, grantState, issueGrant } from '../../../../agent/permissions/index.js';
import { permissionRig, VEHICLE } from '../../../support/permissions.js';

const HOUR = 3_600_000;

describe('listen grant end at the device', () => {
  it('a grantee paying one base unit cannot extend its grant past what the owner signed (device clamps the chain record)', () => {
    const rig = permissionRig();
    const start = rig.clock.nowMs;
    const issue = (extension?: { pricePerHour: bigint; latestEndMs: number }) => {
      const { bundle } = issueGrant({
        ownerSecretKey: rig.owner.secretKey,
        vehicleId: VEHICLE,
        grantee: rig.grantee.hex,
        kind: 'listen',
        scope: ['Vehicle.Speed'],
        fromMs: start - 1000,
        toMs: start + HOUR,
        terms: { ...BASE_TERMS, rateHz: 1 },
        nonce: Math.floor(Math.random() * 1e9),
        ...(extension === undefined ? {} : { extension }),
      });
      const r = rig.perms.registry.install(bundle, 'test');
      if (!r.ok) throw new Error(r.message);
      return r.grant.id;
    };
    const fixed = issue();
    const priced = issue({ pricePerHour: 10n, latestEndMs: start + 3 * HOUR });
    // The proven records say: paid one unit, valid until 2096.
    for (const id of [fixed, priced])
      rig.perms.registry.applyChainRecord(id, { revoked: false, paid: 1n, toMs: 4e12 });
    const held = (id: string) => rig.perms.registry.get(id)!;
    // Without extension terms the end is the one the owner signed.
    expect(grantEndMs(held(fixed))).toBe(start + HOUR);
    // One unit at 10 an hour buys six minutes, inside the owner's latest end.
    expect(grantEndMs(held(priced))).toBe(start + HOUR + 360_000);
    rig.clock.nowMs = start + 2 * HOUR;
    expect(grantState(held(fixed), rig.clock.nowMs)).toBe('expired');
    expect(grantState(held(priced), rig.clock.nowMs)).toBe('expired');
    // Paid enough for years: still no later than the owner's latest end.
    rig.perms.registry.applyChainRecord(priced, { revoked: false, paid: 1_000_000n, toMs: 4e12 });
    expect(grantEndMs(held(priced))).toBe(start + 3 * HOUR);
    expect(grantState(held(priced), rig.clock.nowMs)).toBe('active');
    // A paid extension the chain recorded within the terms is honoured as recorded.
    rig.perms.registry.applyChainRecord(priced, { revoked: false, paid: 10n, toMs: start + 2 * HOUR - 1 });
    expect(grantEndMs(held(priced))).toBe(start + 2 * HOUR - 1);
  });
});
