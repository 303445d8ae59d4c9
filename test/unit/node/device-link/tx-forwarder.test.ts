/**
 * Devices' queued transactions into a real single-producer FullNode (wall clock, real mempool and
 * blocks) from a real ingest SQLite file: chain transactions go in nonce order (one queued before
 * its predecessor waits for it), non-chain payloads are skipped, refusals are dropped with their
 * reason, inclusion is seen in final blocks, and the submission log makes a restart neither lose
 * nor resubmit anything, including one left `admitted` by a crash. The same bridge's finality
 * updates take a light client that started from GET /checkpoint to the proven revocation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainVehicleId } from '../../../../agent/permissions/index.js';
import {
  decodeAccount,
  decodeCheckpoint,
  decodeGrant,
  decodeUpdate,
  Ed25519Signer,
  encodeSignedTx,
  fromHex,
  type Grant,
  getAccount,
  getRecord,
  LightClient,
  MemoryChainStore,
  proveKey,
  type SignedTx,
  sha256,
  signTx,
  stateKey,
  type TxBodies,
  type TxKind,
  toHex,
  UNIT,
  type UnsignedTx,
} from '../../../../chain/index.js';
import { DeviceLink, type DeviceLinkCounter } from '../../../../node/device-link/index.js';
import { handleApi } from '../../../../node/http/index.js';
import { IngestStore, type IngestTx } from '../../../../node/ingest/index.js';
import { tcpTransport } from '../../../../node/p2p/index.js';
import { FullNode, localGenesis } from '../../../../node/runtime/index.js';
import { waitUntil } from '../../../support/cli.js';

const key = (label: string) => new Ed25519Signer(sha256(new TextEncoder().encode(`bridge-test/${label}`)));
const producer = key('producer');
const whale = key('whale');
const owner = key('owner');
const device = key('device');
const grantee = key('grantee');
const hex = (k: Ed25519Signer) => toHex(k.publicKey);
const CHAIN = 'qood-bridge-unit';
const VEHICLE = chainVehicleId('car-1');

const genesis = (() => {
  const g = localGenesis({
    chainId: CHAIN,
    preset: 'minimal',
    producers: [producer],
    whale,
    timeMs: Date.now(),
  });
  return {
    ...g,
    accounts: [
      ...g.accounts,
      { address: hex(owner), qdt: 1000n * UNIT },
      { address: hex(device), qdt: 1000n * UNIT },
    ],
  };
})();

function tx<K extends TxKind>(signer: Ed25519Signer, kind: K, nonce: number, body: TxBodies[K]): SignedTx {
  return signTx({ chainId: CHAIN, kind, sender: hex(signer), nonce, fee: 0n, body } as UnsignedTx, signer);
}

const dir = mkdtempSync(join(tmpdir(), 'qood-bridge-'));
let node: FullNode;
let grantId: string;

beforeAll(async () => {
  node = new FullNode({
    genesis,
    signer: producer,
    store: new MemoryChainStore(),
    transport: tcpTransport,
    peers: [],
  });
  await node.start();
  const grant = tx(owner, 'grant', 2, {
    vehicle: VEHICLE,
    grantee: hex(grantee),
    kind: 'control',
    scope: ['lock'],
    fromMs: Date.now() - 1000,
    toMs: Date.now() + 3_600_000,
    termsHash: new Uint8Array(32),
  });
  grantId = toHex(grant.id);
  for (const t of [
    tx(owner, 'registerVehicle', 0, { vehicle: VEHICLE }),
    tx(owner, 'bindDevice', 1, { vehicle: VEHICLE, device: hex(device) }),
    grant,
  ])
    expect(node.submitTx(t).admitted).toBe(true);
  await waitUntil(
    () => getAccount(node.lastFinal.state, hex(owner)).nonce === 3,
    15_000,
    'the setup to be final',
  );
}, 20_000);

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const deviceKey = (): Ed25519Signer => device;
const exec = (nonce: number, signer = device) =>
  signTx(
    {
      chainId: CHAIN,
      kind: 'controlExec',
      sender: hex(device),
      nonce,
      fee: 0n,
      body: { grant: grantId, command: 'lock', argsHash: new Uint8Array(32).fill(nonce), resultCode: 0 },
    },
    signer,
  );

function bridgeOn(store: IngestStore) {
  const counts = new Map<DeviceLinkCounter, number>();
  const published: { topic: string; payload: Uint8Array; retain: boolean }[] = [];
  const warnings: string[] = [];
  const bridge = new DeviceLink({
    link: {
      connected: true,
      publish: async (topic: string, payload: Uint8Array, o?: { retain?: boolean }) => {
        published.push({ topic, payload, retain: o?.retain === true });
      },
      subscribe: async () => {},
      onMessage: () => () => {},
      onConnect: () => () => {},
      close: async () => {},
    },
    node,
    ingestStore: store,
    logger: { info() {}, warn: (f) => warnings.push(String(f.reason ?? '')), error() {} },
    pollMs: 100,
    gapWaitBlocks: 3,
    inclusionTimeoutBlocks: 4,
    onCount: (n, by) => counts.set(n, (counts.get(n) ?? 0) + by),
  });
  return { bridge, counts, warnings, published, c: (n: DeviceLinkCounter) => counts.get(n) ?? 0 };
}

describe('TxForwarder with a real FullNode and ingest file', () => {
  it('submits in nonce order, skips non-chain payloads, drops refusals with the reason, and resumes without resubmitting', async () => {
    const store = new IngestStore({ path: join(dir, 'ingest.db') });
    const e0 = exec(0);
    const e1 = exec(1);
    const revoke = tx(owner, 'revoke', 3, { grant: grantId });
    const tooMuch = tx(deviceKey(), 'transfer', 7, {
      to: hex(owner),
      token: 'QDT',
      amount: 10_000n * UNIT,
      memo: new Uint8Array(),
    });
    const gapTransfer = tx(deviceKey(), 'transfer', 3, {
      to: hex(owner),
      token: 'QDT',
      amount: 1n,
      memo: new Uint8Array(),
    });
    const queued: IngestTx[] = [
      { vehicleId: 'car-1', seq: 1, kind: 'controlExec', bytes: encodeSignedTx(e1) }, // ahead of its predecessor
      { vehicleId: 'car-1', seq: 2, kind: 'controlExec', bytes: encodeSignedTx(e0) },
      { vehicleId: 'car-1', seq: 3, kind: 'descriptor', bytes: Uint8Array.of(0x83, 1, 2, 3) },
      { vehicleId: 'car-1', seq: 4, kind: 'revoke', bytes: encodeSignedTx(revoke) },
      { vehicleId: 'car-1', seq: 5, kind: 'controlExec', bytes: encodeSignedTx(exec(2, grantee)) }, // forged
      {
        vehicleId: 'car-1',
        seq: 6,
        kind: 'revoke',
        bytes: encodeSignedTx(tx(owner, 'revoke', 0, { grant: grantId })),
      },
      // Its predecessor (nonce 2) was the forged one: it waits a few blocks, then goes and leaves a gap.
      { vehicleId: 'car-1', seq: 7, kind: 'transfer', bytes: encodeSignedTx(gapTransfer) },
      // After the gap, the device's records go on in order (this one reaches the chain before the
      // owner's revoke, which came later in the same poll).
      { vehicleId: 'car-1', seq: 8, kind: 'controlExec', bytes: encodeSignedTx(exec(4)) },
      // Nonces 5 and 6 never come: after a few blocks the head state judges it (it cannot pay).
      { vehicleId: 'car-1', seq: 9, kind: 'transfer', bytes: encodeSignedTx(tooMuch) },
    ];
    store.putTxs(queued, Date.now());
    // What a device's checkpoint file would hold, from the node's API.
    const res = handleApi(node, {
      method: 'GET',
      path: '/checkpoint',
      contentType: '',
      body: new Uint8Array(),
    });
    expect(res.status).toBe(200);
    const cpBody = res.body as { height: number; schedule: string[]; bytes: string };
    const device = new LightClient({ checkpoint: decodeCheckpoint(fromHex(cpBody.bytes)) });
    expect(device.head.height).toBe(cpBody.height);
    expect(cpBody.schedule).toEqual([hex(producer)]);
    const r = bridgeOn(store);
    r.bridge.start();
    await waitUntil(
      () => r.c('bridge.txs.included') === 5 && r.c('bridge.txs.refused') === 3,
      15_000,
      'the transactions to settle',
    );
    r.bridge.stop();
    expect(r.c('bridge.txs.skipped')).toBe(1);
    expect(r.c('bridge.txs.read')).toBe(9);
    expect(r.bridge.status()).toMatchObject({ txsWaiting: 0, txsAdmitted: 0 });
    expect(r.warnings.filter((w) => w !== '').sort()).toEqual([
      expect.stringMatching(/^BAD_SIGNATURE: /),
      expect.stringMatching(/^INVALID: INSUFFICIENT_FUNDS: /),
      expect.stringMatching(/^NONCE_USED: nonce 0; the account is at [34]/),
    ]);
    const fin = node.lastFinal.state;
    expect(proveKey(fin, stateKey.execution(toHex(e0.id))).value).not.toBeNull();
    expect(proveKey(fin, stateKey.execution(toHex(e1.id))).value).not.toBeNull();
    expect(getRecord<Grant>(fin.tree, stateKey.grant(grantId))?.revoked).toBe(true);
    const rows = store.listTxs().map((t) => store.submission(t.ord)?.state);
    expect(rows).toEqual([
      'included',
      'included',
      'skipped',
      'included',
      'refused',
      'refused',
      'included',
      'included',
      'refused',
    ]);
    expect(store.submissionCounts()).toMatchObject({ waiting: 0, admitted: 0, included: 5 });
    // The device's account is past the gap its refused record left.
    expect(getAccount(fin, hex(deviceKey())).nonce).toBe(5);
    expect(proveKey(fin, stateKey.execution(toHex(exec(4).id))).value).not.toBeNull();

    // The device follows every update the bridge published from there, and learns the revocation.
    expect(r.published.length).toBeGreaterThan(0);
    // It also learns its own account (the link proves the account of every device that queued a
    // record), which is how a device with a recreated store continues its nonces.
    let revokedSeen = false;
    let provenNonce = -1;
    for (const p of r.published) {
      expect(p).toMatchObject({ topic: 'qood/v1/chain/finality', retain: true });
      const u = device.apply(decodeUpdate(p.payload));
      if (!u.ok) throw u.error;
      for (const k of u.proven) {
        if (k.key === stateKey.grant(grantId) && k.value !== null)
          revokedSeen ||= decodeGrant(k.value).revoked;
        if (k.key === stateKey.account(hex(deviceKey())) && k.value !== null)
          provenNonce = decodeAccount(k.value).nonce;
      }
    }
    expect(revokedSeen).toBe(true);
    expect(provenNonce).toBeGreaterThan(0);
    expect(r.bridge.status().publishedHeight).toBe(device.head.height);

    // A restart reads nothing again and submits nothing.
    const again = bridgeOn(store);
    again.bridge.start();
    await new Promise((res) => setTimeout(res, 300));
    again.bridge.stop();
    expect(again.c('bridge.txs.read') + again.c('bridge.txs.admitted') + again.c('bridge.txs.refused')).toBe(
      0,
    );

    // A crash after admission left a row `admitted`: the restart finds it final, and does not refuse it.
    const first = store.listTxs()[1]!;
    store.recordSubmissions(
      [{ ord: first.ord, state: 'admitted', txId: toHex(e0.id), height: 1, reason: null }],
      Date.now(),
    );
    const recovered = bridgeOn(store);
    recovered.bridge.start();
    recovered.bridge.stop();
    expect(recovered.c('bridge.txs.included')).toBe(1);
    expect(recovered.c('bridge.txs.refused') + recovered.c('bridge.txs.admitted')).toBe(0);
    expect(store.submission(first.ord)?.state).toBe('included');
    store.close();
  }, 30_000);
});
