/**
 * Store -> uplink -> a real mosquitto -> ingest -> ack -> deleted on the device, with real SQLite
 * files on both sides; then the broker SIGKILLed mid-run for a minute and restarted, with chunks,
 * descriptors and queued transactions that must all arrive exactly once; then garbage published on
 * the device's ack topics by mosquitto_pub, an independent client.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { openSqliteChunkStore, type SqliteChunkStore } from '../../../agent/store/index.js';
import { ChunkSync, openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import { Ed25519Signer } from '../../../chain/index.js';
import {
  ChunkIngest,
  devicePublicKeyHex,
  deviceVerifiers,
  type IngestLink,
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
import { describeSystem, findProgram } from '../../support/system.js';

const STREAMS = ['can0/ENGINE_DATA', 'gnss', 'obd/010C'] as const;

describeSystem(
  'sync through a real mosquitto',
  [
    { bin: 'mosquitto', pkg: 'mosquitto' },
    { bin: 'mosquitto_pub', pkg: 'mosquitto-clients' },
  ],
  () => {
    let broker: Mosquitto;
    let dir: string;
    const closers: (() => unknown)[] = [];
    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'qood-sync-'));
    });
    afterEach(async () => {
      for (const c of closers.splice(0).reverse()) await c();
      if (!broker.running) await broker.restart(); // a failed test must not leave it down for the next
    });
    afterAll(async () => {
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    let run = 0;
    /** A device (SQLite store + sync) and a node (ingest + SQLite), both on the broker. */
    async function rig(options: { ackTimeoutMs?: number } = {}) {
      run++;
      const store: SqliteChunkStore = openSqliteChunkStore({ path: join(dir, `device${run}.db`) });
      const metrics = new Metrics();
      const uplink: Uplink = openMqttUplink({
        url: broker.url,
        clientId: `car-${run}`,
        backoff: { initialMs: 200, maxMs: 1000 },
      });
      const sync = new ChunkSync({
        store,
        uplink,
        vehicleId: `car-${run}`,
        ...testSyncKeys(),
        metrics,
        logger: silentLogger,
        maxInFlight: 16,
        ackTimeoutMs: options.ackTimeoutMs ?? 3000,
      });
      const nodeStore = new IngestStore({ path: join(dir, `node${run}.db`) });
      const link: IngestLink = openMqttIngestLink({
        url: broker.url,
        clientId: `node-${run}`,
        reconnectMs: 300,
      });
      const ingest = new ChunkIngest({
        link,
        store: nodeStore,
        ...deviceVerifiers({ [`car-${run}`]: devicePublicKeyHex(TEST_DEVICE_KEY) }),
        ackSigner: new Ed25519Signer(TEST_NODE_KEY),
        logger: silentLogger,
      });
      closers.push(
        () => store.close(),
        () => nodeStore.close(),
        () => uplink.close(),
        () => link.close(),
        () => sync.stop(),
        () => ingest.stop(),
      );
      ingest.start();
      await waitUntil(() => link.connected && uplink.connected, 10_000, 'both clients connected');
      // Let the ingest's SUBSCRIBE reach the broker before anything is published.
      await new Promise((r) => setTimeout(r, 200));
      const vehicleId = `car-${run}`;
      const put = (stream: string, seq: number) => {
        const r = makeSignedRecord(stream, seq, { vehicleId, size: 1024 });
        store.put(r);
        return r;
      };
      /** Cuts a batch as the data path does: the descriptor stored, and queued as a transaction. */
      const describe = (records: readonly ReturnType<typeof put>[]) => {
        const d = makeSignedDescriptor(records, { vehicleId });
        store.putDescriptor(d.id, d.bytes, Date.now());
        return { ...d, seq: store.enqueueTx('descriptor', d.bytes, Date.now()) };
      };
      return { store, metrics, sync, nodeStore, ingest, put, describe, vehicleId };
    }

    /** Every stream arrived complete, each chunk once, first arrivals in seq order. */
    function expectComplete(nodeStore: IngestStore, perStream: number): void {
      const rows = nodeStore.rows();
      expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
      for (const s of STREAMS)
        expect(rows.filter((r) => r.stream === s).map((r) => r.seq)).toEqual([...Array(perStream).keys()]);
    }

    it('delivers every stored chunk exactly once in per-stream order, and the device deletes each on its ack', async () => {
      const t = await rig();
      for (let q = 0; q < 100; q++) for (const s of STREAMS) t.put(s, q);
      t.sync.start();
      await waitUntil(() => t.store.usage().chunks === 0, 20_000, 'the device store to empty');
      expectComplete(t.nodeStore, 100);
      expect(t.metrics.counter('chunks.synced')).toBe(300);
      expect(t.metrics.counter('bytes.synced')).toBe(t.store.counters()['bytes.stored']);
      expect(t.ingest.counters()).toMatchObject({
        'ingest.stored': 300,
        'ingest.rejected': 0,
        'ingest.garbage': 0,
      });
      expect(t.store.counters()['chunks.acked']).toBe(300);
    });

    it('loses and duplicates nothing, chunks, descriptors or transactions, when the broker is SIGKILLed for a minute mid-run', async () => {
      const t = await rig({ ackTimeoutMs: 2000 });
      t.sync.start();
      let q = 0;
      let batch: ReturnType<typeof t.put>[] = [];
      const made: ReturnType<typeof t.describe>[] = [];
      // The vehicle keeps producing a chunk per stream every 300 ms through most of the outage, and
      // cuts a batch (a descriptor, queued as a transaction too) every 10 rounds.
      const producer = setInterval(() => {
        if (q >= 200) return;
        for (const s of STREAMS) batch.push(t.put(s, q));
        q++;
        if (q % 10 === 0) {
          made.push(t.describe(batch));
          batch = [];
        }
        t.sync.notify();
      }, 300);
      closers.push(() => clearInterval(producer));
      await waitUntil(
        () => t.nodeStore.count() >= 60 && t.nodeStore.descriptorCount() >= 1,
        20_000,
        'some chunks and a descriptor at the node',
      );
      await broker.kill();
      // What the ingest had received before the kill is stored with its next batch.
      await new Promise((r) => setTimeout(r, 300));
      const atKill = [t.nodeStore.count(), t.nodeStore.descriptorCount(), t.nodeStore.txCount()];
      await new Promise((r) => setTimeout(r, 59_700));
      // Nothing moved while the broker was down; the device kept it all.
      expect([t.nodeStore.count(), t.nodeStore.descriptorCount(), t.nodeStore.txCount()]).toEqual(atKill);
      expect(t.store.usage().chunks).toBeGreaterThan(0);
      expect(t.store.pendingDescriptors(100).length).toBeGreaterThan(0);
      expect(q).toBeGreaterThan(180); // produced during the outage
      await broker.restart();
      await waitUntil(
        () =>
          q >= 200 &&
          t.store.usage().chunks === 0 &&
          t.store.pendingDescriptors(1).length === 0 &&
          t.store.pendingTxs(1).length === 0,
        30_000,
        'the device store to empty',
      );
      expectComplete(t.nodeStore, 200);
      expect(t.metrics.counter('sync.connects')).toBeGreaterThanOrEqual(2);
      expect(t.metrics.counter('chunks.synced')).toBe(600);
      expect(t.ingest.counters()['ingest.stored']).toBe(600);
      // Every descriptor once, covering exactly the chunks it was cut over.
      expect(made).toHaveLength(20);
      const rows = t.nodeStore.descriptorRows();
      expect(rows.map((r) => r.id).sort()).toEqual(made.map((d) => d.id).sort());
      expect(t.ingest.counters()['ingest.descriptors.stored']).toBe(20);
      expect(t.metrics.counter('descriptors.synced')).toBe(20);
      for (const r of t.nodeStore.rows()) expect(t.nodeStore.descriptorsOfChunk(r.id)).toHaveLength(1);
      for (const d of made) {
        const parts = t.nodeStore.chunksOfDescriptor(d.id)!;
        expect(parts).toHaveLength(30);
        expect(parts.every((c) => c.bytes !== undefined)).toBe(true);
      }
      // Every queued transaction once, by (vehicle, seq), with the bytes that were queued.
      const txs = t.nodeStore.listTxs({ vehicleId: t.vehicleId });
      expect(txs.map((x) => x.seq).sort((a, b) => a - b)).toEqual(made.map((d) => d.seq));
      for (const x of txs) {
        expect(x.kind).toBe('descriptor');
        expect(Buffer.from(x.bytes).equals(Buffer.from(made.find((d) => d.seq === x.seq)!.bytes))).toBe(true);
      }
      expect(t.ingest.counters()['ingest.txs.stored']).toBe(20);
      expect(t.metrics.counter('txs.synced')).toBe(20);
    }, 110_000);

    it('counts and shrugs off garbage on every ack and uplink topic, then still deletes on real acks', async () => {
      const t = await rig();
      const pub = (topic: string, message: string) =>
        spawnSync(findProgram('mosquitto_pub')!, [
          ...['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1'],
          ...['-t', `qood/v1/${t.vehicleId}/${topic}`, '-m', message],
        ]);
      const first = [0, 1, 2, 3, 4].map((q) => t.put(STREAMS[0], q));
      t.describe(first);
      t.sync.start();
      // Once acks flow, the device's subscriptions are in place at the broker.
      await waitUntil(
        () => t.store.usage().chunks === 0 && t.store.pendingTxs(1).length === 0,
        10_000,
        'the first chunks, descriptor and transaction to be acked',
      );
      const garbage = ['hello', '{"ack":["x"]}', '\u00ff\u00ff', ''];
      for (const topic of ['down/ack', 'down/tx-ack', 'up/descriptor', 'up/tx'])
        for (const m of garbage) expect(pub(topic, m).status).toBe(0);
      await waitUntil(
        () => t.metrics.counter('sync.garbage') === 8 && t.ingest.counters()['ingest.garbage'] === 8,
        5000,
        'the garbage to be counted on both sides',
      );
      const later = [5, 6, 7, 8, 9].map((q) => t.put(STREAMS[0], q));
      const d = t.describe(later);
      t.sync.notify();
      await waitUntil(
        () =>
          t.store.usage().chunks === 0 &&
          t.store.pendingDescriptors(1).length === 0 &&
          t.store.pendingTxs(1).length === 0,
        10_000,
        'the later chunks, descriptor and transaction to be acked',
      );
      expect(t.nodeStore.rows().map((r) => r.seq)).toEqual([...Array(10).keys()]);
      expect(t.nodeStore.chunksOfDescriptor(d.id)!.map((c) => c.id)).toEqual(later.map((r) => r.id));
      expect(t.nodeStore.listTxs().map((x) => x.seq)).toEqual([1, 2]);
      expect(t.metrics.counter('sync.connects')).toBe(1);
    });
  },
);
