/**
 * The control API's checks: an accepted command writes its profile's frames and is audited and
 * queued for the chain; every refusal path of issue 8 is refused with its reason in the signed
 * receipt and the audit log, and writes zero frames (checked on the recording memory wire).
 */

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDbcFile } from '../../../../agent/decode/can/index.js';
import { RefusalSummary, signOwnerRevoke } from '../../../../agent/permissions/index.js';
import { MemoryPermissionStore } from '../../../../agent/store/index.js';
import { decodeSignedTx, openReceipt, type Receipt, toHex } from '../../../../chain/index.js';
import { keyPair, type PermissionRig, parked, permissionRig } from '../../../support/permissions.js';
import { projectRoot } from '../../../support/system.js';

const dbc = loadDbcFile(join(projectRoot(), 'simulators', 'vehicle', 'qood-sim.dbc'));

async function send(
  rig: PermissionRig,
  grantId: string,
  bytes: Uint8Array,
  topicGrant = grantId,
): Promise<Receipt> {
  const r = await rig.perms.control!.handle(topicGrant, bytes);
  // The receipt is signed by the device key and says the same as the returned fields.
  expect(openReceipt(r.receiptBytes, rig.device.publicKey)).toEqual(r.receipt);
  return r.receipt;
}

function lastAudit(rig: PermissionRig) {
  return rig.store.audit({ limit: 1 })[0]!;
}

describe('control: an accepted command', () => {
  it('writes the unlock frames, audits the execution, queues a controlExec signed by the device and signs a receipt', async () => {
    const rig = permissionRig();
    parked(rig);
    const id = rig.grant('control', ['lock', 'unlock'], { commandLimit: { count: 5, perMs: 60_000 } });
    const r = await send(rig, id, rig.command(id, 'unlock'));
    expect(r).toMatchObject({ outcome: 'executed', reason: 'OK', framesWritten: 2, grantId: id });
    const frames = rig.wire.sent.map((f) => dbc.lookup(f.id, f.extended)!.decode(f.data).signals.LockRequest);
    expect(frames).toEqual([2, 0]);
    expect(lastAudit(rig)).toMatchObject({
      kind: 'control',
      outcome: 'executed',
      actor: rig.grantee.hex,
      command: 'unlock',
    });
    const outbox = (rig.store as MemoryPermissionStore).outbox;
    expect(outbox.map((t) => t.kind)).toEqual(['controlExec']);
    const tx = decodeSignedTx(outbox[0]!.bytes);
    expect(tx.tx).toMatchObject({
      kind: 'controlExec',
      sender: rig.device.hex,
      body: { grant: id, command: 'unlock', resultCode: 0 },
    });
  });
});

describe('control: every refusal names its reason and writes nothing', () => {
  type Case = {
    name: string;
    code: string;
    setup: (rig: PermissionRig) => Promise<{ id: string; bytes: Uint8Array; topic?: string }>;
  };
  const unlockGrant = (rig: PermissionRig, terms = {}) => rig.grant('control', ['lock', 'unlock'], terms);
  const cases: Case[] = [
    {
      name: 'forged signature',
      code: 'BAD_SIGNATURE',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        const bytes = rig.command(id, 'unlock');
        bytes[bytes.length - 5]! ^= 0x40; // inside the signature
        return { id, bytes };
      },
    },
    {
      name: 'wrong grantee',
      code: 'WRONG_GRANTEE',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        return { id, bytes: rig.command(id, 'unlock', { signer: keyPair().signer }) };
      },
    },
    {
      name: 'not yet valid',
      code: 'NOT_YET_VALID',
      setup: async (rig) => {
        const id = rig.grant('control', ['unlock'], {}, { fromMs: rig.clock.nowMs + 60_000 });
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'expired',
      code: 'EXPIRED',
      setup: async (rig) => {
        const id = rig.grant('control', ['unlock'], {}, { toMs: rig.clock.nowMs + 1000 });
        rig.clock.nowMs += 1000;
        parked(rig);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'revoked on the device',
      code: 'REVOKED',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        rig.perms.revoke(id);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'revoked via the chain',
      code: 'REVOKED',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        rig.perms.registry.applyChainRecord(id, {
          revoked: true,
          paid: 0n,
          toMs: rig.clock.nowMs + 3_600_000,
        });
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'revoked by an owner-signed revoke transaction',
      code: 'REVOKED',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        rig.perms.revoke(id, signOwnerRevoke({ ownerSecretKey: rig.owner.secretKey, grantId: id }));
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'stale issue time',
      code: 'STALE_ISSUE_TIME',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        return { id, bytes: rig.command(id, 'unlock', { issuedMs: rig.clock.nowMs - 31_000 }) };
      },
    },
    {
      name: 'future issue time',
      code: 'FUTURE_ISSUE_TIME',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        return { id, bytes: rig.command(id, 'unlock', { issuedMs: rig.clock.nowMs + 31_000 }) };
      },
    },
    {
      name: 'command outside the scope',
      code: 'OUT_OF_SCOPE',
      setup: async (rig) => {
        const id = rig.grant('control', ['lock']);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'a command the vehicle profile lacks',
      code: 'UNSUPPORTED_COMMAND',
      setup: async (rig) => {
        const id = rig.grant('control', ['start-engine']);
        return { id, bytes: rig.command(id, 'start-engine') };
      },
    },
    {
      name: 'an argument the command does not take',
      code: 'BAD_ARGS',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        return { id, bytes: rig.command(id, 'unlock', { args: { seconds: 5 } }) };
      },
    },
    {
      name: 'interlock: moving',
      code: 'INTERLOCK',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        rig.setSignal('Vehicle.Speed', 12.5);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'interlock: engine running without the grant allowing it',
      code: 'INTERLOCK',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', true);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'interlock: the speed signal went quiet',
      code: 'INTERLOCK',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        rig.clock.nowMs += 2500;
        rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: "the grant's condition (only with the doors locked)",
      code: 'CONDITION',
      setup: async (rig) => {
        const id = rig.grant('control', ['lock'], {
          conditions: [{ path: 'Vehicle.Cabin.Door.Row1.DriverSide.IsLocked', op: 'eq', value: 0 }],
        });
        rig.setSignal('Vehicle.Cabin.Door.Row1.DriverSide.IsLocked', true);
        return { id, bytes: rig.command(id, 'lock') };
      },
    },
    {
      name: 'a listen grant used for control',
      code: 'WRONG_KIND',
      setup: async (rig) => {
        const id = rig.grant('listen', ['Vehicle.Speed']);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'an unknown grant',
      code: 'UNKNOWN_GRANT',
      setup: async (rig) => {
        const id = 'ab'.repeat(32);
        return { id, bytes: rig.command(id, 'unlock') };
      },
    },
    {
      name: 'a command for another grant than its topic',
      code: 'TOPIC_MISMATCH',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        const other = rig.grant('control', ['unlock']);
        return { id, bytes: rig.command(other, 'unlock'), topic: id };
      },
    },
    {
      name: 'malformed bytes',
      code: 'MALFORMED',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        return { id, bytes: new TextEncoder().encode('{"command":"unlock"}') };
      },
    },
    {
      name: 'a truncated command',
      code: 'MALFORMED',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        return { id, bytes: rig.command(id, 'unlock').subarray(0, 60) };
      },
    },
    {
      name: 'an oversized message',
      code: 'OVERSIZED',
      setup: async (rig) => {
        const id = unlockGrant(rig);
        return { id, bytes: new Uint8Array(4096) };
      },
    },
  ];

  for (const c of cases)
    it(`${c.name}: ${c.code}`, async () => {
      const rig = permissionRig();
      parked(rig);
      const { id, bytes, topic } = await c.setup(rig);
      const r = await send(rig, id, bytes, topic ?? id);
      expect(r.outcome).toBe('refused');
      expect(r.reason).toBe(c.code);
      expect(r.framesWritten).toBe(0);
      expect(r.detail.length).toBeGreaterThan(5);
      // Messages nobody proved a grantee sent are counted per minute, not audited one by one
      // (issue 14, attack 10); the owner's audit query writes the count out.
      const unauthenticated = RefusalSummary.unauthenticated(c.code);
      if (unauthenticated) rig.perms.summary.flush();
      expect(lastAudit(rig)).toMatchObject({
        kind: 'control',
        outcome: unauthenticated ? 'summarised' : 'refused',
        reason: c.code,
        framesWritten: 0,
      });
      expect(rig.wire.sent).toHaveLength(0);
      expect(
        (rig.store as MemoryPermissionStore).outbox.filter((t) => t.kind === 'controlExec'),
      ).toHaveLength(0);
    });

  it('a replayed nonce: the first command runs, the same bytes again are REPLAYED', async () => {
    const rig = permissionRig();
    parked(rig);
    const id = rig.grant('control', ['lock']);
    const bytes = rig.command(id, 'lock');
    expect((await send(rig, id, bytes)).outcome).toBe('executed');
    expect(rig.wire.sent).toHaveLength(1);
    rig.clock.nowMs += 5000;
    parked(rig);
    const again = await send(rig, id, bytes);
    expect(again).toMatchObject({ outcome: 'refused', reason: 'REPLAYED', framesWritten: 0 });
    expect(rig.wire.sent).toHaveLength(1);
  });

  it('a command refused while moving cannot be replayed once the car stops', async () => {
    const rig = permissionRig();
    parked(rig);
    rig.setSignal('Vehicle.Speed', 40);
    const id = rig.grant('control', ['unlock']);
    const bytes = rig.command(id, 'unlock');
    expect((await send(rig, id, bytes)).reason).toBe('INTERLOCK');
    parked(rig);
    expect((await send(rig, id, bytes)).reason).toBe('REPLAYED');
    expect(rig.wire.sent).toHaveLength(0);
  });

  it('the rate limit: two per minute, the third is RATE_LIMITED, a minute later it runs', async () => {
    const rig = permissionRig();
    parked(rig);
    const id = rig.grant('control', ['lock'], { commandLimit: { count: 2, perMs: 60_000 } });
    expect((await send(rig, id, rig.command(id, 'lock'))).outcome).toBe('executed');
    expect((await send(rig, id, rig.command(id, 'lock'))).outcome).toBe('executed');
    const third = await send(rig, id, rig.command(id, 'lock'));
    expect(third).toMatchObject({ outcome: 'refused', reason: 'RATE_LIMITED' });
    expect(rig.wire.sent).toHaveLength(2);
    rig.clock.nowMs += 60_001;
    parked(rig);
    expect((await send(rig, id, rig.command(id, 'lock'))).outcome).toBe('executed');
    expect(rig.wire.sent).toHaveLength(3);
  });

  it('a revoke while a command waits for the bus refuses it there, with nothing written', async () => {
    const rig = permissionRig();
    parked(rig);
    const a = rig.grant('control', ['unlock']);
    const b = rig.grant('control', ['lock']);
    // The unlock sequence takes 20 ms; the lock queued behind it is in flight when b is revoked.
    const first = rig.perms.control!.handle(a, rig.command(a, 'unlock'));
    const second = rig.perms.control!.handle(b, rig.command(b, 'lock'));
    rig.perms.revoke(b);
    expect((await first).receipt.outcome).toBe('executed');
    expect((await second).receipt).toMatchObject({ outcome: 'refused', reason: 'REVOKED', framesWritten: 0 });
    expect(rig.wire.sent).toHaveLength(2);
  });

  it('refusals are audited in order in an append-only log; grants and revokes are there too', async () => {
    const rig = permissionRig({ store: new MemoryPermissionStore() });
    parked(rig);
    const id = rig.grant('control', ['lock']);
    await send(rig, id, rig.command(id, 'unlock'));
    rig.perms.revoke(id);
    await send(rig, id, rig.command(id, 'lock'));
    expect(rig.store.audit({ limit: 10 }).map((r) => [r.kind, r.outcome, r.reason])).toEqual([
      ['grant', 'accepted', 'OK'],
      ['control', 'refused', 'OUT_OF_SCOPE'],
      ['revoke', 'revoked', 'OK'],
      ['control', 'refused', 'REVOKED'],
    ]);
    expect((rig.store as MemoryPermissionStore).outbox.map((t) => t.kind)).toEqual(['revoke-request']);
    expect(toHex((rig.store as MemoryPermissionStore).outbox[0]!.bytes).length).toBeGreaterThan(64);
  });
});
