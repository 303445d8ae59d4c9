/**
 * Attack 9 of the security review, through a real mosquitto with real SQLite files: another client
 * of the TSP's broker (anyone whose ACLs let it publish on a car's topics) tries to empty the car's
 * outbox. (a) It watches the car's uplink and answers every chunk, descriptor and queued
 * transaction with forged acks on `down/ack` and `down/tx-ack`; nothing may be deleted until the
 * real storage node acknowledges. (b) It publishes its own record on the car's `up/tx` under the
 * seq of the car's queued owner revoke; the node must refuse it (not store it, not acknowledge it),
 * and the car's real revoke must still be stored and acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encoder } from 'cbor-x';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { openSqliteChunkStore, type SqliteChunkStore } from '../../../agent/store/index.js';
import { ChunkSync, openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import {
  decodeChunkEnvelope,
  decodeDescriptorEnvelope,
  decodeTxEnvelope,
  Ed25519Signer,
  encodeAck,
  encodeTxAck,
  encodeTxEnvelope,
  fromHex,
  openTxAck,
  outboxTxId,
  signTxEnvelope,
} from '../../../chain/index.js';
import {
  ChunkIngest,
  devicePublicKeyHex,
  deviceVerifiers,
  IngestStore,
  openMqttIngestLink,
} from '../../../node/ingest/index.js';
import { silentLogger } from '../../../process/log.js';
import { Metrics } from '../../../process/metrics.js';
import {
  makeSignedDescriptor,
  makeSignedRecord,
  TEST_DEVICE_KEY,
  TEST_NODE_KEY,
  testSyncKeys,
} from '../../support/chunks.js';
import { waitUntil } from '../../support/cli.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

const cbor = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NODE = new Ed25519Signer(TEST_NODE_KEY);
const INTRUDER = new Ed25519Signer(new Uint8Array(32).fill(0x66));

describeSystem(
  'forged acks and uplinks on a real mosquitto (attack 9)',
  [{ bin: 'mosquitto', pkg: 'mosquitto' }],
  () => {
    let broker: Mosquitto;
    let dir: string;
    const closers: (() => unknown)[] = [];
    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'qood-forged-'));
    });
    afterEach(async () => {
      for (const c of closers.splice(0).reverse()) await c();
    });
    afterAll(async () => {
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    let run = 0;
    /** A car (SQLite store, sync not started) with chunks, a descriptor and queued transactions. */
    async function car() {
      run++;
      const vehicleId = `car-${run}`;
      const store: SqliteChunkStore = openSqliteChunkStore({ path: join(dir, `device${run}.db`) });
      const records = [0, 1, 2].map((q) => makeSignedRecord('can0/ENGINE_DATA', q, { vehicleId }));
      for (const r of records) store.put(r);
      const d = makeSignedDescriptor(records, { vehicleId });
      store.putDescriptor(d.id, d.bytes, Date.now());
      const revokeBytes = Uint8Array.from(Buffer.from('the owner-signed revoke of grant 42'));
      const revokeSeq = store.enqueueTx('revoke', revokeBytes, Date.now());
      store.enqueueTx('controlExec', Uint8Array.from(Buffer.from('a control execution record')), Date.now());
      const metrics = new Metrics();
      const uplink: Uplink = openMqttUplink({
        url: broker.url,
        clientId: vehicleId,
        backoff: { initialMs: 200 },
      });
      const sync = new ChunkSync({
        store,
        uplink,
        vehicleId,
        // The device's own key, and the storage node's public key from its config.
        ...testSyncKeys(),
        metrics,
        logger: silentLogger,
        ackTimeoutMs: 1000,
      });
      closers.push(
        () => store.close(),
        () => uplink.close(),
        () => sync.stop(),
      );
      await waitUntil(() => uplink.connected, 10_000, 'the car connected');
      return { vehicleId, store, sync, metrics, revokeSeq, revokeBytes };
    }

    /** The TSP's storage node: ingest on the broker, into a SQLite file. */
    async function storageNode() {
      run++;
      const nodeStore = new IngestStore({ path: join(dir, `node${run}.db`) });
      const link = openMqttIngestLink({ url: broker.url, clientId: `node-${run}`, reconnectMs: 300 });
      const keys = Object.fromEntries(
        Array.from({ length: run }, (_, i) => [`car-${i + 1}`, devicePublicKeyHex(TEST_DEVICE_KEY)]),
      );
      const ingest = new ChunkIngest({
        link,
        store: nodeStore,
        ...deviceVerifiers(keys),
        ackSigner: NODE,
        logger: silentLogger,
      });
      closers.push(
        () => nodeStore.close(),
        () => link.close(),
        () => ingest.stop(),
      );
      ingest.start();
      await waitUntil(() => link.connected, 10_000, 'the node connected');
      await sleep(200); // its SUBSCRIBE reaches the broker before anything is published
      return { nodeStore, ingest };
    }

    /** Another client of the broker, as a third party with publish rights on the car's topics. */
    async function intruder(clientId: string) {
      const link = openMqttIngestLink({ url: broker.url, clientId, reconnectMs: 300 });
      closers.push(() => link.close());
      await waitUntil(() => link.connected, 10_000, 'the intruder connected');
      return link;
    }

    it('a forged ack on down/ack and down/tx-ack from another broker client deletes nothing from the outbox', async () => {
      const c = await car();
      const evil = await intruder('intruder-a');
      const seen: { topic: string; payload: Uint8Array }[] = [];
      const forged: Promise<void>[] = [];
      const chunkIds = new Set<string>();
      const txs = new Map<number, string>();
      evil.onMessage((topic, payload) => {
        seen.push({ topic, payload });
        const ack = `qood/v1/${c.vehicleId}/down/ack`;
        const txAck = `qood/v1/${c.vehicleId}/down/tx-ack`;
        // Everything the car publishes names what a real ack would name: answer it at once.
        const ch = decodeChunkEnvelope(payload);
        if (topic.endsWith('/up/chunk') && ch.ok) chunkIds.add(ch.value.id);
        const de = decodeDescriptorEnvelope(payload);
        if (topic.endsWith('/up/descriptor') && de.ok) chunkIds.add(de.value.id);
        const tx = decodeTxEnvelope(payload);
        if (topic.endsWith('/up/tx') && tx.ok) txs.set(tx.value.seq, outboxTxId(c.vehicleId, tx.value));
        const ids = [...chunkIds];
        const entries = [...txs].map(([seq, id]) => ({ seq, id }));
        const raw = ids.map((h) => fromHex(h));
        const rawTxs = entries.map((e) => [e.seq, fromHex(e.id)]);
        const badSig = INTRUDER.sign(Uint8Array.of(1));
        forged.push(
          // The unsigned acks of the old protocol, and a guess of the first outbox seqs.
          evil.publish(ack, cbor.encode(raw)),
          evil.publish(txAck, cbor.encode([...txs.keys()])),
          evil.publish(txAck, cbor.encode([0, 1, 2, 3, 4])),
          // The right content ids, signed by the intruder's own key.
          evil.publish(ack, encodeAck(c.vehicleId, ids, INTRUDER)),
          evil.publish(txAck, encodeTxAck(c.vehicleId, entries, INTRUDER)),
          // Claiming to be the storage node, without its signature.
          evil.publish(ack, cbor.encode({ v: c.vehicleId, ids: raw, key: NODE.publicKey, sig: badSig })),
          evil.publish(txAck, cbor.encode({ v: c.vehicleId, txs: rawTxs, key: NODE.publicKey, sig: badSig })),
        );
      });
      await evil.subscribe(`qood/v1/${c.vehicleId}/up/#`);
      await sleep(200);
      c.sync.start();
      // The car publishes everything, again after each overdue ack (1 s), and gets only forgeries.
      await waitUntil(() => seen.length >= 6, 10_000, 'the intruder to see the car publish');
      await sleep(2500);
      await Promise.all(forged);
      expect(forged.length).toBeGreaterThan(0);
      expect(c.store.usage().chunks).toBe(3);
      expect(c.store.pendingDescriptors(10)).toHaveLength(1);
      expect(c.store.pendingTxs(10).map((t) => t.kind)).toEqual(['revoke', 'controlExec']);
      expect(c.metrics.counter('sync.acks.refused')).toBeGreaterThan(0);
      expect(c.metrics.counter('chunks.synced') + c.metrics.counter('txs.synced')).toBe(0);
      // The real storage node comes: its acks do delete.
      await storageNode();
      await waitUntil(
        () =>
          c.store.usage().chunks === 0 &&
          c.store.pendingDescriptors(1).length === 0 &&
          c.store.pendingTxs(1).length === 0,
        15_000,
        'the real acks to empty the outbox',
      );
    }, 40_000);

    it('a forged up/tx record from another client is refused by the node, and the real revoke is still acked and delivered', async () => {
      const c = await car();
      const n = await storageNode();
      const evil = await intruder('intruder-b');
      const txAcks: Uint8Array[] = [];
      evil.onMessage((topic, payload) => {
        if (topic.endsWith('/down/tx-ack')) txAcks.push(payload);
      });
      await evil.subscribe(`qood/v1/${c.vehicleId}/down/tx-ack`);
      // The intruder goes first, under the seq of the car's queued revoke: unsigned, as the old
      // protocol allowed, and signed with its own key.
      const forged = {
        seq: c.revokeSeq,
        kind: 'revoke',
        bytes: Uint8Array.from(Buffer.from('not the owner')),
      };
      const upTx = `qood/v1/${c.vehicleId}/up/tx`;
      await evil.publish(upTx, cbor.encode(forged));
      await evil.publish(upTx, encodeTxEnvelope(signTxEnvelope(c.vehicleId, forged, INTRUDER)));
      await sleep(1000);
      expect(n.nodeStore.listTxs({ vehicleId: c.vehicleId })).toEqual([]);
      expect(txAcks).toEqual([]);
      // Then the car syncs: its revoke reaches the node and is acknowledged.
      c.sync.start();
      await waitUntil(() => c.store.pendingTxs(1).length === 0, 15_000, 'the car outbox to empty');
      const stored = n.nodeStore.listTxs({ vehicleId: c.vehicleId });
      expect(stored.map((t) => [t.seq, t.kind])).toEqual([
        [c.revokeSeq, 'revoke'],
        [c.revokeSeq + 1, 'controlExec'],
      ]);
      expect(Buffer.from(stored[0]!.bytes).equals(Buffer.from(c.revokeBytes))).toBe(true);
      expect(n.ingest.counters()).toMatchObject({ 'ingest.txs.rejected': 1, 'ingest.garbage': 1 });
      // What the node acknowledged names the car's own records, by their record ids, under its key.
      const acked = txAcks.flatMap((p) => {
        const a = openTxAck(p, { vehicleId: c.vehicleId, nodeKeys: [NODE.publicKey] });
        return a.ok ? a.value.txs : [];
      });
      expect(acked).toEqual(stored.map((t) => ({ seq: t.seq, id: outboxTxId(c.vehicleId, t) })));
    }, 40_000);
  },
);
