/**
 * The ingest over the memory broker with a real SQLite file: chunks, descriptors and queued
 * transactions verified, stored once, acknowledged after commit, and deleted on the device.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { MemoryChunkStore } from '../../../../agent/store/index.js';
import { ChunkSync, MemoryBroker } from '../../../../agent/sync/index.js';
import { Ed25519Signer, encodeChunkEnvelope, openAck } from '../../../../chain/index.js';
import {
  ChunkIngest,
  devicePublicKeyHex,
  IngestStore,
  sealedChunkVerifier,
  sealedDescriptorVerifier,
  sealedTxVerifier,
} from '../../../../node/ingest/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import {
  makeSignedRecord,
  sealTestChunk,
  TEST_DEVICE_KEY,
  TEST_NODE_KEY,
  testSyncKeys,
} from '../../../support/chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-ingest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tick = () => new Promise((r) => setImmediate(r));
const verifyChunk = sealedChunkVerifier({ 'car-1': devicePublicKeyHex(TEST_DEVICE_KEY) });
const verifyDescriptor = sealedDescriptorVerifier({ 'car-1': devicePublicKeyHex(TEST_DEVICE_KEY) });
const verifyTx = sealedTxVerifier({ 'car-1': devicePublicKeyHex(TEST_DEVICE_KEY) });
const NODE = new Ed25519Signer(TEST_NODE_KEY);
const TRUST = { vehicleId: 'car-1', nodeKeys: [NODE.publicKey] };

function node(broker: MemoryBroker) {
  const store = new IngestStore({ path: join(dir, `i${n++}.db`) });
  const ingest = new ChunkIngest({
    link: broker.connect('node'),
    store,
    verifyChunk,
    verifyDescriptor,
    verifyTx,
    ackSigner: NODE,
    logger: silentLogger,
  });
  return { store, ingest };
}

describe('ChunkIngest', () => {
  it('takes every chunk of a device once, in per-stream order, and the device deletes them', async () => {
    const broker = new MemoryBroker();
    const { store, ingest } = node(broker);
    await tick();
    ingest.start();
    await tick();
    const device = new MemoryChunkStore();
    for (let q = 0; q < 20; q++) for (const s of ['gps', 'can0/ENGINE']) device.put(makeSignedRecord(s, q));
    const metrics = new Metrics();
    const sync = new ChunkSync({
      store: device,
      uplink: broker.connect('car-1'),
      vehicleId: 'car-1',
      ...testSyncKeys(),
      metrics,
      logger: silentLogger,
      maxInFlight: 5,
    });
    onTestFinished(() => sync.stop());
    await tick();
    sync.start();
    for (let i = 0; i < 50 && device.usage().chunks > 0; i++) await tick();
    expect(device.usage().chunks).toBe(0);
    const rows = store.rows();
    expect(rows).toHaveLength(40);
    for (const s of ['gps', 'can0/ENGINE'])
      expect(rows.filter((r) => r.stream === s).map((r) => r.seq)).toEqual([...Array(20).keys()]);
    expect(ingest.counters()).toMatchObject({ 'ingest.stored': 40, 'ingest.rejected': 0 });
    expect(metrics.counter('chunks.synced')).toBe(40);
    store.close();
  });

  it('stores a duplicate once and acknowledges it again', async () => {
    const broker = new MemoryBroker();
    const { store, ingest } = node(broker);
    await tick();
    ingest.start();
    const device = broker.connect('dev');
    await tick();
    const acks: string[][] = [];
    device.onMessage((_t, p) => {
      const a = openAck(p, TRUST);
      if (a.ok) acks.push([...a.value.ids]);
    });
    await device.subscribe('qood/v1/car-1/down/ack');
    const r = makeSignedRecord('a', 0);
    const env = encodeChunkEnvelope({ id: r.id, stream: 'a', seq: 0, bytes: r.bytes });
    broker.inject('qood/v1/car-1/up/chunk', env);
    await tick();
    await tick();
    broker.inject('qood/v1/car-1/up/chunk', env);
    await tick();
    await tick();
    expect(acks).toEqual([[r.id], [r.id]]);
    expect(store.count()).toBe(1);
    expect(ingest.counters()).toMatchObject({ 'ingest.stored': 1, 'ingest.duplicates': 1, 'ingest.acks': 2 });
    store.close();
  });

  it('rejects, without acking, chunks that do not verify or disagree with their envelope or topic', async () => {
    const broker = new MemoryBroker();
    const { store, ingest } = node(broker);
    await tick();
    ingest.start();
    await tick();
    const up = (vehicle: string, e: Parameters<typeof encodeChunkEnvelope>[0]) =>
      broker.inject(`qood/v1/${vehicle}/up/chunk`, encodeChunkEnvelope(e));
    const good = makeSignedRecord('a', 1);
    const otherKey = makeSignedRecord('a', 2, { secretKey: new Uint8Array(32).fill(9) });
    const tampered = Uint8Array.from(good.bytes);
    tampered[tampered.length - 1]! ^= 1;
    const unknownCar = sealTestChunk(
      { vehicleId: 'car-9', stream: 'a', seq: 0 },
      Uint8Array.of(1),
      TEST_DEVICE_KEY,
    );
    up('car-1', { id: otherKey.id, stream: 'a', seq: 2, bytes: otherKey.bytes }); // wrong key
    up('car-1', { id: good.id, stream: 'a', seq: 1, bytes: tampered }); // ciphertext flipped
    up('car-1', { id: good.id, stream: 'a', seq: 7, bytes: good.bytes }); // envelope seq lies
    up('car-2', { id: good.id, stream: 'a', seq: 1, bytes: good.bytes }); // wrong vehicle topic
    up('car-9', { id: unknownCar.id, stream: 'a', seq: 0, bytes: unknownCar.bytes }); // no key
    broker.inject('qood/v1/car-1/up/chunk', Buffer.from('garbage'));
    broker.inject('qood/v1/car-1/up/chunk', Buffer.from([0x82, 0x01]));
    await tick();
    await tick();
    expect(ingest.counters()).toMatchObject({
      'ingest.rejected': 5,
      'ingest.garbage': 2,
      'ingest.stored': 0,
    });
    expect(broker.log.filter((m) => m.topic.endsWith('/down/ack'))).toHaveLength(0);
    // Still running: a good chunk afterwards is stored.
    up('car-1', { id: good.id, stream: 'a', seq: 1, bytes: good.bytes });
    await tick();
    await tick();
    expect(store.count()).toBe(1);
    store.close();
  });

  it('holds back a chunk that overtook a lost one, and accepts gaps the device declares', async () => {
    const broker = new MemoryBroker();
    const { store, ingest } = node(broker);
    await tick();
    ingest.start();
    await tick();
    const send = (seq: number, prev?: number) => {
      const r = makeSignedRecord('s', seq);
      broker.inject(
        'qood/v1/car-1/up/chunk',
        encodeChunkEnvelope({
          id: r.id,
          stream: 's',
          seq,
          bytes: r.bytes,
          ...(prev === undefined ? {} : { prev }),
        }),
      );
    };
    send(3, 2); // the first chunk seen names an earlier one still pending: held
    send(0);
    send(2, 1); // 1 was lost: held
    send(1, 0);
    send(2, 1);
    send(6); // 3..5 evicted on the device: no prev, taken
    send(4, 3); // an old one arriving late: taken (not past the highest)
    await tick();
    await tick();
    expect(store.rows().map((r) => r.seq)).toEqual([0, 1, 2, 6, 4]);
    expect(ingest.counters()).toMatchObject({ 'ingest.held': 2, 'ingest.stored': 5 });
    store.close();
  });

  it('reports why each bad chunk was rejected', () => {
    const good = makeSignedRecord('a', 1);
    const flipped = Uint8Array.from(good.bytes);
    flipped[10]! ^= 0x40;
    const r = verifyChunk(flipped);
    expect(r.ok).toBe(false);
    expect(verifyChunk(Uint8Array.of(0x81, 0x01))).toEqual({
      ok: false,
      reason: 'sealed chunk: chunk: expected 3 items, got 1',
    });
    expect(verifyChunk(Uint8Array.of(1, 2))).toEqual({
      ok: false,
      reason: 'sealed chunk: offset 1: 1 byte(s) after the value',
    });
    const ok = verifyChunk(good.bytes);
    expect(ok).toEqual({ ok: true, id: good.id, vehicleId: 'car-1', stream: 'a', seq: 1 });
  });
});
