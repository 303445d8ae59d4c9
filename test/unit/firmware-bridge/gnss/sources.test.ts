/**
 * The two GNSS sources over in-memory links: the gpsd client speaking gpsd's JSON protocol (WATCH,
 * VERSION, DEVICES, SKY, TPV, garbage) and the serial NMEA source, both through a peer that goes
 * away and comes back. The same paths run over a real pty and a real gpsd in test/system/gnss.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GnssFix,
  type GnssSource,
  type GnssSourceEvent,
  MemorySerialPair,
  openGpsdClient,
  openNmeaSerial,
  type SerialLink,
} from '../../../../firmware-bridge/index.js';
import { epochSentences } from '../../../../simulators/nmea/nmea-writer.js';
import { IDLE_VEHICLE } from '../../../../simulators/vehicle/state.js';
import { waitUntil } from '../../../support/cli.js';

/** A peer factory: each open makes a new pair and hands the far end to the test. */
function peers() {
  const far: SerialLink[] = [];
  const received: string[] = [];
  let refuse = false;
  return {
    far,
    /** What each far end received, from its first byte. */
    received,
    refuse(v: boolean) {
      refuse = v;
    },
    open: async (): Promise<SerialLink> => {
      if (refuse) throw new Error('ECONNREFUSED');
      const p = new MemorySerialPair('near', 'far');
      const i = far.push(p.b) - 1;
      received[i] = '';
      p.b.onData((c) => {
        received[i] += Buffer.from(c).toString('latin1');
      });
      return p.a;
    },
  };
}

// Bound on each wait for something the in-memory peer or a 10-20 ms retry makes happen at once: it
// only ends a hung test, and a loaded two-core machine can stall a test process for a second or more.
const WAIT_MS = 10_000;

let open: GnssSource[] = [];
afterEach(async () => {
  for (const s of open) await s.close();
  open = [];
});

describe('gpsd client', () => {
  it('watches, merges SKY into TPV fixes, reports VERSION/DEVICES, survives bad JSON, reconnects', async () => {
    const p = peers();
    const src = await openGpsdClient({
      host: 'gpsd',
      port: 2947,
      connect: p.open,
      retryMinMs: 10,
      retryMaxMs: 20,
    });
    open.push(src);
    const fixes: GnssFix[] = [];
    const events: GnssSourceEvent[] = [];
    src.onFix((f) => fixes.push(f));
    src.onEvent((e) => events.push(e));
    await waitUntil(() => p.received[0]!.includes('\n'), WAIT_MS, 'WATCH');
    expect(p.received[0]).toBe('?WATCH={"enable":true,"json":true}\n');

    const lines = [
      '{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}',
      '{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/pts/3"}]}',
      '{"class":"SKY","device":"/dev/pts/3","hdop":1.1,"vdop":1.6,"pdop":1.9,"satellites":[{"PRN":17,"used":true},{"PRN":28,"used":true},{"PRN":2,"used":false}]}',
      'not json at all',
      '{"class":"TPV","device":"/dev/pts/3","mode":3,"status":2,"time":"2034-08-16T03:07:33.000Z","lat":-37.784793333,"lon":175.314901667,"altMSL":60.0,"alt":60.0,"speed":0.5,"track":181.39,"eph":20.9,"epv":36.8}',
      '{"class":"TPV","device":"/dev/pts/3","mode":0}',
      '{"class":"TPV","device":"/dev/pts/3","mode":1,"time":"2034-08-16T03:07:34.000Z"}',
    ].join('\n');
    // Split mid-line, as TCP may.
    await p.far[0]!.write(lines.slice(0, 300));
    await p.far[0]!.write(`${lines.slice(300)}\n`);
    await waitUntil(() => fixes.length === 2, WAIT_MS, 'two fixes');
    expect(fixes[0]).toMatchObject({
      source: 'gpsd',
      mode: 3,
      quality: 'dgps',
      latDeg: -37.784793333,
      lonDeg: 175.314901667,
      altM: 60,
      courseDeg: 181.39,
      horizontalErrorM: 20.9,
      verticalErrorM: 36.8,
      satsUsed: 2,
      satsInView: 3,
      hdop: 1.1,
      timeMs: Date.parse('2034-08-16T03:07:33.000Z'),
    });
    expect(fixes[0]!.speedKmh).toBeCloseTo(1.8, 9);
    expect(fixes[1]).toMatchObject({ mode: 1 });
    expect(fixes[1]!.latDeg).toBeUndefined();
    expect(events.filter((e) => e.type === 'info').map((e) => (e as { message: string }).message)).toEqual([
      'gpsd 3.22 protocol 3.14',
      'devices: /dev/pts/3',
    ]);
    expect(src.stats()).toMatchObject({ fixes: 2, badInput: 1 });

    // gpsd goes away, refuses a while, then comes back: the client reconnects and watches again.
    p.refuse(true);
    await p.far[0]!.close();
    await waitUntil(() => events.some((e) => e.type === 'retry-failed'), WAIT_MS, 'a failed retry');
    p.refuse(false);
    await waitUntil(() => p.far.length === 2, WAIT_MS, 'reconnect');
    await waitUntil(() => p.received[1]!.startsWith('?WATCH='), WAIT_MS, 'WATCH after reconnect');
    await p.far[1]!.write('{"class":"TPV","mode":2,"lat":1.5,"lon":2.5}\n');
    await waitUntil(() => fixes.length === 3, WAIT_MS, 'a fix after reconnect');
    expect(fixes[2]).toMatchObject({ mode: 2, latDeg: 1.5, lonDeg: 2.5 });
    expect(src.stats()).toMatchObject({ disconnects: 1, reopens: 1 });
  });

  it('rejects when gpsd is not there, unless asked to keep trying', async () => {
    const p = peers();
    p.refuse(true);
    await expect(openGpsdClient({ host: 'gpsd', port: 2947, connect: p.open })).rejects.toThrow(
      'gpsd:2947: ECONNREFUSED',
    );
    const src = await openGpsdClient({
      host: 'gpsd',
      port: 2947,
      connect: p.open,
      retryFirstOpen: true,
      retryMinMs: 10,
    });
    open.push(src);
    p.refuse(false);
    await waitUntil(() => p.far.length === 1, WAIT_MS, 'the background connect');
  });
});

describe('serial NMEA source', () => {
  it('decodes what the receiver sends and reopens the port after it disappears', async () => {
    const p = peers();
    const src = await openNmeaSerial({
      path: '/dev/ttyACM0',
      baudRate: 9600,
      openSerial: p.open,
      retryMinMs: 10,
      epochIdleMs: 50,
    });
    open.push(src);
    const fixes: GnssFix[] = [];
    const events: GnssSourceEvent[] = [];
    src.onFix((f) => fixes.push(f));
    src.onEvent((e) => events.push(e));
    const t0 = Date.UTC(2026, 0, 2, 3, 4, 5);
    for (let i = 0; i < 3; i++) await p.far[0]!.write(epochSentences(IDLE_VEHICLE, t0 + i * 1000).join(''));
    await waitUntil(() => fixes.length === 3, WAIT_MS, 'three fixes');
    expect(fixes.map((f) => f.timeMs)).toEqual([t0, t0 + 1000, t0 + 2000]);
    expect(fixes[2]).toMatchObject({ mode: 3, altM: 408, satsUsed: 8 });
    expect(fixes[2]!.latDeg).toBeCloseTo(IDLE_VEHICLE.latDeg, 7);

    await p.far[0]!.write('$GPGGA,0307'); // cut off by the unplug
    await new Promise((r) => setTimeout(r, 20));
    await p.far[0]!.close();
    await waitUntil(() => p.far.length === 2, WAIT_MS, 'reopen');
    expect(events.find((e) => e.type === 'down')).toMatchObject({ reason: 'device disconnected' });
    await p.far[1]!.write(epochSentences(IDLE_VEHICLE, t0 + 10_000).join(''));
    await waitUntil(() => fixes.length === 4, WAIT_MS, 'a fix after reopening (closed by the idle timer)');
    expect(fixes[3]!.timeMs).toBe(t0 + 10_000);
    expect(src.stats()).toMatchObject({ disconnects: 1, reopens: 1, badInput: 0 });
  });
});
