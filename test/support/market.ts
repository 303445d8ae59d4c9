/**
 * A market story for tests of the storage role and the buyer's tools: a device's real sealed batch
 * (agent/seal: encrypted under the owner's epoch keys, signed, described), the parties' keys, the
 * transactions of a sale (vehicle, bound device, agreement, anchor, order, fill with a key bundle
 * from the owner's data root), and an in-memory chain of one producer that finalises every block,
 * stored so a FullNode replays it on start.
 */

import { type Batch, BatchBuilder, type SealedChunkOut, Sealer } from '../../agent/seal/index.js';
import {
  type AgreementTerms,
  agreementId,
  agreementTermsHash,
  applyBlock,
  type Block,
  type BundleKey,
  buildBlock,
  type ChainState,
  chainVehicleId,
  createGenesis,
  descriptorAnchorBody,
  Ed25519Signer,
  fillCommitment,
  fromHex,
  type GenesisSpec,
  getAccount,
  headerId,
  MemoryChainStore,
  ownerEpochKey,
  type Sample,
  type SignedTx,
  sealKeyBundle,
  sha256,
  signTx,
  signVote,
  type TxBodies,
  type TxKind,
  toHex,
  UNIT,
  type UnsignedTx,
} from '../../chain/index.js';
import { IngestStore } from '../../node/ingest/index.js';
import { tcpTransport } from '../../node/p2p/index.js';
import { FullNode, localGenesis } from '../../node/runtime/index.js';

export const MARKET_VEHICLE = 'car-1';
export const MARKET_DICTIONARY = 'qood-vss-6.0+obd-4.0';
export const MARKET_T0_US = 1_700_000_000_000_000;

/** A key from a label (tests only). */
export function marketKey(label: string): Ed25519Signer {
  return new Ed25519Signer(marketSecret(label));
}

/** The secret of `marketKey(label)`. */
export function marketSecret(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(`qood-market-test/${label}`));
}

/** The parties of the story; `dataRoot` is the vehicle's data root (from the owner's seed). */
export const marketParties = {
  producer: marketKey('producer'),
  whale: marketKey('whale'),
  owner: marketKey('owner'),
  oem: marketKey('oem'),
  device: marketKey('device'),
  buyer: marketKey('buyer'),
  stranger: marketKey('stranger'),
  dataRoot: marketSecret('data-root'),
} as const;

/** A device's batch: its signed descriptor, sealed chunks, and the samples that went in. */
export interface SealedBatch {
  readonly batch: Batch;
  readonly chunks: readonly SealedChunkOut[];
  readonly samples: readonly Sample[];
}

/**
 * Seals `chunksPerStream` chunks of `samplesPerChunk` samples on two owner-class streams with the
 * agent's Sealer, and cuts one batch (the data path does the same).
 */
export function sealMarketBatch(
  options: {
    chunksPerStream?: number;
    samplesPerChunk?: number;
    coarseLocation?: string;
    vehicleId?: string;
    t0Us?: number;
    /** The streams' privacy (default normal; `private` batches are never sold nor listed). */
    privacy?: 'normal' | 'private';
  } = {},
): SealedBatch {
  const vehicleId = options.vehicleId ?? MARKET_VEHICLE;
  const sealer = new Sealer({
    identity: {
      vehicleId,
      deviceSecretKey: marketSecret('device'),
      dataRoot: marketParties.dataRoot,
      oemPublicKey: null,
      epochLengthS: 60,
      dictionaryId: MARKET_DICTIONARY,
    },
    loadHead: () => undefined,
  });
  const builder = new BatchBuilder({
    vehicleId,
    dictionaryId: MARKET_DICTIONARY,
    ownerPublicKey: marketParties.owner.publicKey,
    epochLengthS: 60,
    signer: sealer.signer,
  });
  const streams = [
    { id: 'speed', path: 'Vehicle.Speed', value: (i: number) => 40 + (i % 17) * 1.5 },
    { id: 'gear', path: 'Vehicle.Powertrain.Transmission.CurrentGear', value: (i: number) => (i % 6) + 1 },
  ];
  const t0 = options.t0Us ?? MARKET_T0_US;
  const per = options.samplesPerChunk ?? 20;
  const samples: Sample[] = [];
  const chunks: SealedChunkOut[] = [];
  for (const s of streams)
    for (let seq = 0; seq < (options.chunksPerStream ?? 3); seq++) {
      // 20 s a chunk, so a batch spans several 60 s key epochs.
      const part: Sample[] = Array.from({ length: per }, (_, i) => ({
        path: s.path,
        tUs: t0 + seq * 20_000_000 + i * 1_000_000,
        value: s.value(seq * per + i),
      }));
      samples.push(...part);
      const sealed = sealer.seal({
        stream: {
          id: s.id,
          scheme: s.id,
          dataClass: 'owner',
          privacy: options.privacy ?? 'normal',
          priority: 1,
        },
        seq,
        tStartUs: part[0]!.tUs,
        tEndUs: part.at(-1)!.tUs,
        samples: part,
      });
      builder.add(sealed);
      chunks.push(sealed);
    }
  const batch = builder.cut(
    Math.floor(t0 / 1000) + 120_000,
    options.coarseLocation === undefined ? {} : { coarseLocation: options.coarseLocation },
  )!;
  return { batch, chunks, samples };
}

/** Every owner key the descriptor needs, derived from the data root (what the owner's fill delivers). */
export function ownerBundleKeys(batch: Batch, dataRoot = marketParties.dataRoot): BundleKey[] {
  return batch.descriptor.streams.flatMap((s) =>
    s.keyEpochs.map((epoch) => ({
      stream: s.stream,
      dataClass: s.dataClass,
      epoch,
      key: ownerEpochKey(dataRoot, s.stream, epoch),
    })),
  );
}

/** A signed transaction with an explicit nonce. */
export function marketTx<K extends TxKind>(
  chainId: string,
  signer: Ed25519Signer,
  kind: K,
  body: TxBodies[K],
  nonce: number,
): SignedTx {
  return signTx(
    { chainId, kind, sender: toHex(signer.publicKey), nonce, fee: 0n, body } as UnsignedTx,
    signer,
  );
}

/** The owner-OEM agreement for the vehicle: 70 % to the owner, 30 % to the OEM, one owner class. */
export function marketAgreement(vehicleId = MARKET_VEHICLE): TxBodies['agreement'] {
  const { owner, oem } = marketParties;
  const terms: AgreementTerms = {
    vehicle: chainVehicleId(vehicleId),
    owner: toHex(owner.publicKey),
    oem: toHex(oem.publicKey),
    version: 1,
    classes: [{ name: 'owner', holder: 0, privacy: 0 }],
    split: [
      { party: toHex(owner.publicKey), bps: 7000 },
      { party: toHex(oem.publicKey), bps: 3000 },
    ],
  };
  const h = agreementTermsHash(terms);
  return { terms, ownerSignature: owner.sign(h), oemSignature: oem.sign(h) };
}

/** The id of the story's agreement. */
export function marketAgreementId(vehicleId = MARKET_VEHICLE): string {
  const { owner, oem } = marketParties;
  return agreementId(chainVehicleId(vehicleId), toHex(owner.publicKey), toHex(oem.publicKey));
}

/** The device's anchor of a batch under the story's agreement. */
export function anchorBody(batch: Batch): TxBodies['descriptor'] {
  return descriptorAnchorBody(batch.descriptor, marketAgreementId(batch.descriptor.vehicleId));
}

/**
 * The owner's sale of `orderId`: the key bundle wrapped to `buyer`, as the `fill` (its commitment,
 * which pays) and the `reveal` (the bundle, in a later block).
 */
export function saleBodies(
  batch: Batch,
  orderId: string,
  buyer: Uint8Array,
): { fill: TxBodies['fill']; reveal: TxBodies['reveal'] } {
  const wrappedKey = sealKeyBundle(ownerBundleKeys(batch), buyer, fromHex(orderId));
  return {
    fill: { order: orderId, commitment: fillCommitment(fromHex(orderId), wrappedKey) },
    reveal: { order: orderId, wrappedKey },
  };
}

/** The story's genesis: one producer, and every party funded (the buyer with 1000 QDD). */
export function marketGenesis(chainId: string, timeMs: number): GenesisSpec {
  const p = marketParties;
  const spec = localGenesis({ chainId, preset: 'minimal', producers: [p.producer], whale: p.whale, timeMs });
  const funded = [p.owner, p.oem, p.device, p.buyer, p.stranger].map((k) => ({
    address: toHex(k.publicKey),
    qdt: 1000n * UNIT,
    ...(k === p.buyer || k === p.stranger ? { qdd: 1000n * UNIT } : {}),
  }));
  return { ...spec, accounts: [...spec.accounts, ...funded] };
}

/** An in-memory chain of one producer: each `block` is final at once (a one-vote certificate). */
export class MarketChain {
  readonly spec: GenesisSpec;
  readonly states: ChainState[];
  readonly blocks: Block[] = [];

  constructor(chainId = 'qood-market-test', timeMs = 1_800_000_000_000) {
    this.spec = marketGenesis(chainId, timeMs);
    this.states = [createGenesis(this.spec)];
  }

  get state(): ChainState {
    return this.states.at(-1)!;
  }

  /** The next nonce of `signer` in the current state, plus `offset`. */
  nonce(signer: Ed25519Signer, offset = 0): number {
    return getAccount(this.state, toHex(signer.publicKey)).nonce + offset;
  }

  /** Signs a transaction with the sender's next nonce (plus `offset`). */
  tx<K extends TxKind>(signer: Ed25519Signer, kind: K, body: TxBodies[K], offset = 0): SignedTx {
    return marketTx(this.spec.params.chainId, signer, kind, body, this.nonce(signer, offset));
  }

  /** Applies a block with `txs`; throws when any is refused. */
  block(txs: readonly SignedTx[]): Block {
    const prev = this.state;
    const built = buildBlock(
      prev,
      txs,
      marketParties.producer,
      this.spec.timeMs + (prev.height + 1) * this.spec.params.slotMs,
    );
    if (built.rejected.length > 0) throw built.rejected[0]!.error;
    const applied = applyBlock(prev, built.block);
    if (!applied.ok) throw applied.error;
    this.states.push(applied.state);
    this.blocks.push(built.block);
    return built.block;
  }

  /** A store holding every block, the last one certified final. */
  store(): MemoryChainStore {
    const store = new MemoryChainStore();
    store.setGenesis(this.spec);
    for (const b of this.blocks) store.putBlock(b);
    const last = this.blocks.at(-1);
    if (last !== undefined) {
      const h = last.header.header;
      const id = headerId(h);
      store.putCertificate({
        chainId: h.chainId,
        height: h.height,
        blockId: id,
        votes: [signVote(marketParties.producer, h.chainId, h.height, id)],
      });
    }
    return store;
  }
}

/** The ids of the sale's records (hex). */
export interface MarketSaleIds {
  /** The device's anchor of `sold` (the chain descriptor id). */
  anchor: string;
  /** An owner's anchor of a root no node holds. */
  ghost: string;
  /** The buyer's filled order of `anchor`. */
  order: string;
  /** The buyer's open (unfilled) order of `anchor`. */
  open: string;
  /** The buyer's filled order of `ghost`. */
  ghostOrder: string;
  /** The owner's sell order. */
  sell: string;
}

/**
 * A started full node that holds `chain` and produces none of it (an observer with its own key):
 * what a storage node's HTTP API answers from in the market tests.
 */
export async function startObserverNode(chain: MarketChain): Promise<FullNode> {
  const node = new FullNode({
    genesis: chain.spec,
    signer: marketKey('observer'),
    store: chain.store(),
    transport: tcpTransport,
    peers: [],
  });
  await node.start();
  return node;
}

/**
 * A sale on a MarketChain: block 1 registers the vehicle, binds the device and records the
 * agreement; block 2 anchors `sold` (by the device) and a ghost root (by the owner); block 3 holds
 * the buyer's three orders at 10 QDD and an owner's sell order; block 4 the owner's fills (which
 * pay) and block 5 the reveals of their keys.
 */
export function buildMarketSale(batch: { chunksPerStream?: number; samplesPerChunk?: number } = {}): {
  chain: MarketChain;
  sold: SealedBatch;
  unanchored: SealedBatch;
  ids: MarketSaleIds;
} {
  const { owner, device, buyer } = marketParties;
  const sold = sealMarketBatch({ ...batch, coarseLocation: '47.4,8.5' });
  const unanchored = sealMarketBatch({ t0Us: 1_700_000_600_000_000, coarseLocation: '52.5,13.4' });
  const chain = new MarketChain();
  const vehicle = chainVehicleId(MARKET_VEHICLE);
  chain.block([
    chain.tx(owner, 'registerVehicle', { vehicle }),
    chain.tx(owner, 'bindDevice', { vehicle, device: toHex(device.publicKey) }, 1),
    chain.tx(owner, 'agreement', marketAgreement(), 2),
  ]);
  const anchor = chain.tx(device, 'descriptor', anchorBody(sold.batch));
  const ghost = chain.tx(owner, 'descriptor', {
    ...anchorBody(sold.batch),
    merkleRoot: sha256(Uint8Array.of(1)),
  });
  chain.block([anchor, ghost]);
  const order = (descriptor: string, offset: number) =>
    chain.tx(buyer, 'order', { side: 'buy', descriptor, price: 10n * UNIT, expiresHeight: 1000 }, offset);
  const o = [order(toHex(anchor.id), 0), order(toHex(anchor.id), 1), order(toHex(ghost.id), 2)];
  const sell = chain.tx(owner, 'order', {
    side: 'sell',
    descriptor: toHex(anchor.id),
    price: UNIT,
    expiresHeight: 1000,
  });
  chain.block([...o, sell]);
  const ids: MarketSaleIds = {
    anchor: toHex(anchor.id),
    ghost: toHex(ghost.id),
    order: toHex(o[0]!.id),
    open: toHex(o[1]!.id),
    ghostOrder: toHex(o[2]!.id),
    sell: toHex(sell.id),
  };
  const sales = [ids.order, ids.ghostOrder].map((id) => saleBodies(sold.batch, id, buyer.publicKey));
  chain.block(sales.map((s, i) => chain.tx(owner, 'fill', s.fill, i)));
  chain.block(sales.map((s, i) => chain.tx(owner, 'reveal', s.reveal, i)));
  return { chain, sold, unanchored, ids };
}

/** An ingest database file at `path` holding the batches' chunks and descriptors. */
export function ingestStoreWith(
  path: string,
  batches: readonly SealedBatch[],
  receivedMs: number,
): IngestStore {
  const s = new IngestStore({ path });
  for (const b of batches) {
    s.putBatch(
      b.chunks.map((c) => ({
        id: c.id,
        vehicleId: c.vehicleId,
        stream: c.stream,
        seq: c.seq,
        bytes: c.bytes,
      })),
      receivedMs,
    );
    s.putDescriptors(
      [
        {
          id: b.batch.id,
          vehicleId: b.batch.descriptor.vehicleId,
          createdMs: b.batch.descriptor.createdMs,
          chunkIds: b.batch.descriptor.chunkIds.map(toHex),
          bytes: b.batch.bytes,
        },
      ],
      receivedMs,
    );
  }
  return s;
}
