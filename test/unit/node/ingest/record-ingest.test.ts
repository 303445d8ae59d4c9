/**
 * Descriptors and queued transactions through the ingest, over the memory broker with real SQLite
 * files: verified against the device key the node knows, stored once, acknowledged after commit
 * and deleted on the device; what the node can answer about them afterwards; what it refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { MemoryChunkStore } from '../../../../agent/store/index.js';
import { ChunkSync, MemoryBroker } from '../../../../agent/sync/index.js';
import {
  descriptorRoot,
  Ed25519Signer,
  encodeDescriptorEnvelope,
  encodeTxEnvelope,
  fromHex,
  openAck,
  openTxAck,
  signTxEnvelope,
  toHex,
} from '../../../../chain/index.js';
import {
  ChunkIngest,
  devicePublicKeyHex,
  deviceVerifiers,
  INGEST_APPLICATION_ID,
  IngestStore,
  sealedDescriptorVerifier,
} from '../../../../node/ingest/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import {
  makeSignedDescriptor,
  makeSignedRecord,
  TEST_DEVICE_KEY,
  TEST_NODE_KEY,
  testSyncKeys,
} from '../../../support/chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tick = () => new Promise((r) => setImmediate(r));
const settle = async () => {
  for (let i = 0; i < 4; i++) await tick();
};
const KEYS = { 'car-1': devicePublicKeyHex(TEST_DEVICE_KEY), 'car-2': devicePublicKeyHex(TEST_DEVICE_KEY) };
const OTHER_KEY = new Uint8Array(32).fill(9);
const NODE = new Ed25519Signer(TEST_NODE_KEY);

/** A queued transaction as a device publishes it: signed with `secretKey` (default the device key) for `vehicleId`. */
function txEnvelope(
  vehicleId: string,
  seq: number,
  kind: string,
  bytes: Uint8Array,
  secretKey = TEST_DEVICE_KEY,
) {
  return encodeTxEnvelope(signTxEnvelope(vehicleId, { seq, kind, bytes }, new Ed25519Signer(secretKey)));
}

async function node(broker = new MemoryBroker()) {
  const store = new IngestStore({ path: join(dir, `r${n++}.db`) });
  const ingest = new ChunkIngest({
    link: broker.connect('node'),
    store,
    ...deviceVerifiers(KEYS),
    ackSigner: NODE,
    logger: silentLogger,
  });
  await tick();
  ingest.start();
  // A peer on the device side that records the acks.
  const device = broker.connect('peer');
  await tick();
  const acks: string[][] = [];
  const txAcks: number[][] = [];
  // Recorded only when the storage node signed them for the vehicle of their topic.
  device.onMessage((topic, p) => {
    const trust = { vehicleId: topic.split('/')[2]!, nodeKeys: [NODE.publicKey] };
    if (topic.endsWith('/down/ack')) {
      const a = openAck(p, trust);
      if (a.ok) acks.push([...a.value.ids]);
    } else {
      const a = openTxAck(p, trust);
      if (a.ok) txAcks.push(a.value.txs.map((t) => t.seq));
    }
  });
  await device.subscribe('qood/v1/+/down/#');
  return { broker, store, ingest, acks, txAcks };
}

describe('descriptors and queued transactions through the ingest', () => {
  it('a device sync delivers its descriptors and transactions once, and deletes each on its ack', async () => {
    const { broker, store, ingest } = await node();
    const device = new MemoryChunkStore();
    const recs = [0, 1, 2, 3].map((q) => makeSignedRecord(q % 2 ? 'gps' : 'can', q >> 1));
    for (const r of recs) device.put(r);
    const d1 = makeSignedDescriptor(recs.slice(0, 2), { createdMs: 1 });
    const d2 = makeSignedDescriptor(recs.slice(2), { createdMs: 2 });
    for (const d of [d1, d2]) {
      device.putDescriptor(d.id, d.bytes, 0);
      device.enqueueTx('descriptor', d.bytes, 0);
    }
    device.enqueueTx('revoke', Uint8Array.of(1, 2, 3), 0);
    const metrics = new Metrics();
    const sync = new ChunkSync({
      store: device,
      uplink: broker.connect('car-1'),
      vehicleId: 'car-1',
      ...testSyncKeys(),
      metrics,
      logger: silentLogger,
      maxRecordsInFlight: 2,
    });
    onTestFinished(() => sync.stop());
    await tick();
    sync.start();
    for (let i = 0; i < 50 && device.pendingTxs(10).length + device.pendingDescriptors(10).length > 0; i++)
      await tick();
    expect(device.pendingDescriptors(10)).toEqual([]);
    expect(device.pendingTxs(10)).toEqual([]);
    expect(device.usage().chunks).toBe(0);
    expect(store.descriptorRows().map((r) => [r.id, r.vehicleId, r.createdMs, r.chunkCount])).toEqual([
      [d1.id, 'car-1', 1, 2],
      [d2.id, 'car-1', 2, 2],
    ]);
    expect(store.listTxs().map((t) => [t.vehicleId, t.seq, t.kind])).toEqual([
      ['car-1', 1, 'descriptor'],
      ['car-1', 2, 'descriptor'],
      ['car-1', 3, 'revoke'],
    ]);
    expect([...store.listTxs()[2]!.bytes]).toEqual([1, 2, 3]);
    expect(metrics.counter('descriptors.synced')).toBe(2);
    expect(metrics.counter('txs.synced')).toBe(3);
    expect(metrics.counter('sync.acks.unknown')).toBe(0);
    expect(ingest.counters()).toMatchObject({
      'ingest.descriptors.stored': 2,
      'ingest.descriptors.rejected': 0,
      'ingest.txs.stored': 3,
      'ingest.txs.rejected': 0,
      'ingest.stored': 4,
    });
    // What a buyer's fetch will ask.
    expect(store.descriptorsOfChunk(recs[3]!.id).map((d) => d.id)).toEqual([d2.id]);
    expect(store.descriptorsOfChunk('00'.repeat(32))).toEqual([]);
    const parts = store.chunksOfDescriptor(d1.id)!;
    expect(parts.map((c) => c.id)).toEqual([recs[0]!.id, recs[1]!.id]);
    expect(
      parts.map((c) => Buffer.from(c.bytes!).equals(Buffer.from(recs[parts.indexOf(c)]!.bytes))),
    ).toEqual([true, true]);
    expect(Buffer.from(store.descriptorBytes(d2.id)!).equals(Buffer.from(d2.bytes))).toBe(true);
    expect(store.chunksOfDescriptor('ff'.repeat(32))).toBeUndefined();
    // What a buyer searches by: vehicle, dictionary, time, root.
    const root1 = toHex(descriptorRoot([fromHex(recs[0]!.id), fromHex(recs[1]!.id)]));
    expect(store.listDescriptors({ merkleRoot: root1 }).map((d) => d.id)).toEqual([d1.id]);
    expect(store.listDescriptors({ vehicleId: 'car-1', dictionary: 'qood-vss-6.0+obd-4.0' })).toHaveLength(2);
    expect(store.listDescriptors({ dictionary: 'other' })).toEqual([]);
    expect(store.listDescriptors({ fromMs: 1_700_000_050_000, toMs: 1_700_000_060_000 })).toHaveLength(2);
    expect(store.listDescriptors({ fromMs: 1_700_000_100_001 })).toEqual([]);
    expect(store.listDescriptors({ location: '47.' })).toEqual([]);
    const first = store.listDescriptors({ limit: 1 });
    expect(first.map((d) => [d.id, d.merkleRoot, d.dataClass, d.tStartMs])).toEqual([
      [d1.id, root1, 'owner', 1_700_000_000_000],
    ]);
    expect(store.listDescriptors({ afterOrd: first[0]!.ord }).map((d) => d.id)).toEqual([d2.id]);
    // Another vehicle's descriptor listing car-1's chunks claims nothing of them.
    const foreign = makeSignedDescriptor(recs.slice(0, 2), { vehicleId: 'car-2', createdMs: 3 });
    broker.inject('qood/v1/car-2/up/descriptor', encodeDescriptorEnvelope(foreign));
    await settle();
    expect(store.descriptorCount()).toBe(3);
    expect(store.chunksOfDescriptor(foreign.id)!.map((c) => c.bytes)).toEqual([undefined, undefined]);
    expect(store.descriptorsOfChunk(recs[0]!.id).map((d) => d.id)).toEqual([d1.id]);
    store.close();
  });

  it('stores a resent descriptor or transaction once and acknowledges it again', async () => {
    const { broker, store, ingest, acks, txAcks } = await node();
    const d = makeSignedDescriptor([makeSignedRecord('a', 0)]);
    const denv = encodeDescriptorEnvelope(d);
    const tenv = txEnvelope('car-1', 5, 'descriptor', d.bytes);
    for (let i = 0; i < 2; i++) {
      broker.inject('qood/v1/car-1/up/descriptor', denv);
      broker.inject('qood/v1/car-1/up/tx', tenv);
      await settle();
    }
    expect(acks).toEqual([[d.id], [d.id]]);
    expect(txAcks).toEqual([[5], [5]]);
    expect(store.descriptorCount()).toBe(1);
    expect(store.txCount()).toBe(1);
    expect(ingest.counters()).toMatchObject({
      'ingest.descriptors.stored': 1,
      'ingest.descriptors.duplicates': 1,
      'ingest.txs.stored': 1,
      'ingest.txs.duplicates': 1,
      'ingest.acks': 2,
      'ingest.txAcks': 2,
    });
    store.close();
  });

  it('refuses, without acking, descriptors that do not verify or disagree with their topic or envelope', async () => {
    const { broker, store, ingest, acks, txAcks } = await node();
    const recs = [makeSignedRecord('a', 0), makeSignedRecord('a', 1)];
    const good = makeSignedDescriptor(recs);
    const cases: [string, { id: string; bytes: Uint8Array }][] = [
      ['wrong device key', makeSignedDescriptor(recs, { secretKey: OTHER_KEY })],
      ['unknown vehicle', makeSignedDescriptor(recs, { vehicleId: 'car-9' })],
      ['bad root', makeSignedDescriptor(recs, { tamper: (d) => ({ ...d, merkleRoot: new Uint8Array(32) }) })],
      ['no chunks', makeSignedDescriptor([], { tamper: (d) => ({ ...d, merkleRoot: descriptorRoot([]) }) })],
      ['flipped', { id: good.id, bytes: Uint8Array.from(good.bytes, (b, i) => (i === 40 ? b ^ 1 : b)) }],
      ['envelope id lies', { id: 'cd'.repeat(32), bytes: good.bytes }],
    ];
    for (const [, d] of cases) broker.inject('qood/v1/car-1/up/descriptor', encodeDescriptorEnvelope(d));
    // Signed for car-1, published as car-2 (which has the same key here).
    broker.inject('qood/v1/car-2/up/descriptor', encodeDescriptorEnvelope(good));
    broker.inject('qood/v1/car-1/up/descriptor', Buffer.from('garbage'));
    broker.inject('qood/v1/car-1/up/descriptor', txEnvelope('car-1', 1, 'x', good.bytes));
    // A descriptor transaction must carry a descriptor that verifies; other kinds are opaque.
    broker.inject('qood/v1/car-1/up/tx', txEnvelope('car-1', 1, 'descriptor', Uint8Array.of(1)));
    broker.inject('qood/v1/car-2/up/tx', txEnvelope('car-2', 2, 'descriptor', good.bytes));
    broker.inject('qood/v1/car-1/up/tx', encodeDescriptorEnvelope(good));
    await settle();
    expect(ingest.counters()).toMatchObject({
      'ingest.descriptors.received': 9,
      'ingest.descriptors.rejected': 7,
      'ingest.txs.received': 3,
      'ingest.txs.rejected': 2,
      'ingest.garbage': 3,
      'ingest.descriptors.stored': 0,
      'ingest.txs.stored': 0,
    });
    expect(acks).toEqual([]);
    expect(txAcks).toEqual([]);
    expect(broker.log.filter((m) => m.topic.includes('/down/'))).toHaveLength(0);
    // Still running: the good one afterwards is stored and acknowledged.
    broker.inject('qood/v1/car-1/up/descriptor', encodeDescriptorEnvelope(good));
    await settle();
    expect(store.descriptorRows().map((r) => r.id)).toEqual([good.id]);
    expect(acks).toEqual([[good.id]]);
    store.close();
  });

  it('says why each bad descriptor was refused', () => {
    const verify = sealedDescriptorVerifier(KEYS);
    const recs = [makeSignedRecord('a', 0)];
    const reason = (bytes: Uint8Array) => {
      const v = verify(bytes);
      return v.ok ? 'ok' : v.reason;
    };
    expect(reason(makeSignedDescriptor(recs, { secretKey: OTHER_KEY }).bytes)).toMatch(
      /^descriptor: signed by device key [0-9a-f]{64}, which is not bound to vehicle 'car-1' \(ingest\.deviceKeys\)$/,
    );
    expect(reason(makeSignedDescriptor(recs, { vehicleId: 'car-9' }).bytes)).toBe(
      "descriptor: no device key bound to vehicle 'car-9' (not in ingest.deviceKeys, and no chain role)",
    );
    expect(
      reason(makeSignedDescriptor(recs, { tamper: (d) => ({ ...d, merkleRoot: new Uint8Array(32) }) }).bytes),
    ).toBe('descriptor: the Merkle root does not match its chunk ids');
    expect(reason(Uint8Array.of(0x82, 0x01, 0x02))).toMatch(/^descriptor: /);
    const good = makeSignedDescriptor(recs);
    const sig = Uint8Array.from(good.bytes);
    sig[sig.length - 1]! ^= 1;
    expect(reason(sig)).toBe('descriptor: the device signature does not verify');
    expect(verify(good.bytes)).toEqual({
      ok: true,
      id: good.id,
      vehicleId: 'car-1',
      createdMs: 1_700_000_100_000,
      chunkIds: [recs[0]!.id],
    });
  });

  it('keeps transactions of a device whose outbox numbering restarted, and lists them in pages', async () => {
    const { broker, store, ingest, txAcks } = await node();
    const tx = (vehicle: string, seq: number, byte: number) =>
      broker.inject(`qood/v1/${vehicle}/up/tx`, txEnvelope(vehicle, seq, 'revoke', Uint8Array.of(byte)));
    tx('car-1', 1, 1);
    tx('car-1', 2, 2);
    tx('car-2', 1, 1);
    await settle();
    tx('car-1', 1, 9); // the device's store was recreated: seq 1 again, another transaction
    tx('car-1', 1, 1); // a resend of the first
    await settle();
    expect(store.txCount()).toBe(4);
    expect(ingest.counters()).toMatchObject({
      'ingest.txs.stored': 4,
      'ingest.txs.duplicates': 1,
      'ingest.txs.seqReused': 1,
    });
    expect(txAcks.flat().sort()).toEqual([1, 1, 1, 1, 2]);
    const all = store.listTxs();
    expect(all.map((t) => `${t.vehicleId}#${t.seq}:${t.bytes[0]}`)).toEqual([
      'car-1#1:1',
      'car-1#2:2',
      'car-2#1:1',
      'car-1#1:9',
    ]);
    expect(all[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    const page1 = store.listTxs({ limit: 2 });
    const page2 = store.listTxs({ afterOrd: page1.at(-1)!.ord, limit: 2 });
    expect([...page1, ...page2].map((t) => t.ord)).toEqual(all.map((t) => t.ord));
    expect(store.listTxs({ vehicleId: 'car-2' }).map((t) => t.seq)).toEqual([1]);
    store.close();
  });

  it('opens a database of the first schema version and adds the descriptor and transaction tables', () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(`
      CREATE TABLE chunks (
        ord INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vehicle_id TEXT NOT NULL,
        stream TEXT NOT NULL, seq INTEGER NOT NULL, received_ms INTEGER NOT NULL, bytes BLOB NOT NULL);
      CREATE INDEX chunks_by_stream ON chunks (vehicle_id, stream, seq);
      INSERT INTO chunks (id, vehicle_id, stream, seq, received_ms, bytes)
        VALUES ('${'aa'.repeat(32)}', 'car-1', 'a', 0, 1, x'01');
    `);
    db.pragma('user_version = 1');
    db.pragma(`application_id = ${INGEST_APPLICATION_ID}`);
    db.close();
    const store = new IngestStore({ path });
    expect(store.rows().map((r) => r.id)).toEqual(['aa'.repeat(32)]);
    const d = makeSignedDescriptor([{ id: 'aa'.repeat(32), stream: 'a', seq: 0 }]);
    expect(
      store.putDescriptors(
        [{ id: d.id, vehicleId: 'car-1', createdMs: 5, chunkIds: ['aa'.repeat(32)], bytes: d.bytes }],
        9,
      ),
    ).toEqual({ added: 1, duplicates: 0 });
    expect(store.chunksOfDescriptor(d.id)).toEqual([{ id: 'aa'.repeat(32), bytes: Uint8Array.of(1) }]);
    store.close();
    const check = new Database(path, { readonly: true });
    // Up to the latest: 2 added descriptors and transactions, 3 descriptor fields, 4 the bridge's
    // submission records, 5 the storage role's anchor index.
    expect(check.pragma('user_version', { simple: true })).toBe(5);
    expect(
      check.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'tx_submissions'").pluck().get(),
    ).toBe(1);
    check.close();
  });
});
