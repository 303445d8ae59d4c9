/**
 * The chunk store and its sync: stored chunks/s of 4 KiB with synchronous FULL and NORMAL against
 * a raw better-sqlite3 insert loop on the same kind of file (the floor: what SQLite costs without
 * the store's checks, eviction query and counters), each put its own transaction as the agent
 * commits; then synced chunks/s through a real mosquitto to the ingest and back (acks deleting
 * on the device), when mosquitto is installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteChunkStore, type SealedChunkRecord } from '../../agent/store/index.js';
import { ChunkSync, openMqttUplink } from '../../agent/sync/index.js';
import { Ed25519Signer } from '../../chain/index.js';
import {
  ChunkIngest,
  devicePublicKeyHex,
  deviceVerifiers,
  IngestStore,
  openMqttIngestLink,
} from '../../node/ingest/index.js';
import { silentLogger } from '../../process/log.js';
import { Metrics } from '../../process/metrics.js';
import {
  makeRecord,
  makeSignedRecord,
  TEST_DEVICE_KEY,
  TEST_NODE_KEY,
  testSyncKeys,
} from '../support/chunks.js';
import { waitUntil } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';
import { findProgram } from '../support/system.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const N = 2000;
const SIZE = 4096;
let dir = '';
let broker: Mosquitto | undefined;
let files = 0;
const file = () => join(dir, `b${files++}.db`);

function putRate(records: readonly SealedChunkRecord[], synchronous: 'full' | 'normal'): number {
  const store = openSqliteChunkStore({ path: file(), synchronous });
  const t0 = performance.now();
  for (const r of records) store.put(r);
  const rate = records.length / ((performance.now() - t0) / 1000);
  store.close();
  return rate;
}

function rawRate(records: readonly SealedChunkRecord[], synchronous: 'FULL' | 'NORMAL'): number {
  const db = new Database(file());
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE c (ord INTEGER PRIMARY KEY, id TEXT UNIQUE, stream TEXT, seq INTEGER, bytes BLOB)');
  const ins = db.prepare('INSERT INTO c (id, stream, seq, bytes) VALUES (?, ?, ?, ?)');
  const t0 = performance.now();
  for (const r of records) ins.run(r.id, r.stream, r.seq, Buffer.from(r.bytes));
  const rate = records.length / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

async function syncRate(m: Mosquitto, run: number): Promise<number> {
  const vehicleId = `bench-${run}`;
  const store = openSqliteChunkStore({ path: file() });
  const nodeStore = new IngestStore({ path: file() });
  const link = openMqttIngestLink({ url: m.url, clientId: `node-${run}` });
  const uplink = openMqttUplink({ url: m.url, clientId: vehicleId });
  const metrics = new Metrics();
  const ingest = new ChunkIngest({
    link,
    store: nodeStore,
    ...deviceVerifiers({ [vehicleId]: devicePublicKeyHex(TEST_DEVICE_KEY) }),
    ackSigner: new Ed25519Signer(TEST_NODE_KEY),
    logger: silentLogger,
  });
  const sync = new ChunkSync({
    store,
    uplink,
    vehicleId,
    ...testSyncKeys(),
    metrics,
    logger: silentLogger,
    maxInFlight: 64,
  });
  try {
    ingest.start();
    await waitUntil(() => link.connected && uplink.connected, 10_000, 'clients connected');
    await new Promise((r) => setTimeout(r, 200));
    const n = 1000;
    for (let q = 0; q < n; q++) store.put(makeSignedRecord(`s${q % 4}`, q >> 2, { vehicleId, size: SIZE }));
    const t0 = performance.now();
    sync.start();
    await waitUntil(() => store.usage().chunks === 0, 60_000, 'all chunks acked', 2);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    sync.stop();
    ingest.stop();
    await uplink.close();
    await link.close();
    store.close();
    nodeStore.close();
  }
}

export const suite: BenchSuite = {
  name: 'store',
  figures: async () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-bench-store-'));
    const records = Array.from({ length: N }, (_, i) =>
      makeRecord(`s${i % 4}`, i >> 2, { size: SIZE, priority: i % 3 }),
    );
    const figures: BenchFigure[] = [
      {
        name: 'put 4 KiB chunks, synchronous FULL',
        unit: 'chunks/s',
        measure: () => putRate(records, 'full'),
        floor: { name: 'raw insert FULL', measure: () => rawRate(records, 'FULL') },
      },
      {
        name: 'put 4 KiB chunks, synchronous NORMAL',
        unit: 'chunks/s',
        measure: () => putRate(records, 'normal'),
        floor: { name: 'raw insert NORMAL', measure: () => rawRate(records, 'NORMAL') },
      },
      {
        name: 'put FULL vs NORMAL',
        unit: 'chunks/s',
        measure: () => putRate(records, 'full'),
        floor: { name: 'put NORMAL', measure: () => putRate(records, 'normal') },
        note: 'the price of surviving a power cut at every commit',
      },
    ];
    if (findProgram('mosquitto') !== undefined) {
      broker = await Mosquitto.start();
      let run = 0;
      const m = broker;
      figures.push({
        name: 'synced through mosquitto (store -> ingest -> ack -> delete)',
        unit: 'chunks/s',
        runs: 3,
        measure: () => syncRate(m, run++),
        note: '4 KiB chunks, 64 in flight, both SQLite files FULL',
      });
    }
    return figures;
  },
  teardown: async () => {
    await broker?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  },
};
