/**
 * The data path end to end through a real mosquitto: the simulated car on an in-memory CAN bus ->
 * the real agent (decode, collect, chunk, seal, SQLite store, MQTT sync) -> mosquitto -> the node's
 * ingest (sealed-chunk and descriptor verification, SQLite) -> ack -> deleted on the device. Then,
 * as the owner: every chunk the node holds verifies, and decrypted they are exactly the samples the
 * agent's collection kept, computed independently from the decoded samples; every descriptor the
 * agent cut is at the node (and queued there as a transaction for the chain), together they list
 * exactly the chunks the node holds, and a buyer's `verifyBatch` passes on each with the node's
 * chunk bytes and the owner's keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Collector } from '../../../agent/collect/index.js';
import { collectSchema } from '../../../agent/config/collect.js';
import { agentConfigSchema } from '../../../agent/config/index.js';
import { type RunningAgent, startAgent } from '../../../agent/main/start-agent.js';
import { type Batch, loadOrCreateDeviceKey } from '../../../agent/seal/index.js';
import {
  bytesEqual,
  checkSealedChunk,
  createBinding,
  decodeChunkBody,
  Ed25519Signer,
  openChunkBody,
  openDescriptor,
  ownerEpochKey,
  ownerIdentity,
  type Sample,
  seedFromMnemonic,
  toHex,
  vehicleDataRoot,
  verifyBatch,
} from '../../../chain/index.js';
import { ChunkIngest, deviceVerifiers, IngestStore, openMqttIngestLink } from '../../../node/ingest/index.js';
import { silentLogger } from '../../../process/log.js';
import { noopNotifier } from '../../../process/service.js';
import { SIM_DBC_PATH, SIM_MAP_PATH } from '../../../simulators/vehicle/can-frames.js';
import { TEST_NODE_KEY } from '../../support/chunks.js';
import { waitUntil } from '../../support/cli.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { SimCar } from '../../support/sim-car.js';
import { describeSystem } from '../../support/system.js';
import { VECTOR_MNEMONIC } from '../../vectors/generate-data.js';

const COLLECT = {
  schemes: [
    { name: 'drive', kind: 'periodic', periodMs: 500, signals: ['Vehicle.Speed', 'Vehicle.Powertrain.*'] },
    { name: 'body', kind: 'on-change', deadband: 1, signals: ['Vehicle.*'] },
  ],
  chunk: { maxSamples: 300, maxAgeMs: 2000 },
};

describeSystem('the data path through a real mosquitto', [{ bin: 'mosquitto', pkg: 'mosquitto' }], () => {
  let broker: Mosquitto;
  let dir: string;
  let agent: RunningAgent | undefined;
  const closers: (() => unknown)[] = [];
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'qood-e2e-'));
  });
  afterAll(async () => {
    await agent?.stop();
    for (const c of closers.reverse()) await c();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every chunk and descriptor arrives once and verifies; the chunks decrypt to the samples that went in, and the descriptors cover exactly them', async () => {
    const seed = seedFromMnemonic(VECTOR_MNEMONIC);
    const device = loadOrCreateDeviceKey(dir);
    writeFileSync(
      join(dir, 'binding.cbor'),
      createBinding({
        vehicleId: 'e2e-car',
        devicePublicKey: device.publicKey,
        ownerSecretKey: ownerIdentity(seed).secretKey,
        dataRoot: vehicleDataRoot(seed, 'e2e-car'),
        epochLengthS: 600,
        issuedMs: Date.now(),
      }),
    );
    // The node: ingest into its own SQLite, checking chunks against the device key it was told,
    // and signing its acks with the key the agent's config names.
    const nodeKey = new Ed25519Signer(TEST_NODE_KEY);
    const nodeStore = new IngestStore({ path: join(dir, 'node.db') });
    const link = openMqttIngestLink({ url: broker.url, clientId: 'node-e2e', reconnectMs: 300 });
    const ingest = new ChunkIngest({
      link,
      store: nodeStore,
      ...deviceVerifiers({ 'e2e-car': toHex(device.publicKey) }),
      ackSigner: nodeKey,
      logger: silentLogger,
    });
    closers.push(
      () => nodeStore.close(),
      () => link.close(),
      () => ingest.stop(),
    );
    ingest.start();
    await waitUntil(() => link.connected, 10_000, 'the ingest connected');
    await new Promise((r) => setTimeout(r, 200));

    // The agent, with the car 20x faster than real time on its CAN bus.
    const sim = new SimCar({ startMs: Date.UTC(2026, 10, 25, 8, 0, 0), seed: 11 });
    const decoded: Sample[] = [];
    const batches: Batch[] = [];
    let sealedSamples = 0;
    agent = await startAgent({
      config: agentConfigSchema.parse({
        device: { vehicleId: 'e2e-car', dataDir: dir, socketPath: join(dir, 'agent.sock') },
        sources: { can: [{ interface: 'sim0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
        sync: { broker: broker.url, ackTimeoutMs: 3000, nodeKeys: [toHex(nodeKey.publicKey)] },
        collect: COLLECT,
      }),
      logger: silentLogger,
      notifier: noopNotifier,
      openCanBus: sim.openCanBus,
      nowMs: sim.nowMs,
      onSamples: (s) => decoded.push(...s),
      onChunkStored: (c) => {
        sealedSamples += c.sampleCount;
      },
      onBatch: (b) => batches.push(b),
    });
    // Two batches cut mid-drive (as batchMaxChunks or batchMaxAgeMs would), the last at the end.
    await sim.drive(90_000, 20, (t) => {
      if (t === 30_000 || t === 60_000) agent?.flush();
    });
    // Ninety simulated seconds driven; let the open chunks age out (the agent ticks every second).
    sim.simMs += 10_000;
    const expected: Sample[] = [];
    new Collector({ config: collectSchema.parse(COLLECT), sink: (_s, sample) => expected.push(sample) }).add(
      decoded,
    );
    const running = agent;
    await waitUntil(() => sealedSamples === expected.length, 30_000, 'every collected sample sealed');
    running.flush();
    await waitUntil(
      () =>
        running.store!.usage().chunks === 0 &&
        running.store!.pendingDescriptors(1).length === 0 &&
        running.store!.pendingTxs(1).length === 0,
      30_000,
      'every chunk, descriptor and queued transaction synced and acknowledged',
    );

    const sealed = agent.metrics.counter('chunks.sealed');
    const rows = nodeStore.rows();
    expect(rows).toHaveLength(sealed);
    expect(new Set(rows.map((r) => r.id)).size).toBe(sealed);
    expect(ingest.counters()['ingest.rejected']).toBe(0);
    expect(agent.store!.counters()['chunks.acked']).toBe(sealed);

    // The owner decrypts what the node holds.
    const root = vehicleDataRoot(seed, 'e2e-car');
    const got: Sample[] = [];
    for (const r of rows) {
      const c = checkSealedChunk(nodeStore.chunkBytes(r.id)!, device.publicKey);
      const body = openChunkBody(
        ownerEpochKey(root, c.header.stream, c.header.keyEpoch),
        c.header,
        c.ciphertext,
      );
      got.push(...decodeChunkBody(body));
    }
    const key = (s: Sample) => `${s.tUs} ${s.path} ${String(s.value)}`;
    expect(got.map(key).sort()).toEqual(expected.map(key).sort());
    expect(got.length).toBeGreaterThan(1000);

    // Every descriptor the agent cut is at the node, once, and verifies against the device key.
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches).toHaveLength(agent.metrics.counter('descriptors.made'));
    const atNode = nodeStore.descriptorRows();
    expect(atNode.map((d) => d.id).sort()).toEqual(batches.map((b) => b.id).sort());
    expect(ingest.counters()['ingest.descriptors.rejected']).toBe(0);
    // Together they list exactly the chunks the node holds, each chunk in one descriptor.
    const listed: string[] = [];
    let verifiedSamples = 0;
    for (const d of atNode) {
      const bytes = nodeStore.descriptorBytes(d.id)!;
      const opened = openDescriptor(bytes);
      expect(toHex(opened.id)).toBe(d.id);
      expect(opened.descriptor.vehicleId).toBe('e2e-car');
      expect(bytesEqual(opened.descriptor.devicePublicKey, device.publicKey)).toBe(true);
      const parts = nodeStore.chunksOfDescriptor(d.id)!;
      expect(parts.map((c) => c.id)).toEqual(opened.descriptor.chunkIds.map(toHex));
      listed.push(...parts.map((c) => c.id));
      for (const c of parts) expect(nodeStore.descriptorsOfChunk(c.id).map((x) => x.id)).toEqual([d.id]);
      // What a buyer sold this batch with the owner's keys checks.
      const report = verifyBatch({
        descriptor: bytes,
        chunks: parts.map((c) => c.bytes!),
        keys: (stream, dataClass, epoch) =>
          dataClass === 'owner' ? ownerEpochKey(root, stream, epoch) : undefined,
      });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      verifiedSamples += report.samples.length;
    }
    expect(listed.sort()).toEqual(rows.map((r) => r.id).sort());
    expect(verifiedSamples).toBe(expected.length);
    // And each is queued at the node, once, as a transaction for the chain.
    const txs = nodeStore.listTxs({ vehicleId: 'e2e-car' });
    expect(txs.map((x) => x.kind)).toEqual(batches.map(() => 'descriptor'));
    expect(txs.map((x) => toHex(x.bytes)).sort()).toEqual(batches.map((b) => toHex(b.bytes)).sort());
  }, 120_000);
});
