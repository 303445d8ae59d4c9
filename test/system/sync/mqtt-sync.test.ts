/**
 * Store -> uplink -> a real mosquitto -> ingest -> ack -> deleted on the device, with real SQLite
 * files on both sides; then the broker SIGKILLed mid-run and restarted seconds later; then garbage
 * published on the device's ack topic by mosquitto_pub, an independent client.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../../agent/log.js';
import { Metrics } from '../../../agent/metrics.js';
import { openSqliteChunkStore, type SqliteChunkStore } from '../../../agent/store/index.js';
import { ChunkSync, openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import {
  ChunkIngest,
  devicePublicKeyHex,
  type IngestLink,
  IngestStore,
  openMqttIngestLink,
  sealedChunkVerifier,
  sealedDescriptorVerifier,
} from '../../../chain/node/ingest/index.js';
import { makeSignedRecord, TEST_DEVICE_KEY } from '../../support/chunks.js';
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
        verifyChunk: sealedChunkVerifier({ [`car-${run}`]: devicePublicKeyHex(TEST_DEVICE_KEY) }),
        verifyDescriptor: sealedDescriptorVerifier({ [`car-${run}`]: devicePublicKeyHex(TEST_DEVICE_KEY) }),
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
      const put = (stream: string, seq: number) =>
        store.put(makeSignedRecord(stream, seq, { vehicleId: `car-${run}`, size: 1024 }));
      return { store, metrics, sync, nodeStore, ingest, put, vehicleId: `car-${run}` };
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

    it('loses nothing and duplicates nothing when the broker is SIGKILLed mid-run and restarted 5 s later', async () => {
      const t = await rig({ ackTimeoutMs: 2000 });
      t.sync.start();
      let q = 0;
      // The vehicle keeps producing a chunk per stream every 20 ms, through the outage.
      const producer = setInterval(() => {
        if (q >= 200) return;
        for (const s of STREAMS) t.put(s, q);
        q++;
        t.sync.notify();
      }, 20);
      closers.push(() => clearInterval(producer));
      await waitUntil(() => t.nodeStore.count() >= 60, 10_000, 'some chunks at the node');
      await broker.kill();
      // What the ingest had received before the kill is stored with its next batch.
      await new Promise((r) => setTimeout(r, 300));
      const atKill = t.nodeStore.count();
      await new Promise((r) => setTimeout(r, 4700));
      expect(t.nodeStore.count()).toBe(atKill); // nothing moved while the broker was down
      expect(t.store.usage().chunks).toBeGreaterThan(0);
      await broker.restart();
      await waitUntil(() => q >= 200 && t.store.usage().chunks === 0, 30_000, 'the device store to empty');
      expectComplete(t.nodeStore, 200);
      expect(t.metrics.counter('sync.connects')).toBeGreaterThanOrEqual(2);
      expect(t.metrics.counter('chunks.synced')).toBe(600);
      expect(t.ingest.counters()['ingest.stored']).toBe(600);
    }, 60_000);

    it('counts and shrugs off garbage on the downlink, then still deletes on a real ack', async () => {
      const t = await rig();
      const pub = (message: string) =>
        spawnSync(findProgram('mosquitto_pub')!, [
          ...['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1'],
          ...['-t', `qood/v1/${t.vehicleId}/down/ack`, '-m', message],
        ]);
      for (let q = 0; q < 5; q++) t.put(STREAMS[0], q);
      t.sync.start();
      // Once acks flow, the device's subscription is in place at the broker.
      await waitUntil(() => t.store.usage().chunks === 0, 10_000, 'the first chunks to be acked');
      for (const m of ['hello', '{"ack":["x"]}', '\u00ff\u00ff', '']) expect(pub(m).status).toBe(0);
      await waitUntil(() => t.metrics.counter('sync.garbage') === 4, 5000, 'the garbage to be counted');
      for (let q = 5; q < 10; q++) t.put(STREAMS[0], q);
      t.sync.notify();
      await waitUntil(() => t.store.usage().chunks === 0, 10_000, 'the later chunks to be acked');
      expect(t.nodeStore.rows().map((r) => r.seq)).toEqual([...Array(10).keys()]);
      expect(t.metrics.counter('sync.connects')).toBe(1);
    });
  },
);
