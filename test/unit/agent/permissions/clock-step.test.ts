/**
 * Issue 14, attack 6: the wall clock decided freshness, nonces and validity. Each test steps the
 * rig's fake wall clock (an NTP or GNSS step, a device without an RTC battery) while its monotonic
 * clock runs on, and checks what reaches the bus: live signals age on the monotonic clock from
 * when they were received, the nonce window hangs on each grant's high-water mark kept in the store
 * (a real SQLite file), the device's time never goes back, and control stops while the wall clock
 * disagrees with GNSS time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GNSS_TIME_PATH } from '../../../../agent/permissions/index.js';
import { SqlitePermissionStore } from '../../../../agent/store/index.js';
import type { Uplink } from '../../../../agent/sync/index.js';
import { ListenerReader, type Receipt } from '../../../../chain/index.js';
import { type PermissionRig, parked, permissionRig } from '../../../support/permissions.js';

const HOUR = 3_600_000;

async function send(rig: PermissionRig, id: string, bytes: Uint8Array): Promise<Receipt> {
  return (await rig.perms.control!.handle(id, bytes)).receipt;
}

/** A GNSS fix's time as the agent's GNSS source gives it, received now. */
function gnssFix(rig: PermissionRig, utcMs: number): void {
  rig.setSignal(GNSS_TIME_PATH, new Date(utcMs).toISOString());
}

/** The wall clock steps back (it was an hour fast) and a GNSS fix confirms the new time. */
function stepBackConfirmed(rig: PermissionRig, ms: number): void {
  rig.clock.stepWall(-ms);
  gnssFix(rig, rig.clock.nowMs);
}

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A control grant from two hours before to three hours after now. */
const wide = (rig: PermissionRig, scope: string[]) =>
  rig.grant('control', scope, {}, { fromMs: rig.clock.nowMs - 2 * HOUR, toMs: rig.clock.nowMs + 3 * HOUR });

describe('attack 6: live signals age on the monotonic clock', () => {
  it('after the clock steps back an hour, a Speed=0 sample stamped in the future does not pass an interlock once real samples stop', async () => {
    const rig = permissionRig();
    const id = wide(rig, ['unlock']);
    parked(rig); // stamped by a wall clock an hour fast
    stepBackConfirmed(rig, HOUR);
    // The speed signal goes quiet: 2.5 s pass, more than maxSignalAgeMs (2 s).
    rig.clock.nowMs += 2500;
    gnssFix(rig, rig.clock.nowMs);
    const r = await send(rig, id, rig.command(id, 'unlock'));
    expect(r).toMatchObject({ outcome: 'refused', reason: 'INTERLOCK', framesWritten: 0 });
    expect(r.detail).toMatch(/no value in the last 2000 ms/);
    expect(rig.wire.sent).toHaveLength(0);
  });

  it('after the clock steps back an hour, later real samples are not ignored', async () => {
    const rig = permissionRig();
    const id = wide(rig, ['unlock']);
    parked(rig); // Speed=0 stamped by a wall clock an hour fast
    stepBackConfirmed(rig, HOUR);
    rig.clock.nowMs += 500;
    rig.setSignal('Vehicle.Speed', 80); // the car drives; its samples carry the corrected time
    rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
    const r = await send(rig, id, rig.command(id, 'unlock'));
    expect(r).toMatchObject({ outcome: 'refused', reason: 'INTERLOCK', framesWritten: 0 });
    expect(r.detail).toMatch(/Vehicle\.Speed is 80/);
    expect(rig.wire.sent).toHaveLength(0);
  });
});

describe('attack 6: the nonce window and grant validity do not follow the wall clock back', () => {
  it('a captured command does not replay after the clock steps back (its nonce was kept until the grant ends)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-clock-'));
    const rig = permissionRig({ store: new SqlitePermissionStore({ path: join(dir, 'agent.db') }) });
    const id = wide(rig, ['lock', 'unlock']);
    parked(rig);
    const captured = rig.command(id, 'unlock');
    expect(await send(rig, id, captured)).toMatchObject({ outcome: 'executed' });
    // Ten minutes later any message arrives (the old window was pruned on it by the wall clock).
    rig.clock.nowMs += 10 * 60_000;
    parked(rig);
    expect(await send(rig, id, rig.command(id, 'lock'))).toMatchObject({ outcome: 'executed' });
    const sent = rig.wire.sent.length;
    // The clock steps back to just after the capture, and GNSS agrees with the new time.
    stepBackConfirmed(rig, 10 * 60_000 - 5000);
    parked(rig);
    const r = await send(rig, id, captured);
    expect(r).toMatchObject({ outcome: 'refused', reason: 'REPLAYED', framesWritten: 0 });
    expect(rig.wire.sent).toHaveLength(sent);
    rig.store.close();
  });

  it('an expired grant does not come back when the clock steps back', async () => {
    const rig = permissionRig();
    const id = rig.grant('control', ['unlock'], {}, { toMs: rig.clock.nowMs + HOUR });
    rig.clock.nowMs += HOUR + 1000;
    parked(rig);
    expect(await send(rig, id, rig.command(id, 'unlock'))).toMatchObject({ reason: 'EXPIRED' });
    rig.clock.stepWall(-HOUR);
    parked(rig);
    const r = await send(rig, id, rig.command(id, 'unlock'));
    expect(r).toMatchObject({ outcome: 'refused', reason: 'EXPIRED', framesWritten: 0 });
    expect(rig.wire.sent).toHaveLength(0);
    expect(rig.perms.describe(rig.perms.registry.get(id)!).state).toBe('expired');
  });

  it('a clock stepped back without any other reference refuses control (CLOCK_UNSOUND)', async () => {
    const rig = permissionRig();
    const id = wide(rig, ['unlock']);
    rig.clock.nowMs += 60_000;
    rig.clock.stepWall(-30 * 60_000);
    parked(rig);
    const r = await send(rig, id, rig.command(id, 'unlock'));
    expect(r).toMatchObject({ outcome: 'refused', reason: 'CLOCK_UNSOUND', framesWritten: 0 });
    expect(r.detail).toMatch(/stepped back/);
    expect(rig.wire.sent).toHaveLength(0);
  });
});

describe('attack 6: control stops while the wall clock is unsound', () => {
  it('control is refused while the system clock disagrees with GNSS time by more than the bound', async () => {
    const rig = permissionRig();
    const id = wide(rig, ['unlock']);
    parked(rig);
    gnssFix(rig, rig.clock.nowMs - 60_000); // the receiver says the wall clock is a minute fast
    const r = await send(rig, id, rig.command(id, 'unlock'));
    expect(r).toMatchObject({ outcome: 'refused', reason: 'CLOCK_UNSOUND', framesWritten: 0 });
    expect(r.detail).toMatch(/60000 ms off the GNSS time/);
    expect(rig.wire.sent).toHaveLength(0);
    const status = (await rig.perms.localMethods()['permissions.clock']!({})) as Record<string, unknown>;
    expect(status).toMatchObject({ sound: false, gnssOffsetMs: 60_000 });
    // Within the bound again: control works.
    rig.clock.nowMs += 1000;
    gnssFix(rig, rig.clock.nowMs - 1000);
    parked(rig);
    expect(await send(rig, id, rig.command(id, 'unlock'))).toMatchObject({ outcome: 'executed' });
  });

  it('listening goes on while the clock is unsound, and a grant ending within the doubt has ended', () => {
    const rig = permissionRig();
    const long = rig.grant('listen', ['Vehicle.Speed'], {}, { toMs: rig.clock.nowMs + 3 * HOUR });
    const short = rig.grant('listen', ['Vehicle.Speed'], {}, { toMs: rig.clock.nowMs + 30_000 });
    parked(rig);
    gnssFix(rig, rig.clock.nowMs - 60_000);
    rig.perms.hub.tick();
    const states = rig.perms.registry.list().map((g) => [g.id, rig.perms.describe(g).state]);
    expect(Object.fromEntries(states)).toEqual({ [long]: 'active', [short]: 'expired' });
    expect(rig.perms.hub.activeStreams).toBe(1);
  });
});

describe('attack 6: listening after a clock step', () => {
  it('a listen stream goes on after the clock steps back: new samples with older stamps are pushed', () => {
    const sent: Uint8Array[] = [];
    const uplink = {
      connected: true,
      publish: async (_: string, bytes: Uint8Array) => {
        sent.push(bytes);
      },
      subscribe: async () => {},
      onMessage: () => () => {},
      onConnect: () => () => {},
      onDisconnect: () => () => {},
      close: async () => {},
    } as unknown as Uplink;
    const rig = permissionRig({ uplink });
    rig.grant(
      'listen',
      ['Vehicle.Speed'],
      { rateHz: 1 },
      { fromMs: rig.clock.nowMs - 2 * HOUR, toMs: rig.clock.nowMs + 3 * HOUR },
    );
    rig.setSignal('Vehicle.Speed', 10);
    expect(rig.perms.hub.tick()).toBe(1);
    stepBackConfirmed(rig, HOUR);
    rig.clock.nowMs += 1000;
    rig.setSignal('Vehicle.Speed', 20);
    expect(rig.perms.hub.tick()).toBe(1);
    const reader = new ListenerReader(rig.grantee.secretKey, rig.device.publicKey);
    expect(sent.map((b) => reader.open(b).values[0]![1])).toEqual([10, 20]);
  });
});
