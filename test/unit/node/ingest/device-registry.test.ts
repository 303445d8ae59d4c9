/**
 * The ingest learns devices from the chain (issue 16): the device keys an owner bound on chain
 * (`registerVehicle`, `bindDevice`) at the node's final state are the keys whose chunks,
 * descriptors and queued transactions are served; a binding made after start is served at the next
 * final state, a key removed from the vehicle's record is refused from then on, and the static
 * `ingest.deviceKeys` map overrides the chain for the vehicles it names. States are built with the
 * chain's own state machine (test/unit/chain/chain-fixture.ts), as a node's final state would be.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../../../agent/sync/index.js';
import {
  type ChainState,
  chainVehicleId,
  Ed25519Signer,
  encodeChunkEnvelope,
  getRecord,
  openAck,
  type SignedTx,
  sha256,
  signTxEnvelope,
  stateKey,
  toHex,
  type Vehicle,
} from '../../../../chain/index.js';
import { Draft } from '../../../../chain/state/state.js';
import {
  ChunkIngest,
  DeviceRegistry,
  deviceVerifiers,
  IngestStore,
  sealedChunkVerifier,
  sealedDescriptorVerifier,
  sealedTxVerifier,
} from '../../../../node/ingest/index.js';
import { silentLogger } from '../../../../process/log.js';
import { makeSignedDescriptor, sealTestChunk, TEST_NODE_KEY } from '../../../support/chunks.js';
import { addr, block, genesis, keys, reason, tx } from '../../chain/chain-fixture.js';

const { alice, bob } = keys;
const CAR = 'car-7';
const OTHER_CAR = 'car-8';
/** Device secrets (the fixture's signers keep theirs), and their signers. */
const secretOf = (label: string) => sha256(new TextEncoder().encode(`registry-test/${label}`));
const D1 = new Ed25519Signer(secretOf('device-one'));
const D2 = new Ed25519Signer(secretOf('device-two'));
const MALLORY = new Ed25519Signer(secretOf('mallory'));
const SECRETS = new Map(
  [D1, D2, MALLORY].map((k, i) => [k, secretOf(['device-one', 'device-two', 'mallory'][i]!)]),
);
const secretKeyOf = (k: Ed25519Signer) => SECRETS.get(k)!;

const tick = () => new Promise((r) => setImmediate(r));
const dir = mkdtempSync(join(tmpdir(), 'qood-device-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sealed(vehicleId: string, signer: Ed25519Signer, seq = 1): { bytes: Uint8Array; id: string } {
  return sealTestChunk({ vehicleId, stream: 'can', seq }, Uint8Array.of(1, 2, 3, seq), secretKeyOf(signer));
}
const chunk = (vehicleId: string, signer: Ed25519Signer, seq = 1) => sealed(vehicleId, signer, seq).bytes;

/** A registry reading `final()`, as the node's ingest reads its chain role's last final state. */
function registryOn(final: () => ChainState, staticKeys: Record<string, string> = {}) {
  return new DeviceRegistry({ staticKeys, finalState: final });
}

/** alice registers CAR; the state after it. */
function registered(): ChainState {
  const s = genesis();
  return block(s, tx(s, alice, 'registerVehicle', { vehicle: chainVehicleId(CAR) }));
}

function bind(s: ChainState, owner: Ed25519Signer, vehicleId: string, device: Ed25519Signer): ChainState {
  return block(s, tx(s, owner, 'bindDevice', { vehicle: chainVehicleId(vehicleId), device: addr(device) }));
}

/**
 * The state with the vehicle record's device list replaced, as an unbinding would leave it. The
 * chain has no transaction that removes a device yet, so the record is written directly: what is
 * tested is that the registry follows the final state's record, whatever changed it.
 */
function withDevices(s: ChainState, vehicleId: string, devices: readonly Ed25519Signer[]): ChainState {
  const d = new Draft(s);
  const id = chainVehicleId(vehicleId);
  const v = getRecord<Vehicle>(s.tree, stateKey.vehicle(id))!;
  d.setVehicle(id, { ...v, devices: devices.map(addr).sort() });
  return d.finish(s.height + 1, s.timeMs + 500, Uint8Array.of(s.height + 1));
}

const verdict = (verify: (b: Uint8Array) => { ok: boolean; reason?: string }, bytes: Uint8Array) => {
  const v = verify(bytes) as { ok: true } | { ok: false; reason: string };
  return v.ok ? 'ok' : v.reason;
};

describe('DeviceRegistry: device keys from the chain', () => {
  it('serves a device from the final state its binding is in, without a new registry', () => {
    let final = registered();
    const registry = registryOn(() => final);
    const verify = sealedChunkVerifier(registry);
    expect(verdict(verify, chunk(CAR, D1))).toBe(
      `chunk: no device key bound to vehicle '${CAR}' (chain at final height ${final.height})`,
    );
    final = bind(final, alice, CAR, D1);
    expect(verdict(verify, chunk(CAR, D1))).toBe('ok');
    expect(registry.vehicleIdOf(chainVehicleId(CAR))).toBe(CAR);
  });

  it('refuses an unregistered vehicle with a reason naming the chain height', () => {
    const final = registered();
    expect(verdict(sealedChunkVerifier(registryOn(() => final)), chunk('car-unknown', D1))).toBe(
      `chunk: no device key bound to vehicle 'car-unknown' (chain at final height ${final.height}: vehicle not registered)`,
    );
  });

  it('refuses a key removed from the vehicle record from the next final state on', () => {
    let final = bind(registered(), alice, CAR, D1);
    const { verifyChunk, verifyDescriptor, verifyTx } = deviceVerifiers(registryOn(() => final));
    const desc = makeSignedDescriptor([{ id: 'ab'.repeat(32), stream: 'can', seq: 1 }], {
      vehicleId: CAR,
      secretKey: secretKeyOf(D1),
    }).bytes;
    const env = signTxEnvelope(CAR, { seq: 1, kind: 'revoke', bytes: Uint8Array.of(9) }, D1);
    expect(verdict(verifyChunk, chunk(CAR, D1))).toBe('ok');
    expect(verdict(verifyDescriptor, desc)).toBe('ok');
    expect(verifyTx(CAR, env)).toEqual({ ok: true });

    final = withDevices(final, CAR, []);
    expect(verdict(verifyChunk, chunk(CAR, D1, 2))).toMatch(/^chunk: no device key bound to vehicle 'car-7'/);
    expect(verdict(verifyDescriptor, desc)).toMatch(/^descriptor: no device key bound to vehicle 'car-7'/);
    expect(verifyTx(CAR, env)).toMatchObject({ ok: false });
  });

  it('after a rebind to a new key, refuses the old key and serves the new one', () => {
    let final = bind(registered(), alice, CAR, D1);
    const verify = sealedChunkVerifier(registryOn(() => final));
    expect(verdict(verify, chunk(CAR, D1))).toBe('ok');
    // The owner binds the new device; while both are listed, both are served (a vehicle may have
    // up to MAX_DEVICES devices, e.g. a TBOX and a dongle).
    final = bind(final, alice, CAR, D2);
    expect(verdict(verify, chunk(CAR, D1, 2))).toBe('ok');
    expect(verdict(verify, chunk(CAR, D2, 3))).toBe('ok');
    // The record then lists only the new key.
    final = withDevices(final, CAR, [D2]);
    expect(verdict(verify, chunk(CAR, D1, 4))).toBe(
      `chunk: signed by device key ${addr(D1)}, which is not bound to vehicle '${CAR}' (chain at final height ${final.height})`,
    );
    expect(verdict(verify, chunk(CAR, D2, 5))).toBe('ok');
  });

  it('lets the static map override the chain for the vehicles it names, and only for them', () => {
    let final = bind(registered(), alice, CAR, D1);
    const s = final;
    final = block(s, tx(s, bob, 'registerVehicle', { vehicle: chainVehicleId(OTHER_CAR) }));
    final = bind(final, bob, OTHER_CAR, D1);
    const registry = registryOn(() => final, { [CAR]: toHex(D2.publicKey) });
    const verify = sealedChunkVerifier(registry);
    expect(verdict(verify, chunk(CAR, D2))).toBe('ok');
    expect(verdict(verify, chunk(CAR, D1))).toBe(
      `chunk: signed by device key ${addr(D1)}, which is not bound to vehicle '${CAR}' (ingest.deviceKeys)`,
    );
    // A vehicle the map does not name still comes from the chain.
    expect(verdict(verify, chunk(OTHER_CAR, D1))).toBe('ok');
    expect(registry.staticVehicles).toEqual([CAR]);
    expect(registry.vehicleIdOf(chainVehicleId(CAR))).toBe(CAR);
  });

  it('reads the state tree once per vehicle and final state, and again after finality moves', () => {
    let final = bind(registered(), alice, CAR, D1);
    const registry = registryOn(() => final);
    for (let i = 0; i < 100; i++) expect(registry.keysOf(CAR).keys).toHaveLength(1);
    expect(registry.stats).toMatchObject({ stateReads: 1, cacheHits: 99, refreshes: 0 });
    final = bind(final, alice, CAR, D2);
    expect(registry.keysOf(CAR).keys).toHaveLength(2);
    expect(registry.stats).toMatchObject({ stateReads: 2, refreshes: 1 });
  });

  it('keeps its cache bounded when records name many unknown vehicles', () => {
    const final = registered();
    const registry = new DeviceRegistry({ finalState: () => final, maxCached: 8 });
    for (let i = 0; i < 100; i++) registry.keysOf(`flood-${i}`);
    // Each unknown vehicle was read once; the cache held 8, so the first ones are read again.
    registry.keysOf('flood-0');
    expect(registry.stats.stateReads).toBe(101);
    expect(registry.vehicleIdOf(chainVehicleId('flood-0'))).toBeUndefined();
  });

  it('knows only the static map before the chain role is attached', () => {
    const registry = new DeviceRegistry({ staticKeys: { [CAR]: toHex(D1.publicKey) } });
    expect(verdict(sealedChunkVerifier(registry), chunk(OTHER_CAR, D1))).toBe(
      `chunk: no device key bound to vehicle '${OTHER_CAR}' (not in ingest.deviceKeys, and no chain role)`,
    );
    const s = registered();
    const final = bind(
      block(s, tx(s, bob, 'registerVehicle', { vehicle: chainVehicleId(OTHER_CAR) })),
      bob,
      OTHER_CAR,
      D1,
    );
    registry.attachChain(() => final);
    // Attached: vehicles the map does not name come from the chain.
    expect(verdict(sealedChunkVerifier(registry), chunk(OTHER_CAR, D1))).toBe('ok');
  });
});

describe('DeviceRegistry following final blocks (as a node runs it)', () => {
  /** A registry told about every final block, as startNode wires it to the chain role. */
  function following(initial: ChainState, fullRefreshBlocks = 120) {
    let final = initial;
    const registry = new DeviceRegistry({ fullRefreshBlocks });
    registry.attachChain(() => final, { followsBlocks: true });
    const finalise = (...txs: SignedTx[]) => {
      final = block(final, ...txs);
      registry.finalised([{ height: final.height, txs }]);
    };
    return { registry, finalise, state: () => final };
  }

  it('keeps a vehicle cached across final blocks that do not touch it, and drops it when one binds to it', () => {
    const chain = following(bind(registered(), alice, CAR, D1));
    const verify = sealedChunkVerifier(chain.registry);
    expect(verdict(verify, chunk(CAR, D1))).toBe('ok');
    for (let i = 0; i < 5; i++) chain.finalise();
    expect(verdict(verify, chunk(CAR, D1, 2))).toBe('ok');
    expect(chain.registry.stats).toMatchObject({ stateReads: 1, invalidated: 0 });
    // An unregistered vehicle is cached as such, and dropped when it is registered and bound.
    expect(verdict(verify, chunk(OTHER_CAR, D2))).toMatch(/: vehicle not registered\)$/);
    const s = chain.state();
    chain.finalise(tx(s, bob, 'registerVehicle', { vehicle: chainVehicleId(OTHER_CAR) }));
    expect(verdict(verify, chunk(OTHER_CAR, D2))).toBe(
      `chunk: no device key bound to vehicle '${OTHER_CAR}' (chain at final height ${chain.state().height})`,
    );
    chain.finalise(
      tx(chain.state(), bob, 'bindDevice', { vehicle: chainVehicleId(OTHER_CAR), device: addr(D2) }),
    );
    expect(verdict(verify, chunk(OTHER_CAR, D2))).toBe('ok');
    // A new key for CAR is served from the block that binds it.
    chain.finalise(
      tx(chain.state(), alice, 'bindDevice', { vehicle: chainVehicleId(CAR), device: addr(D2) }),
    );
    expect(verdict(verify, chunk(CAR, D2, 3))).toBe('ok');
    expect(chain.registry.stats.invalidated).toBe(3);
  });

  it('drops everything every fullRefreshBlocks blocks, when a block is not at hand, and when it missed a block', () => {
    const chain = following(bind(registered(), alice, CAR, D1), 3);
    const reads = () => chain.registry.stats.stateReads;
    chain.registry.keysOf(CAR);
    chain.finalise();
    chain.finalise();
    chain.registry.keysOf(CAR);
    expect(reads()).toBe(1);
    chain.finalise();
    chain.registry.keysOf(CAR);
    expect(reads()).toBe(2);
    chain.registry.finalised([{ height: chain.state().height, txs: undefined }]);
    chain.registry.keysOf(CAR);
    expect(reads()).toBe(3);
    // A final state past what it was told about: a finality event it never saw.
    const s = bind(registered(), alice, CAR, D1);
    const removed = withDevices(s, CAR, []);
    const unseen = new DeviceRegistry();
    let current = s;
    unseen.attachChain(() => current, { followsBlocks: true });
    expect(unseen.keysOf(CAR).keys).toHaveLength(1);
    current = removed;
    expect(unseen.keysOf(CAR).keys).toHaveLength(0);
  });
});

describe('the kinds the registry watches', () => {
  it('are the only ones that write vehicle records in the state machine', () => {
    // A new transaction that writes a vehicle record (an unbind) must drop the cached keys of its
    // vehicle: this fails until it is added to VEHICLE_WRITERS in node/ingest/device-keys.ts.
    const root = fileURLToPath(new URL('../../../../chain/state/', import.meta.url));
    const writers: string[] = [];
    for (const f of readdirSync(root).filter((n) => n.endsWith('.ts') && n !== 'state.ts')) {
      let fn = '';
      for (const line of readFileSync(join(root, f), 'utf8').split('\n')) {
        fn = /^export function (\w+)/.exec(line)?.[1] ?? fn;
        if (line.includes('.setVehicle(')) writers.push(`${f}:${fn}`);
      }
    }
    expect(writers).toEqual(['apply-market.ts:applyRegisterVehicle', 'apply-market.ts:applyBindDevice']);
  });
});

describe('DeviceRegistry: attacks on bindings', () => {
  it("refuses, on chain, a key bound to another owner's vehicle, so its records are never served", () => {
    const final = registered();
    // bob (funded, so only the ownership rule can stop him) binds his own device key to alice's car.
    const intrusion = tx(final, bob, 'bindDevice', {
      vehicle: chainVehicleId(CAR),
      device: addr(MALLORY),
    });
    expect(reason(final, intrusion)).toBe('NOT_OWNER');
    expect(() => block(final, intrusion)).toThrow(/only the vehicle owner may bind devices/);
    expect(verdict(sealedChunkVerifier(registryOn(() => final)), chunk(CAR, MALLORY))).toMatch(
      /^chunk: no device key bound to vehicle 'car-7'/,
    );
  });

  it('a device key bound to two vehicles signs for each only what names that vehicle', async () => {
    let final = bind(registered(), alice, CAR, D1);
    const s = final;
    // bob binds alice's device key to his own car: the chain lets an owner bind any key.
    final = block(s, tx(s, bob, 'registerVehicle', { vehicle: chainVehicleId(OTHER_CAR) }));
    final = bind(final, bob, OTHER_CAR, D1);
    const registry = registryOn(() => final);
    // The device's signature names the vehicle: a tx envelope for CAR does not pass for OTHER_CAR.
    const env = signTxEnvelope(CAR, { seq: 1, kind: 'revoke', bytes: Uint8Array.of(9) }, D1);
    expect(sealedTxVerifier(registry)(CAR, env)).toEqual({ ok: true });
    expect(sealedTxVerifier(registry)(OTHER_CAR, env)).toMatchObject({ ok: false });
    // A descriptor names its vehicle too: it verifies as CAR's only.
    const desc = makeSignedDescriptor([{ id: 'cd'.repeat(32), stream: 'can', seq: 1 }], {
      vehicleId: CAR,
      secretKey: secretKeyOf(D1),
    }).bytes;
    expect(sealedDescriptorVerifier(registry)(desc)).toMatchObject({ ok: true, vehicleId: CAR });

    // A chunk of CAR republished on OTHER_CAR's topic is refused by the ingest, not stored, not acked.
    const broker = new MemoryBroker();
    const store = new IngestStore({ path: join(dir, 'two-vehicles.db') });
    const node = new Ed25519Signer(TEST_NODE_KEY);
    const reasons: string[] = [];
    const ingest = new ChunkIngest({
      link: broker.connect('node'),
      store,
      ...deviceVerifiers(registry),
      ackSigner: node,
      logger: { ...silentLogger, warn: (f: Record<string, unknown>) => reasons.push(String(f.reason)) },
    });
    await tick();
    ingest.start();
    const pub = broker.connect(OTHER_CAR);
    await tick();
    const acks: string[][] = [];
    pub.onMessage((_t, p) => {
      const a = openAck(p, { vehicleId: OTHER_CAR, nodeKeys: [node.publicKey] });
      if (a.ok) acks.push([...a.value.ids]);
    });
    await pub.subscribe(`qood/v1/${OTHER_CAR}/down/ack`);
    const c = sealed(CAR, D1);
    await pub.publish(
      `qood/v1/${OTHER_CAR}/up/chunk`,
      encodeChunkEnvelope({ id: c.id, stream: 'can', seq: 1, bytes: c.bytes }),
    );
    for (let i = 0; i < 4; i++) await tick();
    ingest.stop();
    expect(ingest.counters()['ingest.rejected']).toBe(1);
    expect(reasons).toEqual([`signed for vehicle '${CAR}', published on 'qood/v1/${OTHER_CAR}/up/chunk'`]);
    expect(store.count()).toBe(0);
    expect(acks).toEqual([]);
    store.close();
  });
});
