/**
 * What every `Uplink` (agent/sync/uplink.ts) promises, as contract checks, and `uplinkContract` to
 * run them under vitest against a broker rig: the memory broker, mqtt.js to aedes in process, mqtt.js
 * to a real mosquitto. QoS 1 delivery with the payload intact and in order; `+` and `#` filters
 * (MQTT 3.1.1 section 4.7); connection loss and return reported, and the link reconnecting by
 * itself; subscriptions after a reconnect (kept by a persistent session when the broker says so,
 * else renewed by the caller, as `followTopic` does); publish and subscribe refused with a typed
 * error while disconnected, not queued; a publish in flight when the link fails settles; close()
 * idempotent and final.
 */
import assert from 'node:assert/strict';
import { followTopic, SyncError, type Uplink } from '../../../agent/sync/index.js';
import { type ContractCheck, type ContractSubject, pause, until } from './contract.js';
import { type ContractRunOptions, describeContract } from './describe-contract.js';

/** A broker and a network a check can break, made fresh for each check. */
export interface UplinkRig extends ContractSubject {
  /** Opens a client whose connection `setNetwork` and `stall` act on; the rig closes it on dispose. */
  connect(clientId: string): Uplink;
  /** Opens a client on a path the rig never breaks, where it has one. */
  readonly connectSteady?: (clientId: string) => Uplink;
  /** Down: the clients from `connect` lose their connection and cannot get one; up: they can again. */
  setNetwork(up: boolean): Promise<void>;
  /** Stops carrying bytes on the open connections without closing them, where the rig can. */
  readonly stall?: () => void;
  /** The broker keeps a client's session (subscriptions, queued QoS 1 messages) across reconnects. */
  readonly keepsSessions: boolean;
  /** How long a message or a reconnect may take, ms (default 5000). */
  readonly settleMs?: number;
}

const settle = (rig: UplinkRig) => rig.settleMs ?? 5000;

/** Waits until `link` is connected. */
async function connected(rig: UplinkRig, link: Uplink, what = 'the connection'): Promise<void> {
  await until(() => link.connected, what, settle(rig));
}

/** Opens a client and waits for its connection. */
async function open(rig: UplinkRig, clientId: string): Promise<Uplink> {
  const link = rig.connect(clientId);
  await connected(rig, link, `${clientId} to connect`);
  return link;
}

interface Received {
  readonly topic: string;
  readonly hex: string;
}

/** Collects every message `link` receives. */
function inbox(link: Uplink): Received[] {
  const got: Received[] = [];
  link.onMessage((topic, payload) => got.push({ topic, hex: Buffer.from(payload).toString('hex') }));
  return got;
}

/** Resolves to the SyncError `p` rejects with; fails when it resolves or rejects with anything else. */
async function syncError(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection with SyncError, but it resolved');
}

/** Settles `p` within `ms`: 'resolved', 'rejected' or 'pending'. */
async function outcome(p: Promise<unknown>, ms: number): Promise<'resolved' | 'rejected' | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((r) => {
    timer = setTimeout(() => r('pending'), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => 'resolved' as const,
        () => 'rejected' as const,
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** What `heard` publishes, in hex; never a payload a check asserts on. */
const MARKER = 'ee';

/**
 * Publishes a marker on `topic` every 50 ms until `seen()`: a subscription made asynchronously
 * (followTopic's, after a connect) is in place once one marker gets through.
 */
async function heard(rig: UplinkRig, pub: Uplink, topic: string, seen: () => boolean): Promise<void> {
  const deadline = Date.now() + settle(rig);
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`no marker on ${topic} got through`);
    await pub.publish(topic, Buffer.from(MARKER, 'hex'));
    await until(seen, 'a marker', 50).catch(() => {});
  }
}

/** The checks, in the order they run. */
export const uplinkChecks: readonly ContractCheck<UplinkRig>[] = [
  {
    name: 'delivers a QoS 1 publish to a subscriber with every payload byte intact; publish resolves on PUBACK',
    async run(rig) {
      const [pub, sub] = [await open(rig, 'pub'), await open(rig, 'sub')];
      const got = inbox(sub);
      await sub.subscribe('qood/test/car-1/up/chunk');
      const payloads = [
        Uint8Array.from({ length: 256 }, (_, i) => i), // every byte value, 0x00 and 0xff included
        Uint8Array.from({ length: 200_000 }, (_, i) => (i * 31) & 0xff), // a chunk-sized message
        Uint8Array.of(0),
      ];
      for (const p of payloads) await pub.publish('qood/test/car-1/up/chunk', p);
      await until(() => got.length === payloads.length, 'three messages', settle(rig));
      assert.deepEqual(
        got.map((m) => m.topic),
        payloads.map(() => 'qood/test/car-1/up/chunk'),
      );
      assert.deepEqual(
        got.map((m) => m.hex),
        payloads.map(hex),
      );
    },
  },
  {
    name: 'delivers the messages of one publisher on one topic in the order published',
    async run(rig) {
      const [pub, sub] = [await open(rig, 'pub'), await open(rig, 'sub')];
      const got = inbox(sub);
      await sub.subscribe('qood/test/order');
      const n = 100;
      // Published without waiting for each PUBACK, as the sync does with its window.
      await Promise.all(
        Array.from({ length: n }, (_, i) => pub.publish('qood/test/order', Uint8Array.of(i))),
      );
      await until(() => got.length === n, `${n} messages`, settle(rig));
      assert.deepEqual(
        got.map((m) => Number.parseInt(m.hex, 16)),
        Array.from({ length: n }, (_, i) => i),
      );
    },
  },
  {
    name: 'matches + to exactly one level and # to any levels below and the parent itself (MQTT 4.7.1)',
    async run(rig) {
      const [pub, sub] = [await open(rig, 'pub'), await open(rig, 'sub')];
      const got = inbox(sub);
      await sub.subscribe('qood/+/up/chunk');
      await sub.subscribe('qood/chain/#');
      const topics: [string, boolean][] = [
        ['qood/car-1/up/chunk', true],
        ['qood/car-1/extra/up/chunk', false],
        ['qood/up/chunk', false],
        ['qood/car-1/up/chunkier', false],
        ['qood/chain', true],
        ['qood/chain/finality', true],
        ['qood/chain/a/b/c', true],
        ['qood/chainx/finality', false],
        ['other/car-1/up/chunk', false],
      ];
      for (const [t] of topics) await pub.publish(t, Buffer.from(t));
      // A last message on a matching topic: once it is in, everything before it has been routed.
      await pub.publish('qood/chain/end', Uint8Array.of(1));
      await until(() => got.some((m) => m.topic === 'qood/chain/end'), 'the last message', settle(rig));
      assert.deepEqual(
        got.map((m) => m.topic).filter((t) => t !== 'qood/chain/end'),
        topics.filter(([, match]) => match).map(([t]) => t),
      );
    },
  },
  {
    name: 'gives every listener each message of its subscriptions only; an unsubscribed listener gets no more',
    async run(rig) {
      const [pub, sub] = [await open(rig, 'pub'), await open(rig, 'sub')];
      const first = inbox(sub);
      const second: string[] = [];
      const off = sub.onMessage((t) => second.push(t));
      await sub.subscribe('qood/test/mine');
      await pub.publish('qood/test/other', Uint8Array.of(1));
      await pub.publish('qood/test/mine', Uint8Array.of(2));
      await until(() => first.length === 1 && second.length === 1, 'one message each', settle(rig));
      off();
      await pub.publish('qood/test/mine', Uint8Array.of(3));
      await until(() => first.length === 2, 'the second message', settle(rig));
      await pause(50);
      assert.deepEqual(
        first.map((m) => [m.topic, m.hex]),
        [
          ['qood/test/mine', '02'],
          ['qood/test/mine', '03'],
        ],
      );
      assert.deepEqual(second, ['qood/test/mine']);
    },
  },
  {
    name: 'reports the connection lost and regained, reconnecting by itself',
    async run(rig) {
      const link = await open(rig, 'car');
      const events: string[] = [];
      link.onDisconnect(({ reason }) => {
        assert.equal(typeof reason, 'string');
        events.push('disconnect');
      });
      link.onConnect(() => events.push('connect'));
      await rig.setNetwork(false);
      await until(() => !link.connected && events.includes('disconnect'), 'the loss', settle(rig));
      await rig.setNetwork(true);
      await connected(rig, link, 'the reconnect');
      await until(() => events.includes('connect'), 'the connect event', settle(rig));
      assert.deepEqual(events, ['disconnect', 'connect']);
    },
  },
  {
    name: 'refuses publish and subscribe while disconnected with SyncError NOT_CONNECTED, and queues nothing',
    async run(rig) {
      const [pub, sub] = [await open(rig, 'pub'), await open(rig, 'sub')];
      const got = inbox(sub);
      await sub.subscribe('qood/test/offline');
      await rig.setNetwork(false);
      await until(() => !pub.connected, 'the loss', settle(rig));
      const err = await syncError(pub.publish('qood/test/offline', Uint8Array.of(1)));
      assert.equal(err.code, 'NOT_CONNECTED', err.message);
      const subErr = await syncError(pub.subscribe('qood/test/anything'));
      assert.equal(subErr.code, 'NOT_CONNECTED', subErr.message);
      await rig.setNetwork(true);
      await connected(rig, pub, 'the publisher again');
      await connected(rig, sub, 'the subscriber again');
      await sub.subscribe('qood/test/offline'); // again: a broker without sessions forgot it
      await pub.publish('qood/test/offline', Uint8Array.of(2));
      await until(() => got.length >= 1, 'the message sent after the reconnect', settle(rig));
      await pause(200);
      // The refused message never went out later: only the one published after the reconnect arrived.
      assert.deepEqual(
        got.map((m) => m.hex),
        ['02'],
      );
    },
  },
  {
    name: 'after a reconnect, a followed topic is delivered again; a plain subscription survives only in a kept session',
    async run(rig) {
      const [pub, sub] = [await open(rig, 'pub'), await open(rig, 'sub')];
      const followed: string[] = [];
      const plain: string[] = [];
      sub.onMessage((t, p) => {
        if (t === 'qood/test/plain') plain.push(hex(p));
      });
      followTopic(
        sub,
        'qood/test/followed',
        (p) => followed.push(hex(p)),
        (err) => assert.fail(err),
      );
      await sub.subscribe('qood/test/plain');
      await heard(rig, pub, 'qood/test/followed', () => followed.length > 0);
      const sessions: boolean[] = [];
      sub.onConnect(({ sessionPresent }) => sessions.push(sessionPresent));
      await rig.setNetwork(false);
      await until(() => !sub.connected, 'the loss', settle(rig));
      await rig.setNetwork(true);
      await connected(rig, sub, 'the subscriber again');
      await connected(rig, pub, 'the publisher again');
      // followTopic subscribes again after the connect; once a marker gets through, it has.
      followed.length = 0;
      await heard(rig, pub, 'qood/test/followed', () => followed.length > 0);
      assert.deepEqual(
        sessions,
        [rig.keepsSessions],
        'sessionPresent says whether the broker kept the session',
      );
      await pub.publish('qood/test/followed', Uint8Array.of(1));
      await pub.publish('qood/test/plain', Uint8Array.of(2));
      await pub.publish('qood/test/followed', Uint8Array.of(3));
      const real = () => followed.filter((x) => x !== MARKER);
      await until(() => real().length === 2, 'the followed topic', settle(rig));
      await pause(100);
      assert.deepEqual(real(), ['01', '03']);
      assert.deepEqual(plain, rig.keepsSessions ? ['02'] : []);
    },
  },
  {
    name: 'with a kept session, QoS 1 messages published while the subscriber was away reach it on its return',
    skip: (rig) =>
      !rig.keepsSessions
        ? 'the broker keeps no sessions'
        : rig.connectSteady === undefined
          ? 'the rig has no publisher that stays connected'
          : undefined,
    async run(rig) {
      const pub = rig.connectSteady!('steady-pub');
      await connected(rig, pub, 'the steady publisher');
      const sub = await open(rig, 'sub');
      const got = inbox(sub);
      await sub.subscribe('qood/test/car-1/down/ack');
      await rig.setNetwork(false);
      await until(() => !sub.connected, 'the loss', settle(rig));
      for (let i = 0; i < 5; i++) await pub.publish('qood/test/car-1/down/ack', Uint8Array.of(i));
      await rig.setNetwork(true);
      await until(() => got.length === 5, 'the five acks', settle(rig));
      assert.deepEqual(
        got.map((m) => m.hex),
        ['00', '01', '02', '03', '04'],
      );
    },
  },
  {
    name: 'settles a publish that is in flight when the link fails before its PUBACK: it rejects with SyncError',
    skip: (rig) => (rig.stall ? undefined : 'the rig cannot hold a publish in flight'),
    async run(rig) {
      const pub = await open(rig, 'pub');
      rig.stall!();
      const inFlight = pub.publish('qood/test/lost', Uint8Array.of(1));
      inFlight.catch(() => {}); // observed below; never an unhandled rejection
      assert.equal(await outcome(inFlight, 200), 'pending', 'no PUBACK can come through a stalled link');
      await rig.setNetwork(false);
      assert.equal(
        await outcome(inFlight, settle(rig)),
        'rejected',
        'a publish whose link failed before its PUBACK must reject (Uplink.publish), not wait forever',
      );
      await syncError(inFlight);
    },
  },
  {
    name: 'settles a publish that is in flight when close() is called: it rejects with SyncError',
    skip: (rig) => (rig.stall ? undefined : 'the rig cannot hold a publish in flight'),
    async run(rig) {
      const pub = await open(rig, 'pub');
      rig.stall!();
      const inFlight = pub.publish('qood/test/lost', Uint8Array.of(1));
      inFlight.catch(() => {});
      assert.equal(await outcome(inFlight, 200), 'pending', 'no PUBACK can come through a stalled link');
      await pub.close();
      assert.equal(await outcome(inFlight, settle(rig)), 'rejected');
      await syncError(inFlight);
    },
  },
  {
    name: 'close() is idempotent and final: no reconnect, no messages, publish refused with SyncError',
    async run(rig) {
      const [pub, sub] = [await open(rig, 'pub'), await open(rig, 'sub')];
      const got = inbox(sub);
      await sub.subscribe('qood/test/closed');
      let connects = 0;
      sub.onConnect(() => connects++);
      await sub.close();
      await sub.close();
      await Promise.all([sub.close(), sub.close()]);
      assert.equal(sub.connected, false);
      await pub.publish('qood/test/closed', Uint8Array.of(1));
      // A network that drops and comes back does not bring a closed link back.
      await rig.setNetwork(false);
      await rig.setNetwork(true);
      await pause(500);
      assert.equal(sub.connected, false);
      assert.equal(connects, 0);
      assert.deepEqual(got, []);
      const err = await syncError(sub.publish('qood/test/closed', Uint8Array.of(2)));
      assert.ok(['CLOSED', 'NOT_CONNECTED'].includes(err.code), err.message);
    },
  },
];

/** Runs every `Uplink` check against rigs from `makeRig`, a fresh rig per check. */
export function uplinkContract(
  name: string,
  makeRig: () => Promise<UplinkRig>,
  options?: ContractRunOptions,
): void {
  describeContract(`Uplink contract: ${name}`, uplinkChecks, makeRig, options);
}
