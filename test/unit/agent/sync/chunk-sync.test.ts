/** The sync's logic over the memory broker and the memory store: window, acks, resends, garbage. */
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryChunkStore } from '../../../../agent/store/index.js';
import { backoffDelayMs, ChunkSync, MemoryBroker, topicMatches } from '../../../../agent/sync/index.js';
import { decodeChunkEnvelope, Ed25519Signer, encodeAck as encodeSignedAck } from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { makeRecord, TEST_NODE_KEY, testSyncKeys } from '../../../support/chunks.js';

const tick = () => new Promise((r) => setImmediate(r));
const ACKS = 'qood/v1/car-1/down/ack';
const UP = 'qood/v1/car-1/up/chunk';
const NODE = new Ed25519Signer(TEST_NODE_KEY);
/** An ack of car-1's ids as the storage node signs it. */
const encodeAck = (ids: string[], vehicleId = 'car-1') => encodeSignedAck(vehicleId, ids, NODE);

function setup(options: { maxInFlight?: number; ackTimeoutMs?: number } = {}) {
  const broker = new MemoryBroker();
  const store = new MemoryChunkStore();
  const metrics = new Metrics();
  let now = 0;
  const uplink = broker.connect('car-1');
  const sync = new ChunkSync({
    store,
    uplink,
    vehicleId: 'car-1',
    ...testSyncKeys(),
    metrics,
    logger: silentLogger,
    maxInFlight: options.maxInFlight ?? 4,
    ackTimeoutMs: options.ackTimeoutMs ?? 60_000,
    nowMs: () => now,
  });
  onTestFinished(() => sync.stop()); // its ack-timeout interval must not outlive the test
  // A peer that records what the device sends.
  const node = broker.connect('node');
  const seen: { stream: string; seq: number; id: string; prev: number | undefined }[] = [];
  node.onMessage((_t, p) => {
    const e = decodeChunkEnvelope(p);
    if (e.ok) seen.push({ stream: e.value.stream, seq: e.value.seq, id: e.value.id, prev: e.value.prev });
  });
  return {
    broker,
    store,
    metrics,
    sync,
    node,
    seen,
    advance: (ms: number) => {
      now += ms;
    },
    async ready() {
      await tick();
      await node.subscribe(UP);
    },
  };
}

describe('ChunkSync', () => {
  it('publishes in per-stream order with at most maxInFlight awaiting acks, and deletes only on ack', async () => {
    const t = setup({ maxInFlight: 4 });
    await t.ready();
    for (const s of ['b', 'a']) for (let q = 0; q < 5; q++) t.store.put(makeRecord(s, q));
    t.sync.start();
    await tick();
    expect(t.seen.map((x) => `${x.stream}${x.seq}`)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(t.sync.inFlight).toBe(4);
    expect(t.store.usage().chunks).toBe(10); // a PUBACK deletes nothing
    t.broker.inject(ACKS, encodeAck([t.seen[0]!.id, t.seen[1]!.id]));
    await tick();
    expect(t.store.usage().chunks).toBe(8);
    expect(t.seen.map((x) => `${x.stream}${x.seq}`).slice(4)).toEqual(['a4', 'b0']);
    // Each envelope names the previous unacked chunk of its stream; the first of a stream none.
    expect(t.seen.map((x) => x.prev)).toEqual([undefined, 0, 1, 2, 3, undefined]);
    expect(t.metrics.counter('chunks.synced')).toBe(2);
    expect(t.metrics.counter('bytes.synced')).toBe(128);
    expect(t.metrics.gauge('sync.inflight')).toBe(4);
  });

  it('sends chunks stored later, including in a stream it has already passed', async () => {
    const t = setup({ maxInFlight: 8 });
    await t.ready();
    t.store.put(makeRecord('a', 0));
    t.store.put(makeRecord('b', 0));
    t.sync.start();
    await tick();
    t.store.put(makeRecord('a', 1));
    t.sync.notify();
    await tick();
    expect(t.seen.map((x) => `${x.stream}${x.seq}`)).toEqual(['a0', 'b0', 'a1']);
  });

  it('after a reconnect sends every unacked chunk again from the start of each stream, counting resends', async () => {
    const t = setup({ maxInFlight: 3 });
    await t.ready();
    for (let q = 0; q < 5; q++) t.store.put(makeRecord('a', q));
    t.sync.start();
    await tick();
    t.broker.inject(ACKS, encodeAck([t.seen[0]!.id]));
    await tick(); // a0 acked; a1..a3 in flight
    t.broker.setUp(false);
    t.broker.setUp(true);
    await tick();
    await t.node.subscribe(UP);
    t.seen.length = 0;
    t.sync.notify();
    await tick();
    // The device's re-publishes after the reconnect (the node resubscribed after them, so look at the log).
    const after = t.broker.log.filter((m) => m.topic === UP).slice(-3);
    expect(after.map((m) => decodeChunkEnvelope(m.payload)).map((e) => e.ok && e.value.seq)).toEqual([
      1, 2, 3,
    ]);
    expect(t.metrics.counter('sync.resends')).toBe(3);
    expect(t.metrics.counter('sync.connects')).toBe(2);
    expect(t.metrics.gauge('sync.connected')).toBe(1);
  });

  it('publishes again the chunks whose ack is overdue', async () => {
    const t = setup({ maxInFlight: 2, ackTimeoutMs: 1000 });
    await t.ready();
    t.store.put(makeRecord('a', 0));
    t.store.put(makeRecord('a', 1));
    t.sync.start();
    await tick();
    t.advance(999);
    t.sync.checkAckTimeouts();
    await tick();
    expect(t.seen).toHaveLength(2);
    t.advance(1);
    t.sync.checkAckTimeouts();
    await tick();
    expect(t.seen.map((x) => x.seq)).toEqual([0, 1, 0, 1]);
    expect(t.metrics.counter('sync.resends')).toBe(2);
  });

  it('ignores acks for unknown ids and survives garbage on the downlink, counting it', async () => {
    const t = setup();
    await t.ready();
    t.store.put(makeRecord('a', 0));
    t.sync.start();
    await tick();
    for (const g of [
      Buffer.from('not cbor at all'),
      Buffer.from([0xa0]),
      Buffer.alloc(0),
      Buffer.from([0x9f]),
    ])
      t.broker.inject(ACKS, g);
    t.broker.inject(ACKS, encodeAck(['ee'.repeat(32)]));
    t.broker.inject('qood/v1/other-car/down/ack', encodeAck([t.seen[0]!.id], 'other-car'));
    await tick();
    expect(t.store.usage().chunks).toBe(1);
    expect(t.metrics.counter('sync.garbage')).toBe(4);
    expect(t.metrics.counter('sync.acks.unknown')).toBe(1);
    t.broker.inject(ACKS, encodeAck([t.seen[0]!.id]));
    await tick();
    expect(t.store.usage().chunks).toBe(0);
  });

  it('publishes nothing while disconnected and keeps everything stored', async () => {
    const t = setup();
    await t.ready();
    t.broker.setUp(false);
    t.store.put(makeRecord('a', 0));
    t.sync.start();
    t.sync.notify();
    await tick();
    expect(t.broker.log).toHaveLength(0);
    expect(t.metrics.gauge('sync.connected')).toBe(0);
  });
});

describe('reconnect backoff', () => {
  it('doubles from the initial delay up to the cap, with half of each delay random', () => {
    const lo = (a: number) => backoffDelayMs(a, { initialMs: 100, maxMs: 1000, random: () => 0 });
    const hi = (a: number) => backoffDelayMs(a, { initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 10].map(lo)).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 10].map(hi)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe('topic filters', () => {
  it('match + and # as MQTT does', () => {
    expect(topicMatches('qood/v1/+/up/chunk', 'qood/v1/car/up/chunk')).toBe(true);
    expect(topicMatches('qood/v1/+/up/chunk', 'qood/v1/car/down/ack')).toBe(false);
    expect(topicMatches('qood/#', 'qood/v1/x')).toBe(true);
    expect(topicMatches('qood/v1', 'qood/v1/x')).toBe(false);
  });
});
