/**
 * DeviceClock (issue 14, attack 6): the device's time never goes back, even across a restart with
 * a clock in the past (the floor is saved in a real SQLite permission store); the wall clock is
 * unsound when it stepped back, disagrees with GNSS time or is behind the chain's latest final
 * block; and a GNSS fix that agrees with a stepped clock makes it sound again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceClock, type ReferenceTime } from '../../../../agent/permissions/index.js';
import { SqlitePermissionStore } from '../../../../agent/store/index.js';

const T = Date.UTC(2026, 0, 1);

function clocks() {
  const c = {
    wall: T,
    mono: 5000,
    gnss: undefined as ReferenceTime | undefined,
    chain: undefined as number | undefined,
  };
  return {
    c,
    options: {
      wallMs: () => c.wall,
      monoMs: () => c.mono,
      gnssTime: () => c.gnss,
      chainTimeMs: () => c.chain,
    },
  };
}

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('DeviceClock', () => {
  it('never goes back: a step back is carried over on the monotonic clock and reported', () => {
    const { c, options } = clocks();
    const clock = new DeviceClock(options);
    c.wall += 1000;
    c.mono += 1000;
    expect(clock.nowMs()).toBe(T + 1000);
    c.wall -= 3_600_000;
    c.mono += 500;
    expect(clock.nowMs()).toBe(T + 1500);
    const s = clock.status();
    expect(s).toMatchObject({ sound: false, wallMs: T + 1000 - 3_600_000 });
    expect(s.reasons[0]).toMatch(/stepped back/);
    // Conservative validity: the device's time plus the doubt (how far the wall clock is behind it).
    expect(clock.validityNowMs()).toBe(T + 1500 + (T + 1500 - (T + 1000 - 3_600_000)));
  });

  it('a small step back within the bound stays sound and the time still does not go back', () => {
    const { c, options } = clocks();
    const clock = new DeviceClock(options);
    clock.nowMs();
    c.wall -= 2000;
    expect(clock.status()).toMatchObject({ sound: true, nowMs: T });
  });

  it('the floor survives a restart with a clock in the past (no RTC battery)', () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-devclock-'));
    const path = join(dir, 'agent.db');
    const { c, options } = clocks();
    let store = new SqlitePermissionStore({ path });
    const before = new DeviceClock({ ...options, floor: store });
    c.wall += 10_000;
    c.mono += 10_000;
    before.nowMs();
    before.save();
    store.close();
    // Reboot: the wall clock comes up at the image's build date, the monotonic clock at zero.
    c.wall = Date.UTC(2024, 5, 1);
    c.mono = 0;
    store = new SqlitePermissionStore({ path });
    const after = new DeviceClock({ ...options, floor: store });
    expect(after.nowMs()).toBe(T + 10_000);
    expect(after.status().sound).toBe(false);
    store.close();
  });

  it('GNSS time that disagrees beyond the bound makes the clock unsound; one that agrees with a stepped clock resets the floor', () => {
    const { c, options } = clocks();
    const clock = new DeviceClock(options);
    c.gnss = { utcMs: T - 20_000, atMonoMs: c.mono };
    expect(clock.status()).toMatchObject({ sound: false, gnssOffsetMs: 20_000 });
    // The wall clock is corrected back to GNSS time: a step back, confirmed by GNSS.
    c.wall = T - 20_000 + 100;
    c.mono += 100;
    expect(clock.status()).toMatchObject({ sound: true, nowMs: T - 20_000 + 100 });
    // A GNSS time older than the reference age is not a reference.
    c.mono += 11_000;
    c.wall += 11_000;
    c.gnss = { utcMs: T - 999_999, atMonoMs: c.mono - 11_000 };
    expect(clock.status()).toMatchObject({ sound: true, gnssOffsetMs: null });
  });

  it("a wall clock behind the chain's latest final block is unsound; one ahead of it is not", () => {
    const { c, options } = clocks();
    const clock = new DeviceClock(options);
    c.chain = T + 60_000;
    expect(clock.status()).toMatchObject({ sound: false, chainOffsetMs: -60_000 });
    c.chain = T - 3_600_000;
    expect(clock.status()).toMatchObject({ sound: true, chainOffsetMs: 3_600_000 });
  });
});

describe('listener session numbers in the SQLite permission store', () => {
  it('rise across a reopen even when the clock stepped back, so the grantee reader takes the new session', () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-sessions-'));
    const path = join(dir, 'agent.db');
    let store = new SqlitePermissionStore({ path });
    const a = store.nextListenSession(T);
    const b = store.nextListenSession(T);
    store.close();
    store = new SqlitePermissionStore({ path });
    const c = store.nextListenSession(T - 3_600_000);
    expect([a, b, c]).toEqual([T, T + 1, T + 2]);
    expect(store.nextListenSession(T + 60_000)).toBe(T + 60_000);
    store.close();
  });
});

describe('the nonce high-water mark in the SQLite permission store', () => {
  it('survives a reopen: a command issued before the window under the mark is refused after pruning', () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-marks-'));
    const path = join(dir, 'agent.db');
    const g = 'ab'.repeat(32);
    let store = new SqlitePermissionStore({ path });
    expect(store.recordNonce(g, 'n1', T, 60_000)).toBe(true);
    expect(store.recordNonce(g, 'n2', T + 600_000, 60_000)).toBe(true);
    expect(store.pruneNonces(60_000)).toBe(1);
    store.close();
    store = new SqlitePermissionStore({ path });
    expect(store.recordNonce(g, 'n1', T, 60_000)).toBe(false);
    expect(store.recordNonce(g, 'n2', T + 600_000, 60_000)).toBe(false);
    expect(store.recordNonce(g, 'n3', T + 590_000, 60_000)).toBe(true);
    store.close();
  });
});
