/**
 * A sale from the device's side: the node announces a final buy order (OrderNotices, with proofs
 * at the final height and the signed descriptor from its ingest DB), the device checks it with its
 * light client (OrderDesk) and queues a device-signed fill; the fill applies on the real state
 * machine, pays the agreement's parties, and its key bundle opens, for the buyer only, to the very
 * epoch keys the chunks were sealed with. Every forged or unproven notice is refused with its code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { ChainView } from '../../../../agent/chain/chain-view.js';
import { OrderDesk } from '../../../../agent/chain/order-desk.js';
import {
  type ChunkStore,
  DEVICE_TX_NONCE_CURSOR,
  MemoryChunkStore,
  openChunkStoreOrMoveAside,
  openSqliteChunkStore,
} from '../../../../agent/store/index.js';
import { MemoryBroker } from '../../../../agent/sync/index.js';
import {
  agreementId,
  agreementTermsHash,
  applyBlock,
  buildBlock,
  bundleLookup,
  chainVehicleId,
  decodeCanonical,
  decodeOrder,
  decodeOrderNotice,
  decodeSignedTx,
  descriptorAnchorBody,
  Ed25519Signer,
  encodeOrderNotice,
  encodeUpdate,
  getAccount,
  openDescriptor,
  openKeyBundle,
  orderTopic,
  ownerEpochKey,
  proveKey,
  type SignedTx,
  sha256,
  stateKey,
  type TxBodies,
  toHex,
  UNIT,
} from '../../../../chain/index.js';
import { OrderNotices } from '../../../../node/device-link/order-notices.js';
import { IngestStore } from '../../../../node/ingest/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { makeSignedDescriptor, TEST_DEVICE_KEY } from '../../../support/chunks.js';
import {
  buildLightChain,
  checkpointAt,
  LIGHT_T0,
  lightKey,
  lightTx,
  updateAt,
} from '../../../support/light-chain.js';

const VEHICLE = 'sale-car';
const owner = lightKey('owner');
const oem = lightKey('oem');
const buyer = lightKey('buyer');
const evil = lightKey('evil');
const evilOem = lightKey('evil-oem');
const device = new Ed25519Signer(TEST_DEVICE_KEY);
const DATA_ROOT = sha256(Uint8Array.of(5));
const dir = mkdtempSync(join(tmpdir(), 'qood-sale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tick = () => new Promise((r) => setImmediate(r));

/** Two chunks of stream `drive` (owner class, epoch 0), described and signed by the device. */
const records = [
  { id: 'a1'.repeat(32), stream: 'drive', seq: 0 },
  { id: 'a2'.repeat(32), stream: 'drive', seq: 1 },
];
const signed = makeSignedDescriptor(records, { vehicleId: VEHICLE });
const foreign = makeSignedDescriptor(records, { vehicleId: VEHICLE, secretKey: sha256(Uint8Array.of(9)) });
const described = openDescriptor(signed.bytes).descriptor;

/** The sale's chain; `fill`, when given, is included in block 7 (a device fill made on an earlier run). */
function saleChain(options: { fill?: SignedTx } = {}) {
  const terms = {
    vehicle: chainVehicleId(VEHICLE),
    owner: toHex(owner.publicKey),
    oem: toHex(oem.publicKey),
    version: 1,
    classes: [{ name: 'owner', holder: 0, privacy: 0 }],
    split: [
      { party: toHex(owner.publicKey), bps: 8000 },
      { party: toHex(oem.publicKey), bps: 2000 },
    ],
  };
  const h = agreementTermsHash(terms);
  let anchorId = '';
  let orderId = '';
  // Someone else's vehicle and agreement, under which they re-anchor this device's root to buy it
  // from themselves.
  const evilTerms = {
    vehicle: chainVehicleId('evil-car'),
    owner: toHex(evil.publicKey),
    oem: toHex(evilOem.publicKey),
    version: 1,
    classes: [{ name: 'owner', holder: 0, privacy: 0 }],
    split: [{ party: toHex(evil.publicKey), bps: 10_000 }],
  };
  const eh = agreementTermsHash(evilTerms);
  let evilAnchor = '';
  let evilOrder = '';
  const chain = buildLightChain({
    producers: 4,
    electAt: [],
    height: 10,
    roundBlocks: 8,
    accounts: [
      { address: toHex(owner.publicKey), qdt: 100n * UNIT },
      { address: toHex(device.publicKey), qdt: 10n * UNIT },
      { address: toHex(buyer.publicKey), qdt: 10n * UNIT, qdd: 50n * UNIT },
      { address: toHex(evil.publicKey), qdt: 10n * UNIT, qdd: 50n * UNIT },
    ],
    extra: (s, height): SignedTx[] => {
      if (height === 2) return [lightTx(s, owner, 'registerVehicle', { vehicle: terms.vehicle })];
      if (height === 3)
        return [lightTx(s, owner, 'bindDevice', { vehicle: terms.vehicle, device: toHex(device.publicKey) })];
      if (height === 4)
        return [
          lightTx(s, owner, 'agreement', { terms, ownerSignature: owner.sign(h), oemSignature: oem.sign(h) }),
        ];
      if (height === 5) {
        const t = lightTx(
          s,
          device,
          'descriptor',
          descriptorAnchorBody(described, agreementId(terms.vehicle, terms.owner, terms.oem)),
        );
        anchorId = toHex(t.id);
        return [t];
      }
      if (height === 6) {
        const t = lightTx(s, buyer, 'order', {
          side: 'buy',
          descriptor: anchorId,
          price: 10n * UNIT,
          expiresHeight: 1000,
        });
        orderId = toHex(t.id);
        return [t];
      }
      if (height === 7)
        return [
          lightTx(s, evil, 'registerVehicle', { vehicle: evilTerms.vehicle }),
          ...(options.fill === undefined ? [] : [options.fill]),
        ];
      if (height === 8)
        return [
          lightTx(s, evil, 'agreement', {
            terms: evilTerms,
            ownerSignature: evil.sign(eh),
            oemSignature: evilOem.sign(eh),
          }),
        ];
      if (height === 9) {
        const t = lightTx(
          s,
          evil,
          'descriptor',
          descriptorAnchorBody(described, agreementId(evilTerms.vehicle, evilTerms.owner, evilTerms.oem)),
        );
        evilAnchor = toHex(t.id);
        return [t];
      }
      if (height === 10) {
        const t = lightTx(s, evil, 'order', {
          side: 'buy',
          descriptor: evilAnchor,
          price: UNIT,
          expiresHeight: 1000,
        });
        evilOrder = toHex(t.id);
        return [t];
      }
      return [];
    },
  });
  return {
    chain,
    anchorId,
    orderId,
    evilAnchor,
    evilOrder,
    agreement: agreementId(terms.vehicle, terms.owner, terms.oem),
  };
}

/** `viewNowMs`: the chain view's clock, with a 30-day trust window (default: no window). */
async function rig(
  options: { fill?: SignedTx; store?: ChunkStore; viewNowMs?: () => number; revealRetryBlocks?: number } = {},
) {
  const viewNowMs = options.viewNowMs;
  const sale = saleChain(options.fill === undefined ? {} : { fill: options.fill });
  const broker = new MemoryBroker();
  const uplink = broker.connect(VEHICLE);
  const node = broker.connect('node');
  await tick();
  const metrics = new Metrics();
  const store = options.store ?? new MemoryChunkStore();
  if (options.store === undefined) store.setCursor(DEVICE_TX_NONCE_CURSOR, '1'); // nonce 0: the anchor of block 5
  const view = new ChainView({
    checkpoint: checkpointAt(sale.chain, 1),
    uplink,
    metrics,
    logger: silentLogger,
    ...(viewNowMs === undefined ? {} : { nowMs: viewNowMs, maxCheckpointAgeMs: 30 * 86_400_000 }),
  });
  view.start();
  const desk = new OrderDesk({
    uplink,
    view,
    store,
    identity: {
      vehicleId: VEHICLE,
      deviceSecretKey: TEST_DEVICE_KEY,
      dataRoot: DATA_ROOT,
      oemPublicKey: oem.publicKey,
      epochLengthS: 600,
      dictionaryId: 'qood-vss-6.0+obd-4.0',
    },
    signer: device,
    chainId: sale.chain.states[0]!.params.chainId,
    agreementId: sale.agreement,
    metrics,
    logger: silentLogger,
    topicPrefix: 'qood/v1',
    nowMs: () => LIGHT_T0 + 10_000,
    ...(options.revealRetryBlocks === undefined ? {} : { revealRetryBlocks: options.revealRetryBlocks }),
  });
  desk.start();
  // The desk's retry interval and the view's subscription must not outlive the test.
  onTestFinished(() => {
    desk.stop();
    view.stop();
  });
  await tick();
  const finalize = async (h: number) => {
    await node.publish('qood/v1/chain/finality', encodeUpdate(updateAt(sale.chain, h)));
    await tick();
  };
  return { ...sale, broker, node, metrics, store, view, desk, finalize };
}

const proofAt = (state: Parameters<typeof proveKey>[0], key: string) => {
  const p = proveKey(state, key);
  return { height: state.height, proof: { key: p.key, value: p.value, proof: p.proof } };
};

describe('a sale from the device side', () => {
  it('the node announces a final buy order; the device fills it once, and the fill pays the parties', async () => {
    const r = await rig();
    const ingest = new IngestStore({ path: join(dir, 'ingest.db') });
    ingest.putDescriptors(
      [
        {
          id: signed.id,
          vehicleId: VEHICLE,
          createdMs: 1,
          chunkIds: records.map((x) => x.id),
          bytes: signed.bytes,
        },
      ],
      2,
    );
    const published: Uint8Array[] = [];
    const notices = new OrderNotices({
      link: {
        ...r.node,
        publish: async (topic: string, p: Uint8Array) => {
          expect(topic).toBe(orderTopic('qood/v1', VEHICLE));
          published.push(p);
          await r.node.publish(topic, p);
        },
      },
      store: ingest,
      vehicleIds: [VEHICLE, 'other-car'],
      topicPrefix: 'qood/v1',
      logger: silentLogger,
      reannounceBlocks: 2,
    });
    const final = r.chain.states[6]!;
    // The notice waits until the device's light client has reached the proof's height.
    notices.onFinalTxs(r.chain.blocks[6]!.txs, final);
    await tick();
    expect(published).toHaveLength(1);
    expect(r.metrics.counter('sales.filled')).toBe(0);
    expect(r.store.pendingTxs(10)).toEqual([]);
    await r.finalize(6);
    expect(r.desk.receive(published[0]!)).toBe('filled');
    expect(r.desk.receive(published[0]!)).toBe('done'); // a resend fills nothing twice
    const queued = r.store.pendingTxs(10);
    expect(queued.map((q) => q.kind)).toEqual(['fill']);
    const fill = decodeSignedTx(queued[0]!.bytes);
    expect([fill.tx.kind, fill.tx.sender, fill.tx.nonce]).toEqual(['fill', toHex(device.publicKey), 1]);
    // The chain applies it: the escrow is split 80/20; the keys come later, in the reveal.
    const s6 = r.chain.states[6]!;
    const producer = r.chain.signers.get(r.chain.active[7]![0]!)!;
    const built = buildBlock(s6, [fill], producer, s6.timeMs + 500);
    expect(built.rejected).toEqual([]);
    const applied = applyBlock(s6, built.block);
    if (!applied.ok) throw applied.error;
    const s7 = applied.state;
    expect(getAccount(s7, toHex(owner.publicKey)).qdd).toBe(8n * UNIT);
    expect(getAccount(s7, toHex(oem.publicKey)).qdd).toBe(2n * UNIT);
    const body = fill.tx.body as TxBodies['fill'];
    expect(body.commitment).toHaveLength(32);
    // While the order stays open it is announced again with fresh proofs (for a device that was
    // offline longer than its light client keeps headers); the other vehicle's order never is.
    notices.onFinalTxs([], r.chain.states[7]!);
    expect(published).toHaveLength(1);
    notices.onFinalTxs(r.chain.blocks[10]!.txs, r.chain.states[10]!);
    await tick();
    expect(published).toHaveLength(2);
    expect(decodeOrderNotice(published[1]!).orderProof.height).toBe(10);
    expect(notices.tracked).toBe(1);
    // An order that does not exist is not announced.
    expect(notices.announce('00'.repeat(32), final)).toBe('not-open');
    ingest.close();
  });

  it('a fill the device queues carries no key; it reveals the keys only once a final block proves its fill paid', async () => {
    const buyerSecret = sha256(new TextEncoder().encode('light-key/buyer'));
    const r = await rig();
    await r.finalize(6);
    const s6 = r.chain.states[6]!;
    const notice = (state: typeof s6) =>
      encodeOrderNotice({
        orderId: r.orderId,
        descriptorId: r.anchorId,
        orderProof: proofAt(state, stateKey.order(r.orderId)),
        descriptorProof: proofAt(state, stateKey.descriptor(r.anchorId)),
        signedDescriptor: signed.bytes,
      });
    expect(r.desk.receive(notice(s6))).toBe('filled');
    // What goes up to the storage node (and into gossip): nothing in it opens with the buyer's key.
    const [queuedFill] = r.store.pendingTxs(10);
    expect(queuedFill!.kind).toBe('fill');
    for (const part of byteStrings(decodeCanonical(queuedFill!.bytes)))
      expect(() => openKeyBundle(part, buyerSecret, Buffer.from(r.orderId, 'hex'))).toThrow();
    // The same device later, on the chain where its fill landed in block 7.
    const fill = decodeSignedTx(queuedFill!.bytes);
    const b = await rig({ fill, store: r.store });
    await b.finalize(6);
    // Before the fill is proven final the keys stay on the device.
    expect(b.desk.receive(notice(b.chain.states[6]!))).toBe('done');
    expect(b.store.pendingTxs(10).map((t) => t.kind)).toEqual(['fill']);
    await b.finalize(8);
    const s8 = b.chain.states[8]!;
    expect(decodeOrder(proveKey(s8, stateKey.order(r.orderId)).value!)).toMatchObject({ filledHeight: 7 });
    expect(b.desk.receive(notice(s8))).toBe('revealed');
    expect(b.desk.receive(notice(s8))).toBe('done');
    const queued = b.store.pendingTxs(10);
    expect(queued.map((q) => q.kind)).toEqual(['fill', 'reveal']);
    const reveal = decodeSignedTx(queued[1]!.bytes);
    const producer = b.chain.signers.get(b.chain.active[9]![0]!)!;
    const built = buildBlock(s8, [reveal], producer, s8.timeMs + 500);
    expect(built.rejected).toEqual([]);
    const applied = applyBlock(s8, built.block);
    if (!applied.ok) throw applied.error;
    const order = decodeOrder(proveKey(applied.state, stateKey.order(r.orderId)).value!);
    expect(order.open).toBe(false);
    const keys = openKeyBundle(order.delivery, buyerSecret, Buffer.from(r.orderId, 'hex'));
    expect(bundleLookup(keys)('drive', 'owner', 0)).toEqual(ownerEpochKey(DATA_ROOT, 'drive', 0));
    expect(keys).toHaveLength(1);
    expect(b.metrics.counter('sales.revealed')).toBe(1);
  });

  it('a device whose store is recreated between fill and reveal still reveals the committed keys', async () => {
    const buyerSecret = sha256(new TextEncoder().encode('light-key/buyer'));
    const path = join(dir, 'recreated-agent.db');
    const first = openSqliteChunkStore({ path });
    first.setCursor(DEVICE_TX_NONCE_CURSOR, '1'); // nonce 0: the anchor of block 5
    const r = await rig({ store: first });
    await r.finalize(6);
    const notice = (state: (typeof r.chain.states)[number]) =>
      encodeOrderNotice({
        orderId: r.orderId,
        descriptorId: r.anchorId,
        orderProof: proofAt(state, stateKey.order(r.orderId)),
        descriptorProof: proofAt(state, stateKey.descriptor(r.anchorId)),
        signedDescriptor: signed.bytes,
      });
    expect(r.desk.receive(notice(r.chain.states[6]!))).toBe('filled');
    const fill = decodeSignedTx(first.pendingTxs(10)[0]!.bytes);
    r.desk.stop();
    r.view.stop();
    first.close();
    // The fill went out and was paid in block 7; then agent.db is found corrupt and moved aside
    // (or the SD card is replaced): the wrapped bundle kept for the reveal is gone with it.
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const reopened = openChunkStoreOrMoveAside({ path, logger: silentLogger });
    expect(reopened.movedTo).toBeDefined();
    const fresh = reopened.store;
    onTestFinished(() => fresh.close());
    expect(fresh.cursor(`reveal/${r.orderId}`)).toBeUndefined();
    fresh.setCursor(DEVICE_TX_NONCE_CURSOR, '2'); // the fill took nonce 1 (seeding it is tested elsewhere)
    const b = await rig({ fill, store: fresh });
    await b.finalize(8);
    const s8 = b.chain.states[8]!;
    // The node announces the filled order again (it stays open until revealed): the device
    // recomputes the same wrapped bundle, checks it against the fill's commitment, and reveals it.
    expect(b.desk.receive(notice(s8))).toBe('revealed');
    expect(b.desk.receive(notice(s8))).toBe('done');
    const queued = fresh.pendingTxs(10);
    expect(queued.map((q) => q.kind)).toEqual(['reveal']);
    const reveal = decodeSignedTx(queued[0]!.bytes);
    const producer = b.chain.signers.get(b.chain.active[9]![0]!)!;
    const built = buildBlock(s8, [reveal], producer, s8.timeMs + 500);
    expect(built.rejected).toEqual([]);
    const applied = applyBlock(s8, built.block);
    if (!applied.ok) throw applied.error;
    const order = decodeOrder(proveKey(applied.state, stateKey.order(r.orderId)).value!);
    expect(order.open).toBe(false);
    const keys = openKeyBundle(order.delivery, buyerSecret, Buffer.from(r.orderId, 'hex'));
    expect(bundleLookup(keys)('drive', 'owner', 0)).toEqual(ownerEpochKey(DATA_ROOT, 'drive', 0));
    // A recreated store never fills an order that someone else filled: it reveals only a bundle
    // that hashes to the commitment on chain.
    expect(b.metrics.counter('sales.filled')).toBe(0);
  });

  it('a reveal the chain refused is queued again while the order stays open, so the keys still reach the buyer', async () => {
    const buyerSecret = sha256(new TextEncoder().encode('light-key/buyer'));
    const r = await rig();
    await r.finalize(6);
    const notice = (state: (typeof r.chain.states)[number]) =>
      encodeOrderNotice({
        orderId: r.orderId,
        descriptorId: r.anchorId,
        orderProof: proofAt(state, stateKey.order(r.orderId)),
        descriptorProof: proofAt(state, stateKey.descriptor(r.anchorId)),
        signedDescriptor: signed.bytes,
      });
    expect(r.desk.receive(notice(r.chain.states[6]!))).toBe('filled');
    const fill = decodeSignedTx(r.store.pendingTxs(10)[0]!.bytes);
    // A store recreated after the fill, whose counter the chain has not raised yet: its first
    // reveal carries nonce 0, which the chain used long ago, and is refused.
    const fresh = new MemoryChunkStore();
    const b = await rig({ fill, store: fresh, revealRetryBlocks: 2 });
    await b.finalize(8);
    const s8 = b.chain.states[8]!;
    expect(b.desk.receive(notice(s8))).toBe('revealed');
    const [first] = fresh.pendingTxs(10);
    expect(decodeSignedTx(first!.bytes).tx.nonce).toBe(0);
    const producer = b.chain.signers.get(b.chain.active[9]![0]!)!;
    expect(buildBlock(s8, [decodeSignedTx(first!.bytes)], producer, s8.timeMs + 500).rejected).toHaveLength(
      1,
    );
    // While that reveal waits in the outbox, or too soon after it, nothing is queued twice.
    expect(b.desk.receive(notice(s8))).toBe('done');
    fresh.removeTxs([first!.seq]); // the node took it (and the chain refused it)
    expect(b.desk.receive(notice(s8))).toBe('done');
    // The node proves the device's account, which raises the counter (device-nonce.ts); the order
    // is still open two final blocks later, so the desk makes the bundle again and reveals it.
    fresh.setCursor(DEVICE_TX_NONCE_CURSOR, '2');
    await b.finalize(10);
    const s10 = b.chain.states[10]!;
    expect(b.desk.receive(notice(s10))).toBe('revealed');
    const [second] = fresh.pendingTxs(10);
    const reveal = decodeSignedTx(second!.bytes);
    expect(reveal.tx.nonce).toBe(2);
    const built = buildBlock(s10, [reveal], b.chain.signers.get(b.chain.active[10]![0]!)!, s10.timeMs + 500);
    expect(built.rejected).toEqual([]);
    const applied = applyBlock(s10, built.block);
    if (!applied.ok) throw applied.error;
    const order = decodeOrder(proveKey(applied.state, stateKey.order(r.orderId)).value!);
    expect(order.open).toBe(false);
    expect(openKeyBundle(order.delivery, buyerSecret, Buffer.from(r.orderId, 'hex'))).toHaveLength(1);
  });

  it('a restarted node announces again an order that is filled but not yet revealed', async () => {
    const r = await rig();
    await r.finalize(6);
    const s6 = r.chain.states[6]!;
    expect(
      r.desk.receive(
        encodeOrderNotice({
          orderId: r.orderId,
          descriptorId: r.anchorId,
          orderProof: proofAt(s6, stateKey.order(r.orderId)),
          descriptorProof: proofAt(s6, stateKey.descriptor(r.anchorId)),
          signedDescriptor: signed.bytes,
        }),
      ),
    ).toBe('filled');
    const fill = decodeSignedTx(r.store.pendingTxs(10)[0]!.bytes);
    const b = await rig({ fill, store: r.store });
    const ingest = new IngestStore({ path: join(dir, 'restart-ingest.db') });
    onTestFinished(() => ingest.close());
    ingest.putDescriptors(
      [
        {
          id: signed.id,
          vehicleId: VEHICLE,
          createdMs: 1,
          chunkIds: records.map((x) => x.id),
          bytes: signed.bytes,
        },
      ],
      2,
    );
    const published: Uint8Array[] = [];
    // A node started after the order and its fill became final: the finality events it sees carry
    // neither, yet the order stays open until its keys are revealed.
    const notices = new OrderNotices({
      link: {
        publish: async (topic: string, p: Uint8Array) => {
          published.push(p);
          await b.node.publish(topic, p);
        },
      },
      store: ingest,
      vehicleIds: [VEHICLE],
      topicPrefix: 'qood/v1',
      logger: silentLogger,
      block: (h) => b.chain.blocks[h],
    });
    await b.finalize(8);
    notices.onFinalTxs(b.chain.blocks[8]!.txs, b.chain.states[8]!);
    await tick();
    const ids = published.map((p) => decodeOrderNotice(p).orderId);
    expect(ids).toContain(r.orderId);
    expect(ids.filter((id) => id === r.orderId)).toHaveLength(1);
    expect(b.store.pendingTxs(10).map((t) => t.kind)).toEqual(['fill', 'reveal']);
  });

  it('refuses notices that do not check out, each with its code, and queues nothing', async () => {
    const r = await rig();
    await r.finalize(6);
    const s6 = r.chain.states[6]!;
    const good = {
      orderId: r.orderId,
      descriptorId: r.anchorId,
      orderProof: proofAt(s6, stateKey.order(r.orderId)),
      descriptorProof: proofAt(s6, stateKey.descriptor(r.anchorId)),
      signedDescriptor: signed.bytes,
    };
    const send = (n: Partial<typeof good>) => r.desk.receive(encodeOrderNotice({ ...good, ...n }));
    expect(r.desk.receive(Uint8Array.of(1, 2, 3))).toBe('MALFORMED');
    expect(send({ signedDescriptor: foreign.bytes })).toBe('NOT_MINE');
    expect(send({ signedDescriptor: Uint8Array.of(0xa0) })).toBe('WRONG_DESCRIPTOR');
    const other = makeSignedDescriptor(records.slice(0, 1), { vehicleId: VEHICLE });
    expect(send({ signedDescriptor: other.bytes })).toBe('WRONG_DESCRIPTOR');
    // A proof of another order's key, and an order that does not exist.
    expect(send({ orderProof: proofAt(s6, stateKey.descriptor(r.anchorId)) })).toBe('UNPROVEN');
    expect(send({ orderId: '11'.repeat(32), orderProof: proofAt(s6, stateKey.order('11'.repeat(32))) })).toBe(
      'NOT_OPEN',
    );
    // A forged record value under an honest proof's siblings.
    const forged = { ...good.orderProof, proof: { ...good.orderProof.proof, value: Uint8Array.of(1) } };
    expect(send({ orderProof: forged })).toBe('UNPROVEN');
    // A proof from the future waits; it is not a refusal.
    const s8 = r.chain.states[8]!;
    expect(send({ orderProof: proofAt(s8, stateKey.order(r.orderId)) })).toBe('waiting');
    expect(r.store.pendingTxs(10)).toEqual([]);
    expect(r.metrics.counter('sales.refused')).toBe(7);
    expect(r.metrics.counter('sales.filled')).toBe(0);
    // Once the light client reaches height 8 the waiting notice is filled.
    await r.finalize(8);
    expect(
      send({
        orderProof: proofAt(s8, stateKey.order(r.orderId)),
        descriptorProof: proofAt(s8, stateKey.descriptor(r.anchorId)),
      }),
    ).toBe('filled');
    // This device's root re-anchored under someone else's agreement and bought from themselves:
    // every proof holds, but the device gives nothing away.
    await r.finalize(10);
    const s10 = r.chain.states[10]!;
    expect(
      send({
        orderId: r.evilOrder,
        descriptorId: r.evilAnchor,
        orderProof: proofAt(s10, stateKey.order(r.evilOrder)),
        descriptorProof: proofAt(s10, stateKey.descriptor(r.evilAnchor)),
      }),
    ).toBe('NOT_MINE');
    expect(r.store.pendingTxs(10).map((t) => t.kind)).toEqual(['fill']);
    expect(r.metrics.counter('sales.refused')).toBe(8);
    expect(decodeOrderNotice(encodeOrderNotice(good)).orderId).toBe(r.orderId);
  });

  it('a stale chain view fills no order: the keys are never wrapped on proofs it cannot trust (issue 14, attack 8)', async () => {
    let now = LIGHT_T0 + 10_000;
    const r = await rig({ viewNowMs: () => now });
    await r.finalize(6);
    const s6 = r.chain.states[6]!;
    const notice = encodeOrderNotice({
      orderId: r.orderId,
      descriptorId: r.anchorId,
      orderProof: proofAt(s6, stateKey.order(r.orderId)),
      descriptorProof: proofAt(s6, stateKey.descriptor(r.anchorId)),
      signedDescriptor: signed.bytes,
    });
    now = s6.timeMs + 31 * 86_400_000;
    expect(r.desk.receive(notice)).toBe('STALE_CHAIN');
    expect(r.store.pendingTxs(10)).toEqual([]);
    expect(r.metrics.counter('sales.refused.STALE_CHAIN')).toBe(1);
    now = LIGHT_T0 + 10_000;
    expect(r.desk.receive(notice)).toBe('filled');
  });
});

/** Every byte string inside a decoded canonical value. */
function byteStrings(v: unknown): Uint8Array[] {
  if (v instanceof Uint8Array) return [v];
  if (Array.isArray(v)) return v.flatMap(byteStrings);
  return [];
}
