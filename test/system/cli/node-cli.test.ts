/**
 * `qood node -c FILE` with an `ingest` section, as a TSP runs it: the compiled CLI in its own
 * process takes a device's chunks, descriptor and queued transaction from a real mosquitto, stores
 * them in its SQLite file and acks them, reports its counters on `qood status`, and stops cleanly
 * on SIGTERM.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteChunkStore } from '../../../agent/store/index.js';
import { ChunkSync, openMqttUplink } from '../../../agent/sync/index.js';
import { devicePublicKeyHex, IngestStore } from '../../../node/ingest/index.js';
import { writeKeyFile } from '../../../node/runtime/local-genesis.js';
import { silentLogger } from '../../../process/log.js';
import { Metrics } from '../../../process/metrics.js';
import {
  makeSignedDescriptor,
  makeSignedRecord,
  TEST_DEVICE_KEY,
  TEST_NODE_KEY,
  testSyncKeys,
} from '../../support/chunks.js';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

describeSystem('qood node with the ingest role', [{ bin: 'mosquitto', pkg: 'mosquitto' }], () => {
  let broker: Mosquitto;
  let dir: string;
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'qood-node-cli-'));
  });
  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores and acknowledges a device’s chunks, descriptor and transaction, and rejects a vehicle it has no key for', async () => {
    const socket = join(dir, 'node.sock');
    // An ingest-only node signs its acks with the key its ingest section names.
    const nodeKeyFile = join(dir, 'node.key');
    writeKeyFile(nodeKeyFile, TEST_NODE_KEY);
    const config = join(dir, 'node.yaml');
    writeFileSync(
      config,
      [
        'node:',
        `  dataDir: ${dir}`,
        `  socketPath: ${socket}`,
        'ingest:',
        `  broker: ${broker.url}`,
        '  clientId: node-cli',
        `  keyFile: ${nodeKeyFile}`,
        '  deviceKeys:',
        `    car-1: ${devicePublicKeyHex(TEST_DEVICE_KEY)}`,
        '',
      ].join('\n'),
    );
    const node = startQood(['node', '-c', config]);
    const out = collectOutput(node);
    const store = openSqliteChunkStore({ path: join(dir, 'device.db') });
    const uplink = openMqttUplink({ url: broker.url, clientId: 'car-1' });
    const metrics = new Metrics();
    const sync = new ChunkSync({
      store,
      uplink,
      vehicleId: 'car-1',
      ...testSyncKeys(),
      metrics,
      logger: silentLogger,
    });
    const records = [...Array(50).keys()].map((q) => makeSignedRecord('can0/ENGINE', q, { size: 512 }));
    const d = makeSignedDescriptor(records);
    try {
      await waitUntil(
        () => out.stdout().split('ingest subscribed').length > 3,
        15_000,
        'the node to subscribe to chunks, descriptors and transactions',
      );
      for (const r of records) store.put(r);
      store.putDescriptor(d.id, d.bytes, Date.now());
      store.enqueueTx('descriptor', d.bytes, Date.now());
      sync.start();
      await waitUntil(
        () =>
          store.usage().chunks === 0 &&
          store.pendingDescriptors(1).length === 0 &&
          store.pendingTxs(1).length === 0,
        15_000,
        'the device store to empty',
      );
      // A vehicle the node has no key for: published, never acknowledged.
      const stranger = openMqttUplink({ url: broker.url, clientId: 'car-2' });
      const strangerStore = openSqliteChunkStore({ path: join(dir, 'stranger.db') });
      const strangerSync = new ChunkSync({
        store: strangerStore,
        uplink: stranger,
        vehicleId: 'car-2',
        ...testSyncKeys(),
        metrics: new Metrics(),
        logger: silentLogger,
      });
      strangerStore.put(makeSignedRecord('gnss', 0, { vehicleId: 'car-2' }));
      strangerSync.start();
      await waitUntil(() => out.stdout().includes('rejected a chunk'), 10_000, 'the rejection to be logged');
      expect(out.stdout()).toMatch(/no device key bound to vehicle 'car-2'/);
      expect(strangerStore.usage().chunks).toBe(1);
      strangerSync.stop();
      await stranger.close();
      strangerStore.close();

      const status = runQood(['status', '--socket', socket, '--json']);
      expect(status.status).toBe(0);
      const counters = JSON.parse(status.stdout).counters as Record<string, number>;
      expect(counters).toMatchObject({
        'ingest.stored': 50,
        'ingest.rejected': 1,
        'ingest.descriptors.stored': 1,
        'ingest.txs.stored': 1,
      });
    } finally {
      sync.stop();
      await uplink.close();
      store.close();
      node.kill('SIGTERM');
    }
    expect((await waitExit(node, 10_000)).code).toBe(0);
    const ingest = new IngestStore({ path: join(dir, 'ingest.db') });
    expect(ingest.rows().map((r) => r.seq)).toEqual([...Array(50).keys()]);
    expect(ingest.chunksOfDescriptor(d.id)?.filter((c) => c.bytes !== undefined)).toHaveLength(50);
    expect(ingest.listTxs().map((x) => [x.vehicleId, x.seq, x.kind])).toEqual([['car-1', 1, 'descriptor']]);
    ingest.close();
  });
});
