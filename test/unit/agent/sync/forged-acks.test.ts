/**
 * Attack 9 at the sync's level (memory broker, memory store): acks that anyone on the broker could
 * publish delete nothing. Only an ack the configured storage node key signed for this vehicle
 * deletes, and a transaction only when the ack names the content this device signed under its seq.
 * The same attacks through a real mosquitto are in test/system/sync/forged-acks.test.ts.
 */
import { Encoder } from 'cbor-x';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryChunkStore } from '../../../../agent/store/index.js';
import { ChunkSync, MemoryBroker } from '../../../../agent/sync/index.js';
import {
  decodeTxEnvelope,
  Ed25519Signer,
  encodeAck,
  encodeTxAck,
  getPublicKey,
  outboxTxId,
  verifyTxEnvelope,
} from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { makeRecord, TEST_DEVICE_KEY, TEST_NODE_KEY, testSyncKeys } from '../../../support/chunks.js';

const tick = () => new Promise((r) => setImmediate(r));
const ACKS = 'qood/v1/car-1/down/ack';
const TX_ACKS = 'qood/v1/car-1/down/tx-ack';
const NODE = new Ed25519Signer(TEST_NODE_KEY);
const INTRUDER = new Ed25519Signer(new Uint8Array(32).fill(0x66));
const cbor = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});
const DESCRIPTOR_ID = 'd1'.repeat(32);

/** A car with two chunks, a descriptor, a queued owner revoke (seq 1) and a control execution (seq 2). */
async function car(nodeKeys = testSyncKeys().nodeKeys) {
  const broker = new MemoryBroker();
  const store = new MemoryChunkStore();
  const chunks = [makeRecord('can', 0), makeRecord('can', 1)];
  for (const r of chunks) store.put(r);
  store.putDescriptor(DESCRIPTOR_ID, Uint8Array.of(1), 0);
  store.enqueueTx('revoke', Uint8Array.of(0x52), 0);
  store.enqueueTx('controlExec', Uint8Array.of(0x43), 0);
  const metrics = new Metrics();
  const sync = new ChunkSync({
    store,
    uplink: broker.connect('car-1'),
    vehicleId: 'car-1',
    device: new Ed25519Signer(TEST_DEVICE_KEY),
    nodeKeys,
    metrics,
    logger: silentLogger,
  });
  const up: { topic: string; payload: Uint8Array }[] = [];
  const peer = broker.connect('peer');
  peer.onMessage((topic, payload) => up.push({ topic, payload }));
  await tick();
  await peer.subscribe('qood/v1/car-1/up/#');
  sync.start();
  onTestFinished(() => sync.stop()); // its ack-timeout interval must not outlive the test
  await tick();
  const ids = [...chunks.map((c) => c.id), DESCRIPTOR_ID];
  const txs = store.pendingTxs(10).map((t) => ({ seq: t.seq, id: outboxTxId('car-1', t) }));
  const held = () => ({
    chunks: store.usage().chunks,
    descriptors: store.pendingDescriptors(10).length,
    txs: store.pendingTxs(10).map((t) => t.kind),
  });
  return { broker, store, metrics, sync, ids, txs, held, up };
}

const ALL = { chunks: 2, descriptors: 1, txs: ['revoke', 'controlExec'] };

describe('forged acks (attack 9)', () => {
  it('a forged ack on down/ack and down/tx-ack deletes nothing from the outbox', async () => {
    const c = await car();
    const hexIds = c.ids.map((h) => Buffer.from(h, 'hex'));
    const forgeries: [string, Uint8Array][] = [
      // The unsigned acks of the old protocol: ids and guessed seqs.
      [ACKS, cbor.encode(hexIds)],
      [TX_ACKS, cbor.encode([0, 1, 2, 3])],
      // The right content, signed by the intruder's own key.
      [ACKS, encodeAck('car-1', c.ids, INTRUDER)],
      [TX_ACKS, encodeTxAck('car-1', c.txs, INTRUDER)],
      // Claiming the node's key, with the intruder's signature.
      [
        ACKS,
        cbor.encode({ v: 'car-1', ids: hexIds, key: NODE.publicKey, sig: INTRUDER.sign(Uint8Array.of(1)) }),
      ],
      [
        TX_ACKS,
        cbor.encode({
          v: 'car-1',
          txs: c.txs.map((t) => [t.seq, Buffer.from(t.id, 'hex')]),
          key: NODE.publicKey,
          sig: INTRUDER.sign(Uint8Array.of(1)),
        }),
      ],
      // A genuine ack of the node for another car, replayed on this car's topics.
      [ACKS, encodeAck('car-2', c.ids, NODE)],
      [TX_ACKS, encodeTxAck('car-2', c.txs, NODE)],
    ];
    for (const [topic, payload] of forgeries) c.broker.inject(topic, payload);
    await tick();
    expect(c.held()).toEqual(ALL);
    expect(c.metrics.counter('sync.acks.refused')).toBe(6);
    expect(c.metrics.counter('sync.garbage')).toBe(2);
    expect(c.metrics.counter('chunks.synced') + c.metrics.counter('txs.synced')).toBe(0);
    // The storage node's own acks do delete.
    c.broker.inject(ACKS, encodeAck('car-1', c.ids, NODE));
    c.broker.inject(TX_ACKS, encodeTxAck('car-1', c.txs, NODE));
    await tick();
    expect(c.held()).toEqual({ chunks: 0, descriptors: 0, txs: [] });
  });

  it("a node-signed tx ack for other content under the revoke's seq deletes nothing", async () => {
    // What the node acknowledges after storing an intruder's record under seq 1, or an older store's entry 1.
    const c = await car();
    const other = outboxTxId('car-1', { seq: 1, kind: 'revoke', bytes: Uint8Array.of(0x99) });
    c.broker.inject(TX_ACKS, encodeTxAck('car-1', [{ seq: 1, id: other }], NODE));
    await tick();
    expect(c.held().txs).toEqual(['revoke', 'controlExec']);
    expect(c.metrics.counter('sync.txAcks')).toBe(1);
    c.broker.inject(TX_ACKS, encodeTxAck('car-1', [c.txs[0]!], NODE));
    await tick();
    expect(c.held().txs).toEqual(['controlExec']);
  });

  it('a device given no storage node key deletes nothing on any ack', async () => {
    const c = await car([]);
    c.broker.inject(ACKS, encodeAck('car-1', c.ids, NODE));
    c.broker.inject(TX_ACKS, encodeTxAck('car-1', c.txs, NODE));
    await tick();
    expect(c.held()).toEqual(ALL);
    expect(c.metrics.counter('sync.acks.refused')).toBe(2);
  });

  it('every queued transaction goes up signed by the device key over its record id', async () => {
    const c = await car();
    const envelopes = c.up.filter((m) => m.topic.endsWith('/up/tx')).map((m) => decodeTxEnvelope(m.payload));
    expect(envelopes.map((e) => e.ok && e.value.kind)).toEqual(['revoke', 'controlExec']);
    for (const e of envelopes)
      expect(e.ok && verifyTxEnvelope('car-1', e.value, getPublicKey(TEST_DEVICE_KEY))).toBe(true);
  });
});
