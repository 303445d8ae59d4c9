/**
 * Attack 9 at the ingest's level (memory broker, a real SQLite file): a record another client of
 * the broker publishes on a car's `up/tx` is refused (not stored, not acknowledged) unless the
 * car's device key signed it for that car, seq, kind and bytes; the device's own record is then
 * stored and acknowledged with a signed ack naming its record id. The same attack through a real
 * mosquitto is in test/system/sync/forged-acks.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encoder } from 'cbor-x';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../../../agent/sync/index.js';
import {
  Ed25519Signer,
  encodeTxEnvelope,
  openTxAck,
  outboxTxId,
  signTxEnvelope,
  type TxAck,
} from '../../../../chain/index.js';
import {
  ChunkIngest,
  devicePublicKeyHex,
  deviceVerifiers,
  IngestStore,
  sealedTxVerifier,
} from '../../../../node/ingest/index.js';
import { silentLogger } from '../../../../process/log.js';
import { TEST_DEVICE_KEY, TEST_NODE_KEY } from '../../../support/chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-forged-uplink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tick = () => new Promise((r) => setImmediate(r));
const settle = async () => {
  for (let i = 0; i < 4; i++) await tick();
};
const KEYS = { 'car-1': devicePublicKeyHex(TEST_DEVICE_KEY), 'car-2': devicePublicKeyHex(TEST_DEVICE_KEY) };
const DEVICE = new Ed25519Signer(TEST_DEVICE_KEY);
const INTRUDER = new Ed25519Signer(new Uint8Array(32).fill(0x66));
const NODE = new Ed25519Signer(TEST_NODE_KEY);
const cbor = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});
const REVOKE = { seq: 1, kind: 'revoke', bytes: Uint8Array.from(Buffer.from('the owner-signed revoke')) };

describe('forged uplink records (attack 9)', () => {
  it('a forged up/tx record from another client is refused by the node, and the real one is acked', async () => {
    const broker = new MemoryBroker();
    const store = new IngestStore({ path: join(dir, 'forged.db') });
    const ingest = new ChunkIngest({
      link: broker.connect('node'),
      store,
      ...deviceVerifiers(KEYS),
      ackSigner: NODE,
      logger: silentLogger,
    });
    await tick();
    ingest.start();
    const peer = broker.connect('car-1');
    await tick();
    const txAcks: TxAck[] = [];
    peer.onMessage((_t, p) => {
      const a = openTxAck(p, { vehicleId: 'car-1', nodeKeys: [NODE.publicKey] });
      if (a.ok) txAcks.push(a.value);
    });
    await peer.subscribe('qood/v1/car-1/down/tx-ack');
    const forged = { seq: 1, kind: 'revoke', bytes: Uint8Array.from(Buffer.from('not the owner')) };
    const real = signTxEnvelope('car-1', REVOKE, DEVICE);
    const forgeries: Uint8Array[] = [
      // No signature at all (the envelope of the old protocol).
      cbor.encode(forged),
      // Signed, by a key that is not the device's.
      encodeTxEnvelope(signTxEnvelope('car-1', forged, INTRUDER)),
      // The device's signature for another vehicle (same key here), replayed on car-1.
      encodeTxEnvelope(signTxEnvelope('car-2', forged, DEVICE)),
      // The device's real signature, on other bytes, another seq or another kind.
      encodeTxEnvelope({ ...real, bytes: forged.bytes }),
      encodeTxEnvelope({ ...real, seq: 2 }),
      encodeTxEnvelope({ ...real, kind: 'controlExec' }),
    ];
    for (const f of forgeries) broker.inject('qood/v1/car-1/up/tx', f);
    await settle();
    expect(store.listTxs()).toEqual([]);
    expect(txAcks).toEqual([]);
    expect(broker.log.filter((m) => m.topic.includes('/down/'))).toEqual([]);
    expect(ingest.counters()).toMatchObject({
      'ingest.txs.received': 6,
      'ingest.txs.rejected': 5,
      'ingest.garbage': 1,
      'ingest.txs.stored': 0,
      'ingest.txAcks': 0,
    });
    // The device's real record: stored and acknowledged by its record id.
    broker.inject('qood/v1/car-1/up/tx', encodeTxEnvelope(real));
    await settle();
    expect(store.listTxs().map((t) => [t.vehicleId, t.seq, t.kind, Buffer.from(t.bytes).toString()])).toEqual(
      [['car-1', 1, 'revoke', 'the owner-signed revoke']],
    );
    expect(txAcks.map((a) => a.txs)).toEqual([[{ seq: 1, id: outboxTxId('car-1', REVOKE) }]]);
    store.close();
  });

  it('says why a queued transaction was refused', () => {
    const verify = sealedTxVerifier(KEYS);
    const real = signTxEnvelope('car-1', REVOKE, DEVICE);
    expect(verify('car-1', real)).toEqual({ ok: true });
    expect(verify('car-9', real)).toEqual({
      ok: false,
      reason: "tx: no device key bound to vehicle 'car-9' (not in ingest.deviceKeys, and no chain role)",
    });
    expect(verify('car-1', signTxEnvelope('car-1', REVOKE, INTRUDER))).toEqual({
      ok: false,
      reason: "tx 1: not signed by a device key bound to vehicle 'car-1' (ingest.deviceKeys)",
    });
  });
});
