/**
 * What every `CanBus` (firmware-bridge/can/bus.ts) promises, as contract checks: frames sent by one
 * endpoint reach another in order with id, flags and data intact (11- and 29-bit, remote frames and
 * CAN FD where the medium carries them), invalid frames refused with a typed error before the bus,
 * kernel-style receive filters, listeners that unsubscribe, close() idempotent and final, error
 * frames and link changes as events. Plain Node (node:assert, no vitest), so the vcan VM's probe
 * runs the same list as the unit test of the memory bus (can-bus.contract.ts).
 */
import assert from 'node:assert/strict';
import {
  type CanBus,
  CanBusError,
  type CanBusEvent,
  type CanFrame,
  type OutgoingCanFrame,
} from '../../../firmware-bridge/index.js';
import { type ContractCheck, type ContractSubject, pause, until } from './contract.js';

/** Two endpoints on one medium, made fresh for each check. */
export interface CanBusPair extends ContractSubject {
  /** Sends in every check. */
  readonly tx: CanBus;
  /** Receives what `tx` sends (a second socket on the same interface, a second endpoint on a wire). */
  readonly rx: CanBus;
  /** The medium carries CAN FD frames (a vcan with mtu 72, an FD controller, the memory wire). */
  readonly fd: boolean;
  /** The medium carries remote (RTR) frames. */
  readonly rtr: boolean;
  /** Puts a bus-off error frame on the medium, where the harness can make one. */
  readonly raiseBusOff?: () => Promise<void>;
  /** Takes the link down or brings it back up, where the harness can. */
  readonly setLink?: (up: boolean) => Promise<void>;
  /** How long a frame may take to arrive, ms (default 2000). */
  readonly deliveryMs?: number;
}

/** One comparable line per frame: what must survive the trip. */
function frameKey(f: CanFrame): string {
  const flags = `${f.extended ? 'x' : 's'}${f.rtr ? 'r' : ''}${f.fd ? 'f' : ''}`;
  return `${f.id.toString(16)}/${flags}/${Buffer.from(f.data).toString('hex')}${f.rtr ? `/dlc${f.dlc}` : ''}`;
}

/** The key a sent frame must arrive with. */
function sentKey(f: OutgoingCanFrame): string {
  const flags = `${f.extended ? 'x' : 's'}${f.rtr ? 'r' : ''}${f.fd ? 'f' : ''}`;
  // A remote frame carries no data; the length of its zero payload is the DLC it asks for.
  return f.rtr
    ? `${f.id.toString(16)}/${flags}//dlc${f.data.length}`
    : `${f.id.toString(16)}/${flags}/${Buffer.from(f.data).toString('hex')}`;
}

/** Collects what `bus` receives. */
function record(bus: CanBus): CanFrame[] {
  const got: CanFrame[] = [];
  bus.onFrame((f) => got.push(f));
  return got;
}

/** Sends `frames` one after the other and waits until `got` has as many as expected. */
async function sendAll(
  pair: CanBusPair,
  frames: readonly OutgoingCanFrame[],
  got: readonly CanFrame[],
  expected = frames.length,
): Promise<void> {
  for (const f of frames) await pair.tx.send(f);
  await until(() => got.length >= expected, `${expected} frames on ${pair.rx.name}`, pair.deliveryMs ?? 2000);
}

/** Resolves to the CanBusError `p` rejects with; fails when it resolves or rejects with anything else. */
async function canBusError(p: Promise<unknown>): Promise<CanBusError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CanBusError, `expected a CanBusError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection with CanBusError, but it resolved');
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed + i * 7) & 0xff);

/** The checks, in the order they run. */
export const canBusChecks: readonly ContractCheck<CanBusPair>[] = [
  {
    name: 'delivers classic 11-bit frames in the order sent, with id and every data byte intact',
    async run(pair) {
      const got = record(pair.rx);
      const frames = Array.from({ length: 120 }, (_, i) => ({
        id: (i * 17) & 0x7ff,
        data: bytes(i % 9, i),
      }));
      const startUs = Date.now() * 1000;
      await sendAll(pair, frames, got);
      await pause(50); // nothing extra, nothing echoed back twice
      assert.deepEqual(got.map(frameKey), frames.map(sentKey));
      for (const f of got) {
        assert.equal(typeof f.bus, 'string');
        assert.ok(f.bus.length > 0, 'a received frame names its bus');
        // Wall time in µs since the epoch (kernel or wall clock), not ms or a monotonic count.
        assert.ok(Math.abs(f.wallUs - startUs) < 10_000_000, `wallUs ${f.wallUs} is not near ${startUs}`);
      }
      for (let i = 1; i < got.length; i++)
        assert.ok(got[i]!.monoUs >= got[i - 1]!.monoUs, 'monoUs never goes back between frames');
      assert.equal(pair.tx.stats().framesOut, frames.length);
      assert.equal(pair.rx.stats().framesIn, frames.length);
    },
  },
  {
    name: 'keeps 29-bit ids and the extended flag; an 11-bit and a 29-bit frame with the same number stay apart',
    async run(pair) {
      const got = record(pair.rx);
      const frames: OutgoingCanFrame[] = [
        { id: 0x123, data: Uint8Array.of(1) },
        { id: 0x123, extended: true, data: Uint8Array.of(2) },
        { id: 0x1fffffff, extended: true, data: bytes(8, 3) },
        { id: 0, extended: true, data: new Uint8Array(0) },
        { id: 0x18daf110, extended: true, data: Uint8Array.of(0x02, 0x01, 0x0c) },
        { id: 0x7ff, data: bytes(8, 9) },
      ];
      await sendAll(pair, frames, got);
      assert.deepEqual(got.map(frameKey), frames.map(sentKey));
    },
  },
  {
    name: 'delivers remote frames as remote, with no data and the length they ask for',
    skip: (pair) => (pair.rtr ? undefined : 'the medium carries no remote frames'),
    async run(pair) {
      const got = record(pair.rx);
      const frames: OutgoingCanFrame[] = [
        { id: 0x321, rtr: true, data: new Uint8Array(4) },
        { id: 0x1abcdef0, extended: true, rtr: true, data: new Uint8Array(8) },
        { id: 0x321, data: Uint8Array.of(9) },
      ];
      await sendAll(pair, frames, got);
      assert.deepEqual(got.map(frameKey), frames.map(sentKey));
      assert.deepEqual(
        got.map((f) => [f.rtr, f.data.length, f.dlc]),
        [
          [true, 0, 4],
          [true, 0, 8],
          [false, 1, undefined],
        ],
      );
    },
  },
  {
    // SocketCAN's addon cannot tell an FD frame of 8 bytes or less from a classic one on receive
    // (socketcan.ts), so the promise is made for the lengths only FD has.
    name: 'delivers CAN FD frames longer than 8 bytes as FD, 11- and 29-bit, every byte intact',
    skip: (pair) => (pair.fd ? undefined : 'the medium carries no CAN FD frames'),
    async run(pair) {
      const got = record(pair.rx);
      const frames: OutgoingCanFrame[] = [12, 16, 20, 24, 32, 48, 64].flatMap((n) => [
        { id: 0x100 + n, fd: true, data: bytes(n, n) },
        { id: 0x1abcde00 + n, extended: true, fd: true, brs: true, data: bytes(n, n + 1) },
      ]);
      await sendAll(pair, frames, got);
      assert.deepEqual(got.map(frameKey), frames.map(sentKey));
    },
  },
  {
    name: 'refuses invalid frames with CanBusError INVALID_FRAME before they reach the bus',
    async run(pair) {
      const got = record(pair.rx);
      const bad: OutgoingCanFrame[] = [
        { id: 0x800, data: Uint8Array.of(1) },
        { id: 0x20000000, extended: true, data: Uint8Array.of(1) },
        { id: -1, data: new Uint8Array(0) },
        { id: 0x10, data: new Uint8Array(9) },
        { id: 0x10, fd: true, data: new Uint8Array(13) },
        { id: 0x10, fd: true, rtr: true, data: new Uint8Array(0) },
      ];
      for (const f of bad) {
        const err = await canBusError(pair.tx.send(f));
        assert.equal(err.code, 'INVALID_FRAME', err.message);
        assert.equal(err.bus, pair.tx.name);
      }
      // A good frame after them arrives alone: none of the bad ones went out.
      await sendAll(pair, [{ id: 0x42, data: Uint8Array.of(0x42) }], got);
      await pause(50);
      assert.deepEqual(got.map(frameKey), ['42/s/42']);
      assert.equal(pair.tx.stats().framesOut, 1);
    },
  },
  {
    name: 'receives only what its filters pass (11-bit filters never pass 29-bit frames); no filters pass all',
    async run(pair) {
      const got = record(pair.rx);
      pair.rx.setFilters([
        { id: 0x120, mask: 0x7f0 },
        { id: 0x18daf110, mask: 0x1fffffff, extended: true },
      ]);
      const frames: OutgoingCanFrame[] = [
        { id: 0x123, data: Uint8Array.of(1) }, // passes the 11-bit filter
        { id: 0x133, data: Uint8Array.of(2) },
        { id: 0x123, extended: true, data: Uint8Array.of(3) }, // same bits, 29-bit: no
        { id: 0x18daf110, extended: true, data: Uint8Array.of(4) }, // passes the 29-bit filter
        { id: 0x18daf111, extended: true, data: Uint8Array.of(5) },
        { id: 0x12f, data: Uint8Array.of(6) }, // passes (masked)
      ];
      await sendAll(pair, frames, got, 3);
      await pause(100);
      assert.deepEqual(got.map(frameKey), ['123/s/01', '18daf110/x/04', '12f/s/06']);
      pair.rx.setFilters([]);
      await sendAll(pair, [{ id: 0x555, extended: true, data: Uint8Array.of(7) }], got, 4);
      assert.equal(frameKey(got[3]!), '555/x/07');
    },
  },
  {
    name: 'stops calling a listener once it has unsubscribed, and keeps calling the others',
    async run(pair) {
      const first: CanFrame[] = [];
      const off = pair.rx.onFrame((f) => first.push(f));
      const other = record(pair.rx);
      await sendAll(pair, [{ id: 1, data: Uint8Array.of(1) }], other);
      off();
      await sendAll(pair, [{ id: 2, data: Uint8Array.of(2) }], other, 2);
      assert.deepEqual(first.map(frameKey), ['1/s/01']);
      assert.deepEqual(other.map(frameKey), ['1/s/01', '2/s/02']);
    },
  },
  {
    name: 'close() is idempotent and stops delivery to the closed end; the other end still sends',
    async run(pair) {
      const got = record(pair.rx);
      await sendAll(pair, [{ id: 0x10, data: Uint8Array.of(1) }], got);
      await pair.rx.close();
      await pair.rx.close();
      await Promise.all([pair.rx.close(), pair.rx.close()]);
      await pair.tx.send({ id: 0x11, data: Uint8Array.of(2) });
      await pause(150);
      assert.deepEqual(got.map(frameKey), ['10/s/01']);
    },
  },
  {
    name: 'rejects a send after close() with CanBusError CLOSED',
    async run(pair) {
      await pair.tx.close();
      const err = await canBusError(pair.tx.send({ id: 0x10, data: Uint8Array.of(1) }));
      assert.equal(err.code, 'CLOSED', err.message);
      assert.equal(err.bus, pair.tx.name);
      await pair.tx.close(); // still idempotent after the failed send
    },
  },
  {
    name: 'reports an error frame as an error event with its decoded kinds, not as a data frame',
    skip: (pair) => (pair.raiseBusOff ? undefined : 'the harness cannot put an error frame on the medium'),
    async run(pair) {
      const frames = record(pair.rx);
      const events: CanBusEvent[] = [];
      pair.rx.onEvent((e) => events.push(e));
      await pair.raiseBusOff!();
      await until(() => events.length > 0, 'an error event', pair.deliveryMs ?? 2000);
      await pause(50);
      const e = events[0]!;
      assert.equal(e.type, 'error');
      assert.ok(e.type === 'error' && e.kinds.includes('bus-off'), `kinds: ${JSON.stringify(e)}`);
      assert.equal(e.bus, pair.rx.name);
      assert.equal(frames.length, 0, 'an error frame is not a data frame');
      assert.equal(pair.rx.stats().errorFrames, 1);
    },
  },
  {
    name: 'reports the link going down and up; sends are refused with BUS_DOWN meanwhile, then delivered again',
    skip: (pair) => (pair.setLink ? undefined : 'the harness cannot take the link down'),
    async run(pair) {
      const got = record(pair.rx);
      const txEvents: string[] = [];
      const rxEvents: string[] = [];
      pair.tx.onEvent((e) => txEvents.push(e.type));
      pair.rx.onEvent((e) => rxEvents.push(e.type));
      await pair.setLink!(false);
      await until(() => txEvents.includes('down') && rxEvents.includes('down'), 'down events', 5000);
      const err = await canBusError(pair.tx.send({ id: 0x10, data: Uint8Array.of(1) }));
      assert.equal(err.code, 'BUS_DOWN', err.message);
      await pair.setLink!(true);
      await until(() => txEvents.includes('up') && rxEvents.includes('up'), 'up events', 10_000);
      await sendAll(pair, [{ id: 0x11, data: Uint8Array.of(2) }], got);
      assert.deepEqual(got.map(frameKey), ['11/s/02']);
      assert.deepEqual(txEvents, ['down', 'up']);
      assert.equal(pair.tx.stats().reopens, 1);
    },
  },
];
