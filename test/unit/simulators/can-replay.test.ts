import { describe, expect, it } from 'vitest';
import { type CanFrame, CanWire } from '../../../firmware-bridge/index.js';
import { readCanLog } from '../../../simulators/can-log/index.js';
import { type ReplayClock, replay } from '../../../simulators/can-replay.js';

/** A clock that advances only when the replay sleeps. */
function fakeClock(): ReplayClock & { t: number } {
  const c = {
    t: 0,
    nowMs: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

const log = readCanLog(
  '(10.000000) can0 100#01\n(10.250000) can0 101#02\n(11.000000) can1 102#03\n(11.500000) can0 18DA10F1#04\n(12.000000) can0 7DF#R2\n',
).frames;

describe('CAN log replay', () => {
  it('sends every frame at its logged time, on another node of the bus', async () => {
    const wire = new CanWire();
    const rx: { frame: CanFrame; t: number }[] = [];
    const clock = fakeClock();
    wire.attach('listener').onFrame((frame) => rx.push({ frame, t: clock.t }));
    const r = await replay({ frames: log, bus: wire.attach('player'), clock });
    expect(r).toMatchObject({ sent: 5, failed: 0, loops: 1 });
    expect(rx.map((x) => [x.frame.id, x.t])).toEqual([
      [0x100, 0],
      [0x101, 250],
      [0x102, 1000],
      [0x18da10f1, 1500],
      [0x7df, 2000],
    ]);
    expect(rx[3]!.frame.extended).toBe(true);
    expect(rx[4]!.frame).toMatchObject({ rtr: true });
  });

  it('scales time by the speed factor, filters by logged bus, and loops', async () => {
    const wire = new CanWire();
    const clock = fakeClock();
    const ids: number[] = [];
    wire.attach('listener').onFrame((f) => ids.push(f.id));
    const r = await replay({
      frames: log,
      bus: wire.attach('player'),
      clock,
      speed: 4,
      loops: 3,
      fromBus: 'can0',
    });
    expect(r).toMatchObject({ sent: 12, loops: 3 });
    expect(ids.slice(0, 4)).toEqual([0x100, 0x101, 0x18da10f1, 0x7df]);
    // Three loops of 2 s of log at 4x speed.
    expect(clock.t).toBe(1500);
  });

  it('plays as fast as the bus takes frames at speed 0, stops when aborted, and counts failed sends', async () => {
    const wire = new CanWire();
    const clock = fakeClock();
    const abort = new AbortController();
    const player = wire.attach('player');
    let n = 0;
    const r = await replay({
      frames: log,
      bus: player,
      clock,
      speed: 0,
      loops: 0,
      signal: abort.signal,
      onFrame: () => {
        if (++n === 7) abort.abort();
      },
    });
    expect(r.sent).toBe(7);
    expect(clock.t).toBe(0);
    await player.close();
    const r2 = await replay({ frames: log, bus: player, clock, speed: 0 });
    expect(r2).toMatchObject({ sent: 0, failed: 5 });
  });
});
