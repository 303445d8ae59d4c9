/**
 * Fuzzing the MQTT payload handlers as the broker delivers to them (a capturing link in place of the
 * broker, so an exception a handler lets out reaches the property instead of a client library):
 * the agent's downlink (down/grant, down/revoke, control/<id>/cmd, listen/<id>/pull, down/ack,
 * down/tx-ack) and the node's ingest (up/chunk, up/descriptor, up/tx, on a real SQLite file).
 * Payloads are arbitrary bytes and mutations of valid messages. Every handler refuses what it cannot
 * use, counts it and goes on: nothing escapes, nothing is counted as an internal error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signOwnerRevoke } from '../../agent/permissions/issue.js';
import { MemoryChunkStore } from '../../agent/store/index.js';
import { ChunkSync } from '../../agent/sync/index.js';
import {
  Ed25519Signer,
  encodeAck,
  encodeChunkEnvelope,
  encodeDescriptorEnvelope,
  encodeTxAck,
  encodeTxEnvelope,
  signPull,
  signTxEnvelope,
  toHex,
} from '../../chain/index.js';
import { ChunkIngest, devicePublicKeyHex, deviceVerifiers, IngestStore } from '../../node/ingest/index.js';
import { silentLogger } from '../../process/log.js';
import { Metrics } from '../../process/metrics.js';
import {
  makeRecord,
  makeSignedDescriptor,
  makeSignedRecord,
  TEST_DEVICE_KEY,
  TEST_NODE_KEY,
} from '../support/chunks.js';
import { fuzz, mutatedBytes, mutatedCbor, mutatedCborMap } from '../support/fuzz.js';
import { parked, permissionRig } from '../support/permissions.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-fuzz-mqtt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const settle = async () => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
};

/** Stands in for the broker connection: records listeners and calls them synchronously. */
class CapturingLink {
  connected = true;
  readonly published: { topic: string; payload: Uint8Array }[] = [];
  readonly #listeners = new Set<(topic: string, payload: Uint8Array) => void>();
  async publish(topic: string, payload: Uint8Array): Promise<void> {
    this.published.push({ topic, payload });
  }
  async subscribe(): Promise<void> {}
  onMessage(l: (topic: string, payload: Uint8Array) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  onConnect(): () => void {
    return () => {};
  }
  onDisconnect(): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
  /** Delivers as the broker would; a handler's exception propagates to the caller. */
  deliver(topic: string, payload: Uint8Array): void {
    for (const l of this.#listeners) l(topic, payload);
  }
}

describe("the agent's downlink handlers", () => {
  it('down/grant, down/revoke, control cmd and listen pull: refused and counted, never an exception', async () => {
    const link = new CapturingLink();
    const rig = permissionRig({ uplink: link });
    parked(rig);
    rig.perms.start();
    // Capture the grant bundles the rig installs, as samples of a real down/grant payload.
    const bundles: Uint8Array[] = [];
    const registry = rig.perms.registry;
    const install = registry.install.bind(registry);
    registry.install = (bytes, source) => {
      bundles.push(bytes);
      return install(bytes, source);
    };
    const control = rig.grant('control', ['flash-lights']);
    const listen = rig.grant('listen', ['Vehicle.Speed']);
    registry.install = install;
    const t = rig.perms.topics;
    const revokes = [
      signOwnerRevoke({
        ownerSecretKey: rig.owner.secretKey,
        grantId: '77'.repeat(32),
        chainId: 'qood-test',
      }),
    ];
    const commands = [rig.command(control, 'flash-lights'), rig.command(control, 'lock', { args: { x: 1 } })];
    const pulls = [
      signPull({ grantId: listen, nonce: '05'.repeat(16), issuedMs: rig.clock.nowMs }, rig.grantee.signer),
    ];
    const cases: [string, string, Uint8Array[], typeof mutatedCbor][] = [
      ['down/grant', t.grant, bundles, mutatedCbor],
      ['down/revoke', t.revoke, revokes, mutatedCbor],
      ['control cmd', t.command(control), commands, mutatedCbor],
      ['listen pull', t.pull(listen), pulls, mutatedCbor],
    ];
    for (const [, topic, samples, mutate] of cases)
      fuzz(150, [mutate(samples)], (payload) => {
        link.deliver(topic, payload);
      });
    await Promise.allSettled([...rig.perms.inFlight]);
    await rig.perms.stop();
    // An exception inside command handling is caught at the top and counted here: none may occur.
    expect(rig.metrics.counter('control.errors')).toBe(0);
    // The handlers were reached: every mutated bundle was received (and refused unless intact).
    expect(rig.metrics.counter('grants.received')).toBeGreaterThanOrEqual(150);
  });

  it('down/ack and down/tx-ack: only a trusted signed ack deletes anything; garbage never throws', async () => {
    const link = new CapturingLink();
    const store = new MemoryChunkStore();
    for (let seq = 0; seq < 4; seq++) store.put(makeRecord('drive', seq));
    store.enqueueTx('revoke', Uint8Array.of(0x52), 0);
    const node = new Ed25519Signer(TEST_NODE_KEY);
    const metrics = new Metrics();
    const sync = new ChunkSync({
      store,
      uplink: link,
      vehicleId: 'car-1',
      device: new Ed25519Signer(TEST_DEVICE_KEY),
      nodeKeys: [node.publicKey],
      metrics,
      logger: silentLogger,
    });
    sync.start();
    const intruder = new Ed25519Signer(new Uint8Array(32).fill(0x66));
    const acks = [
      encodeAck('car-1', ['aa'.repeat(32)], intruder),
      encodeAck('car-2', ['bb'.repeat(32)], node),
    ];
    const txAcks = [encodeTxAck('car-1', [{ seq: 1, id: 'cc'.repeat(32) }], intruder)];
    const pending = store.unsynced(100).length;
    const queued = store.pendingTxs(10).length;
    fuzz(300, [mutatedCborMap(acks)], (payload) => link.deliver('qood/v1/car-1/down/ack', payload));
    fuzz(200, [mutatedCborMap(txAcks)], (payload) => link.deliver('qood/v1/car-1/down/tx-ack', payload));
    sync.stop();
    await settle();
    // None of the mutations carries a trusted node's signature for this car: nothing was deleted.
    expect(metrics.counter('sync.garbage') + metrics.counter('sync.acks.refused')).toBeGreaterThan(0);
    expect(store.unsynced(100).length).toBe(pending);
    expect(store.pendingTxs(10).length).toBe(queued);
  });
});

describe("the node's ingest handlers", () => {
  it('up/chunk, up/descriptor and up/tx: refused and counted, never an exception or an internal error', async () => {
    const link = new CapturingLink();
    const store = new IngestStore({ path: join(dir, 'ingest.db') });
    const KEYS = { 'car-1': devicePublicKeyHex(TEST_DEVICE_KEY) };
    const ingest = new ChunkIngest({
      link,
      store,
      ...deviceVerifiers(KEYS),
      ackSigner: new Ed25519Signer(TEST_NODE_KEY),
      logger: silentLogger,
    });
    ingest.start();
    const records = [makeSignedRecord('drive', 0), makeSignedRecord('drive', 1)];
    const chunks = records.map((r) =>
      encodeChunkEnvelope({ id: r.id, stream: r.stream, seq: r.seq, bytes: r.bytes }),
    );
    const d = makeSignedDescriptor(records);
    const descriptors = [encodeDescriptorEnvelope({ id: d.id, bytes: d.bytes })];
    const device = new Ed25519Signer(TEST_DEVICE_KEY);
    const txs = [
      encodeTxEnvelope(
        signTxEnvelope('car-1', { seq: 1, kind: 'revoke', bytes: Uint8Array.of(1, 2, 3) }, device),
      ),
    ];
    fuzz(300, [mutatedCborMap(chunks)], (p) => link.deliver('qood/v1/car-1/up/chunk', p));
    fuzz(150, [mutatedCborMap(descriptors)], (p) => link.deliver('qood/v1/car-1/up/descriptor', p));
    fuzz(150, [mutatedCborMap(txs)], (p) => link.deliver('qood/v1/car-1/up/tx', p));
    fuzz(100, [mutatedBytes(chunks)], (p) => link.deliver(`qood/v1/${toHex(p.subarray(0, 3))}/up/chunk`, p));
    await settle();
    ingest.stop();
    await settle();
    expect(ingest.counters()['ingest.errors']).toBe(0);
    expect(ingest.counters()['ingest.received']).toBeGreaterThanOrEqual(300);
    expect(ingest.counters()['ingest.txs.received']).toBeGreaterThanOrEqual(150);
    store.close();
  });
});
