/**
 * Issue 14, attack 5: interlocks checked when a command arrives, not when its frames go out. Scope,
 * grant state, interlocks and conditions are checked again immediately before the first frame and
 * between the frames of a sequence; the control queue is bounded per grant and in total; a command
 * that waited too long for the bus expires. Frames are counted on the recording memory CAN wire,
 * sequences run on real timers (flash-lights: three frames 300 ms apart).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDbcFile } from '../../../../agent/decode/can/index.js';
import { openReceipt } from '../../../../chain/index.js';
import { type PermissionRig, parked, permissionRig } from '../../../support/permissions.js';
import { projectRoot } from '../../../support/system.js';

const dbc = loadDbcFile(join(projectRoot(), 'simulators', 'vehicle', 'qood-sim.dbc'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FLASH_ID = 0x2f1;

/** BODY_COMMAND frames with LockRequest 2 (the unlock request) on the wire. */
function unlockFrames(rig: PermissionRig): number {
  return rig.wire.sent.filter((f) => {
    const m = dbc.lookup(f.id, f.extended);
    return m?.message.name === 'BODY_COMMAND' && m.decode(f.data).signals.LockRequest === 2;
  }).length;
}

/** Keeps the rig's live signals fresh on the fake wall clock while real time passes. */
function drive(rig: PermissionRig, speedKmh: () => number): () => void {
  const t = setInterval(() => {
    rig.clock.nowMs += 50;
    rig.setSignal('Vehicle.Speed', speedKmh());
    rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
  }, 50);
  return () => clearInterval(t);
}

describe('control: checks at the bus, not only at arrival', () => {
  it("three flash-lights then an unlock queued, the car starts moving before the unlock's turn: zero unlock frames at the bus", async () => {
    const rig = permissionRig();
    parked(rig);
    let speed = 0;
    const stop = drive(rig, () => speed);
    const id = rig.grant('control', ['flash-lights', 'unlock']);
    const handled = [
      rig.perms.control!.handle(id, rig.command(id, 'flash-lights')),
      rig.perms.control!.handle(id, rig.command(id, 'flash-lights')),
      rig.perms.control!.handle(id, rig.command(id, 'flash-lights')),
      rig.perms.control!.handle(id, rig.command(id, 'unlock')),
    ];
    // The first flash-lights is on the bus; the car drives off at 80 km/h.
    await sleep(150);
    speed = 80;
    const results = await Promise.all(handled);
    stop();
    for (const r of results) expect(openReceipt(r.receiptBytes, rig.device.publicKey)).toEqual(r.receipt);
    const unlock = results[3]!.receipt;
    expect(unlockFrames(rig)).toBe(0);
    expect(unlock).toMatchObject({ outcome: 'refused', reason: 'INTERLOCK', framesWritten: 0 });
    expect(unlock.detail).toMatch(/Vehicle\.Speed is 80/);
    // The flash-lights queued behind the first are refused at their turn too.
    expect(results.slice(1, 3).map((r) => r.receipt.reason)).toEqual(['INTERLOCK', 'INTERLOCK']);
    expect(rig.store.audit({ limit: 1 })[0]).toMatchObject({ command: 'unlock', reason: 'INTERLOCK' });
  });

  it('the car starts moving between the frames of a sequence: the rest of it is not written', async () => {
    const rig = permissionRig();
    parked(rig);
    let speed = 0;
    const stop = drive(rig, () => speed);
    const id = rig.grant('control', ['flash-lights']);
    const pending = rig.perms.control!.handle(id, rig.command(id, 'flash-lights'));
    await sleep(100);
    speed = 30;
    const { receipt } = await pending;
    stop();
    expect(rig.wire.sent.filter((f) => f.id === FLASH_ID)).toHaveLength(1);
    expect(receipt).toMatchObject({ outcome: 'failed', reason: 'INTERLOCK', framesWritten: 1 });
    expect(receipt.detail).toMatch(/after 1 of 3 frames/);
  });

  it('a revocation between the frames of a sequence stops it there', async () => {
    const rig = permissionRig();
    parked(rig);
    const stop = drive(rig, () => 0);
    const id = rig.grant('control', ['flash-lights']);
    const pending = rig.perms.control!.handle(id, rig.command(id, 'flash-lights'));
    await sleep(100);
    rig.perms.revoke(id);
    const { receipt } = await pending;
    stop();
    expect(rig.wire.sent).toHaveLength(1);
    expect(receipt).toMatchObject({ outcome: 'failed', reason: 'REVOKED', framesWritten: 1 });
  });
});

describe('control: the queue is bounded and its commands expire', () => {
  it('a grant may have at most 4 commands queued; the next is refused QUEUE_FULL with nothing written', async () => {
    const rig = permissionRig();
    parked(rig);
    const stop = drive(rig, () => 0);
    const id = rig.grant('control', ['lock', 'flash-lights']);
    const handled = [1, 2, 3, 4].map(() => rig.perms.control!.handle(id, rig.command(id, 'flash-lights')));
    const fifth = await rig.perms.control!.handle(id, rig.command(id, 'lock'));
    expect(fifth.receipt).toMatchObject({ outcome: 'refused', reason: 'QUEUE_FULL', framesWritten: 0 });
    // Another grant still has room (the bound is per grant before it is total).
    const other = rig.grant('control', ['lock']);
    const lock = rig.perms.control!.handle(other, rig.command(other, 'lock'));
    stop();
    const all = await Promise.all([...handled, lock]);
    expect(all.map((r) => r.receipt.outcome)).toEqual([
      'executed',
      'executed',
      'executed',
      'executed',
      'executed',
    ]);
  }, 10_000);

  it('at most 16 commands are queued in total, whatever the grants', async () => {
    const rig = permissionRig();
    parked(rig);
    const ids = [0, 1, 2, 3, 4].map(() => rig.grant('control', ['lock']));
    const handled: Promise<unknown>[] = [];
    for (let i = 0; i < 16; i++) {
      const id = ids[i % 4]!;
      handled.push(rig.perms.control!.handle(id, rig.command(id, 'lock')));
    }
    const over = await rig.perms.control!.handle(ids[4]!, rig.command(ids[4]!, 'lock'));
    expect(over.receipt).toMatchObject({ outcome: 'refused', reason: 'QUEUE_FULL', framesWritten: 0 });
    expect(over.receipt.detail).toMatch(/16 commands/);
    await Promise.all(handled);
    expect(rig.wire.sent).toHaveLength(16);
  });

  it('a command that waited longer than the bound for the bus expires: QUEUE_EXPIRED, nothing written', async () => {
    const rig = permissionRig({ controlQueue: { maxWaitMs: 300 } });
    parked(rig);
    const stop = drive(rig, () => 0);
    const id = rig.grant('control', ['flash-lights', 'unlock']);
    // The flash-lights holds the bus 600 ms; the unlock behind it waits twice the bound.
    const flash = rig.perms.control!.handle(id, rig.command(id, 'flash-lights'));
    const unlock = rig.perms.control!.handle(id, rig.command(id, 'unlock'));
    const results = await Promise.all([flash, unlock]);
    stop();
    expect(results[0]!.receipt).toMatchObject({ outcome: 'executed', framesWritten: 3 });
    expect(results[1]!.receipt).toMatchObject({
      outcome: 'refused',
      reason: 'QUEUE_EXPIRED',
      framesWritten: 0,
    });
    expect(results[1]!.receipt.detail).toMatch(/waited \d+ ms for the bus; at most 300 ms/);
    expect(unlockFrames(rig)).toBe(0);
  });

  it('the defaults: 4 per grant, 16 in total, 3 s in the queue', async () => {
    const { CONTROL_QUEUE_DEFAULTS } = await import('../../../../agent/permissions/index.js');
    expect(CONTROL_QUEUE_DEFAULTS).toEqual({ maxPerGrant: 4, maxTotal: 16, maxWaitMs: 3000 });
  });
});
