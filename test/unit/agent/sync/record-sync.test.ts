/**
 * The sync's descriptors and queued transactions over the memory broker and the memory store:
 * published after connect and when stored, within their window, again after a reconnect or an
 * overdue ack, deleted only on the node's ack; and the data path telling the sync when it stored
 * a descriptor.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { collectSchema } from '../../../../agent/config/collect.js';
import { DataPath } from '../../../../agent/pipeline/data-path.js';
import { MemoryChunkStore } from '../../../../agent/store/index.js';
import { ChunkSync, MemoryBroker } from '../../../../agent/sync/index.js';
import {
  decodeDescriptorEnvelope,
  decodeSignedTx,
  decodeTxEnvelope,
  Ed25519Signer,
  encodeAck as encodeSignedAck,
  encodeTxAck as encodeSignedTxAck,
  getPublicKey,
  openDescriptor,
  outboxTxId,
  type TxBodies,
  toHex,
  verify,
} from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { makeRecord, TEST_DEVICE_KEY, TEST_NODE_KEY, testSyncKeys } from '../../../support/chunks.js';

const tick = () => new Promise((r) => setImmediate(r));
const ACKS = 'qood/v1/car-1/down/ack';
const TX_ACKS = 'qood/v1/car-1/down/tx-ack';
const id = (i: number) => i.toString(16).padStart(2, '0').repeat(32);
const NODE = new Ed25519Signer(TEST_NODE_KEY);
/** An ack of car-1's chunk and descriptor ids, signed by the storage node. */
const encodeAck = (ids: string[]) => encodeSignedAck('car-1', ids, NODE);
/** A tx ack, signed by the storage node, naming what `store` holds under each seq (any id for a seq it does not hold). */
function encodeTxAck(store: MemoryChunkStore, seqs: number[]): Uint8Array {
  const held = new Map(store.pendingTxs(1000).map((t) => [t.seq, outboxTxId('car-1', t)]));
  return encodeSignedTxAck(
    'car-1',
    seqs.map((seq) => ({ seq, id: held.get(seq) ?? id(0xee) })),
    NODE,
  );
}

function setup(options: { maxRecordsInFlight?: number; ackTimeoutMs?: number } = {}) {
  const broker = new MemoryBroker();
  const store = new MemoryChunkStore();
  const metrics = new Metrics();
  let now = 0;
  const sync = new ChunkSync({
    store,
    uplink: broker.connect('car-1'),
    vehicleId: 'car-1',
    ...testSyncKeys(),
    metrics,
    logger: silentLogger,
    maxRecordsInFlight: options.maxRecordsInFlight ?? 2,
    ackTimeoutMs: options.ackTimeoutMs ?? 60_000,
    nowMs: () => now,
  });
  onTestFinished(() => sync.stop()); // its ack-timeout interval must not outlive the test
  const node = broker.connect('node');
  const descriptors: string[] = [];
  const txs: string[] = [];
  node.onMessage((topic, p) => {
    if (topic.endsWith('/up/descriptor')) {
      const e = decodeDescriptorEnvelope(p);
      descriptors.push(e.ok ? `${e.value.id.slice(0, 2)}:${e.value.bytes[0]}` : 'bad');
    } else if (topic.endsWith('/up/tx')) {
      const e = decodeTxEnvelope(p);
      txs.push(e.ok ? `${e.value.seq}:${e.value.kind}` : 'bad');
    }
  });
  return {
    broker,
    store,
    metrics,
    sync,
    descriptors,
    txs,
    advance: (ms: number) => {
      now += ms;
    },
    async ready() {
      await tick();
      await node.subscribe('qood/v1/car-1/up/#');
    },
  };
}

describe('ChunkSync with descriptors and queued transactions', () => {
  it('publishes them after connect within their window and deletes each only on the node ack', async () => {
    const t = setup({ maxRecordsInFlight: 2 });
    await t.ready();
    for (let i = 1; i <= 3; i++) {
      t.store.putDescriptor(id(i), Uint8Array.of(i), 0);
      t.store.enqueueTx(i === 3 ? 'revoke' : 'descriptor', Uint8Array.of(i), 0);
    }
    t.sync.start();
    await tick();
    expect(t.descriptors).toEqual(['01:1', '02:2']);
    expect(t.txs).toEqual(['1:descriptor', '2:descriptor']);
    expect(t.sync.recordsInFlight).toEqual({ descriptors: 2, txs: 2 });
    expect(t.store.pendingDescriptors(10)).toHaveLength(3); // a PUBACK deletes nothing
    // Descriptor ids share the chunk ack topic; transaction seqs have their own.
    t.broker.inject(ACKS, encodeAck([id(1)]));
    t.broker.inject(TX_ACKS, encodeTxAck(t.store, [1, 2]));
    await tick();
    expect(t.store.pendingDescriptors(10).map((d) => d.id)).toEqual([id(2), id(3)]);
    expect(t.store.pendingTxs(10).map((x) => x.seq)).toEqual([3]);
    expect(t.descriptors).toEqual(['01:1', '02:2', '03:3']);
    expect(t.txs).toEqual(['1:descriptor', '2:descriptor', '3:revoke']);
    expect(t.metrics.counter('descriptors.synced')).toBe(1);
    expect(t.metrics.counter('txs.synced')).toBe(2);
    expect(t.metrics.counter('sync.acks.unknown')).toBe(0);
    expect(t.metrics.counter('sync.txAcks')).toBe(1);
  });

  it('publishes ones stored later when told, and acks for chunks and descriptors in one message', async () => {
    const t = setup();
    await t.ready();
    t.store.put(makeRecord('a', 0));
    t.sync.start();
    await tick();
    expect(t.descriptors).toEqual([]);
    t.store.putDescriptor(id(7), Uint8Array.of(7), 0);
    t.store.enqueueTx('descriptor', Uint8Array.of(7), 0);
    t.sync.notify();
    await tick();
    expect(t.descriptors).toEqual(['07:7']);
    expect(t.txs).toEqual(['1:descriptor']);
    t.broker.inject(ACKS, encodeAck([makeRecord('a', 0).id, id(7), id(9)]));
    await tick();
    expect(t.store.usage().chunks).toBe(0);
    expect(t.store.pendingDescriptors(10)).toEqual([]);
    expect(t.metrics.counter('chunks.synced')).toBe(1);
    expect(t.metrics.counter('descriptors.synced')).toBe(1);
    expect(t.metrics.counter('sync.acks.unknown')).toBe(1);
  });

  it('publishes them again after a reconnect and when their ack is overdue, counting resends', async () => {
    const t = setup({ ackTimeoutMs: 1000 });
    await t.ready();
    t.store.putDescriptor(id(1), Uint8Array.of(1), 0);
    t.store.enqueueTx('descriptor', Uint8Array.of(1), 0);
    t.sync.start();
    await tick();
    t.advance(999);
    t.sync.checkAckTimeouts();
    await tick();
    expect(t.descriptors).toHaveLength(1);
    t.advance(1);
    t.sync.checkAckTimeouts();
    await tick();
    expect(t.descriptors).toEqual(['01:1', '01:1']);
    expect(t.txs).toEqual(['1:descriptor', '1:descriptor']);
    t.broker.setUp(false);
    t.broker.setUp(true);
    await tick();
    const republished = t.broker.log.filter((m) => m.from === 'car-1' && m.topic.endsWith('/up/descriptor'));
    expect(republished).toHaveLength(3);
    expect(t.metrics.counter('sync.descriptors.resends')).toBe(2);
    expect(t.metrics.counter('sync.txs.resends')).toBe(2);
    expect(t.store.pendingDescriptors(10)).toHaveLength(1);
  });

  it('leaves a transaction the wire format refuses in the store, counted, and sends the rest', async () => {
    const t = setup();
    await t.ready();
    t.store.enqueueTx('Not A Kind', Uint8Array.of(1), 0);
    t.store.enqueueTx('revoke', Uint8Array.of(2), 0);
    t.sync.start();
    await tick();
    expect(t.txs).toEqual(['2:revoke']);
    expect(t.metrics.counter('sync.errors')).toBe(1);
    expect(t.store.pendingTxs(10).map((x) => x.seq)).toEqual([1, 2]);
  });

  it('counts garbage on the transaction ack topic and ignores unknown seqs', async () => {
    const t = setup();
    await t.ready();
    t.store.enqueueTx('descriptor', Uint8Array.of(1), 0);
    t.sync.start();
    await tick();
    for (const g of [Buffer.from('nope'), encodeAck([id(1)]), Buffer.from([0x81, 0x20]), Buffer.alloc(0)])
      t.broker.inject(TX_ACKS, g);
    t.broker.inject(TX_ACKS, encodeTxAck(t.store, [99]));
    await tick();
    expect(t.metrics.counter('sync.garbage')).toBe(4);
    expect(t.store.pendingTxs(10)).toHaveLength(1);
    t.broker.inject(TX_ACKS, encodeTxAck(t.store, [1]));
    await tick();
    expect(t.store.pendingTxs(10)).toEqual([]);
    expect(t.metrics.counter('txs.synced')).toBe(1);
  });
});

/** What every data path of these tests shares: the device's identity over `store`. */
function pathOptions(store: MemoryChunkStore) {
  return {
    identity: {
      vehicleId: 'car-1',
      deviceSecretKey: TEST_DEVICE_KEY,
      dataRoot: new Uint8Array(32).fill(1),
      oemPublicKey: getPublicKey(new Uint8Array(32).fill(2)),
      epochLengthS: 600,
      dictionaryId: 'qood-vss-6.0+obd-4.0',
    },
    ownerPublicKey: new Uint8Array(32).fill(3),
    store,
    metrics: new Metrics(),
    logger: silentLogger,
  };
}

describe('the data path and the sync', () => {
  it('tells the sync when a batch cut stored a descriptor, even with no new chunk', () => {
    const store = new MemoryChunkStore();
    let told = 0;
    let nowMs = 1_700_000_000_000;
    const dp = new DataPath({
      collect: collectSchema.parse({
        schemes: [{ name: 'drive', kind: 'periodic', periodMs: 100, signals: ['Vehicle.Speed'] }],
        chunk: { maxAgeMs: 1000 },
      }),
      ...pathOptions(store),
      nowMs: () => nowMs,
      onStored: () => told++,
    });
    dp.add([{ path: 'Vehicle.Speed', tUs: nowMs * 1000, value: 50 }]);
    nowMs += 5000;
    dp.tick(); // closes the chunk: stored, the sync told
    expect(store.usage().chunks).toBe(1);
    expect(told).toBe(1);
    dp.flush(); // no open chunk; cuts the batch
    expect(store.pendingDescriptors(10)).toHaveLength(1);
    expect(store.pendingTxs(10).map((x) => x.kind)).toEqual(['descriptor']);
    expect(told).toBe(2);
  });

  it('anchors each data class in its own batch with a device-signed descriptor transaction', () => {
    const store = new MemoryChunkStore();
    let nowMs = 1_700_000_000_000;
    const dp = new DataPath({
      collect: collectSchema.parse({
        schemes: [
          { name: 'drive', kind: 'periodic', periodMs: 100, signals: ['Vehicle.Speed'] },
          { name: 'diag', kind: 'periodic', periodMs: 100, signals: ['Vehicle.Speed'], class: 'oem' },
        ],
        chunk: { maxAgeMs: 1000 },
      }),
      ...pathOptions(store),
      nowMs: () => nowMs,
      anchor: { chainId: 'qood-test', agreementId: 'ab'.repeat(32) },
    });
    dp.add([{ path: 'Vehicle.Speed', tUs: nowMs * 1000, value: 50 }]);
    nowMs += 5000;
    dp.flush();
    const descriptors = store.pendingDescriptors(10).map((d) => openDescriptor(d.bytes).descriptor);
    expect(descriptors.map((d) => d.streams.map((s) => s.dataClass))).toEqual([['owner'], ['oem']]);
    const txs = store.pendingTxs(10);
    expect(txs.map((x) => x.kind)).toEqual(['anchor', 'anchor']);
    const anchors = txs.map((x) => decodeSignedTx(x.bytes));
    expect(anchors.map((a) => [a.tx.kind, a.tx.nonce, a.tx.chainId, a.tx.sender])).toEqual([
      ['descriptor', 0, 'qood-test', toHex(getPublicKey(TEST_DEVICE_KEY))],
      ['descriptor', 1, 'qood-test', toHex(getPublicKey(TEST_DEVICE_KEY))],
    ]);
    anchors.forEach((a, i) => {
      const body = a.tx.body as TxBodies['descriptor'];
      expect(toHex(body.merkleRoot)).toBe(toHex(descriptors[i]!.merkleRoot));
      expect([body.agreement, body.dataClass, body.chunkCount, body.dictionary]).toEqual([
        'ab'.repeat(32),
        descriptors[i]!.streams[0]!.dataClass,
        descriptors[i]!.chunkIds.length,
        'qood-vss-6.0+obd-4.0',
      ]);
      expect(body.fromMs).toBeLessThanOrEqual(body.toMs);
      expect(verify(a.signature, a.id, getPublicKey(TEST_DEVICE_KEY))).toBe(true);
    });
  });
});
