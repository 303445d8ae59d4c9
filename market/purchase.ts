/**
 * What a buyer checks before trusting a purchase, as a pure function of the chain records and the
 * bytes the storage node served (the client gathers them: client.ts):
 *
 * 1. the order is this buyer's buy order, it was filled (paid) and its keys revealed;
 * 2. the revealed key bundle opens with the buyer's key, bound to this order id;
 * 3. the signed descriptor's device signature holds, and its Merkle root, chunk count and
 *    dictionary are the chain anchor's (the descriptor the order names);
 * 4. the descriptor's vehicle is the anchor agreement's vehicle, and its device key is bound to
 *    that vehicle on chain (so the data came from a device the owner vouched for);
 * 5. every served chunk's id is the hash of its header (content addressing);
 * 6. agent/seal verifyBatch: each chunk's signature, ciphertext hash and hash-chain link, the
 *    Merkle root, decryption with the bundle's keys, sample counts and time ranges.
 *
 * The first failing step throws a MarketError naming it; step 6 lists every problem it found.
 */
import {
  type Agreement,
  type AnchoredDescriptor,
  type BundleKey,
  bundleLookup,
  bytesEqual,
  ChunkCheckError,
  type ChunkReport,
  chainVehicleId,
  type Descriptor,
  DescriptorError,
  decodeSealedChunk,
  fromHex,
  getPublicKey,
  type Order,
  openDescriptor,
  openKeyBundle,
  toHex,
  type Vehicle,
  type VerifyReport,
  verifyBatch,
} from '../chain/index.js';
import { MarketError } from './errors.js';

/** A decrypted sample (agent/decode's Sample). */
export type MarketSample = VerifyReport['samples'][number];

/** The chain records of a purchase, from the last final state. */
export interface PurchaseRecords {
  readonly orderId: string;
  readonly order: Order;
  readonly anchored: AnchoredDescriptor;
  readonly agreement: Agreement;
  readonly vehicle: Vehicle;
}

/** What the storage node served for an order. */
export interface FetchedPurchase {
  /** The id of the signed descriptor the node served (hex). */
  readonly descriptorId: string;
  readonly descriptor: Uint8Array;
  /** The listed chunks in order; `bytes` undefined for one the node does not hold. */
  readonly chunks: readonly { readonly id: string; readonly bytes: Uint8Array | undefined }[];
}

/** A checked, decrypted purchase. */
export interface Purchase {
  readonly orderId: string;
  /** The chain descriptor id the order names. */
  readonly chainDescriptorId: string;
  readonly descriptorId: string;
  readonly vehicleId: string;
  readonly dictionary: string;
  readonly chunks: readonly ChunkReport[];
  readonly samples: readonly MarketSample[];
  /** Samples per signal path. */
  readonly samplesPerSignal: Readonly<Record<string, number>>;
  /** What was checked, one line each. */
  readonly checks: readonly string[];
}

const short = (hex: string) => `${hex.slice(0, 16)}...`;

/** Runs every check; throws MarketError naming the first that fails. */
export function checkPurchase(input: {
  records: PurchaseRecords;
  fetched: FetchedPurchase;
  buyerSecretKey: Uint8Array;
}): Purchase {
  const { records: r, fetched } = input;
  const checks: string[] = [];
  const buyer = toHex(getPublicKey(input.buyerSecretKey));
  if (r.order.side !== 'buy' || r.order.maker !== buyer)
    throw new MarketError('NOT_THE_BUYER', `order ${short(r.orderId)} is not a buy order of ${short(buyer)}`);
  if (r.order.filledHeight === 0 || r.order.delivery.length === 0)
    throw new MarketError(
      'NOT_FILLED',
      `order ${short(r.orderId)} is ${r.order.filledHeight > 0 ? 'paid but its keys are not revealed yet' : r.order.open ? 'not filled yet' : 'cancelled'}`,
    );
  checks.push(`order: a buy order of this buyer, filled at height ${r.order.filledHeight}`);

  let keys: BundleKey[];
  try {
    keys = openKeyBundle(r.order.delivery, input.buyerSecretKey, fromHex(r.orderId));
  } catch (err) {
    throw new MarketError(
      'KEY_BUNDLE',
      `the delivered key bundle does not open with this buyer's key for order ${short(r.orderId)}: ${(err as Error).message}`,
    );
  }
  checks.push(`key bundle: opened with the buyer's key, bound to the order (${keys.length} keys)`);

  let d: Descriptor;
  try {
    d = openDescriptor(fetched.descriptor).descriptor;
  } catch (err) {
    if (err instanceof DescriptorError) throw new MarketError('BAD_DESCRIPTOR', err.message);
    throw err;
  }
  const a = r.anchored;
  const mismatch: string[] = [];
  if (!bytesEqual(d.merkleRoot, a.merkleRoot))
    mismatch.push(`Merkle root ${short(toHex(d.merkleRoot))}, anchored ${short(toHex(a.merkleRoot))}`);
  if (d.chunkIds.length !== a.chunkCount)
    mismatch.push(`${d.chunkIds.length} chunks, anchored ${a.chunkCount}`);
  if (d.dictionaryId !== a.dictionary)
    mismatch.push(`dictionary ${d.dictionaryId}, anchored ${a.dictionary}`);
  if (mismatch.length > 0)
    throw new MarketError(
      'ANCHOR_MISMATCH',
      `descriptor ${short(fetched.descriptorId)} is not the one anchored as ${short(r.order.descriptor)}: ${mismatch.join('; ')}`,
    );
  checks.push(
    `descriptor ${short(fetched.descriptorId)}: device signature; root, ${a.chunkCount} chunks and dictionary equal the chain anchor ${short(r.order.descriptor)}`,
  );

  if (chainVehicleId(d.vehicleId) !== r.agreement.vehicle)
    throw new MarketError(
      'VEHICLE_MISMATCH',
      `the descriptor is of vehicle '${d.vehicleId}', the anchor's agreement of vehicle ${short(r.agreement.vehicle)}`,
    );
  const device = toHex(d.devicePublicKey);
  if (!r.vehicle.devices.includes(device))
    throw new MarketError(
      'DEVICE_NOT_BOUND',
      `device ${short(device)} that signed the descriptor is not bound to vehicle '${d.vehicleId}' on chain`,
    );
  checks.push(`device ${short(device)}: bound to vehicle '${d.vehicleId}' on chain by its owner`);

  const chunks: Uint8Array[] = [];
  for (const c of fetched.chunks) {
    if (c.bytes === undefined) continue; // verifyBatch names it as missing
    let id: string;
    try {
      id = toHex(decodeSealedChunk(c.bytes).id);
    } catch (err) {
      if (err instanceof ChunkCheckError)
        throw new MarketError('CHUNK_ID', `chunk ${short(c.id)}: ${err.message}`);
      throw err;
    }
    if (id !== c.id)
      throw new MarketError('CHUNK_ID', `chunk served as ${short(c.id)} hashes to ${short(id)}`);
    chunks.push(c.bytes);
  }
  checks.push(`chunks: ${chunks.length} served, each id the hash of its header`);

  const report = verifyBatch({ descriptor: fetched.descriptor, chunks, keys: bundleLookup(keys) });
  if (!report.ok)
    throw new MarketError('VERIFY_FAILED', `${report.problems.length} problem(s): ${report.problems[0]}`, {
      problems: report.problems,
    });
  checks.push(
    'verify: chunk signatures, ciphertext hashes, hash chains, Merkle root, decryption, sample counts and times',
  );
  const perSignal: Record<string, number> = {};
  for (const s of report.samples) perSignal[s.path] = (perSignal[s.path] ?? 0) + 1;
  return {
    orderId: r.orderId,
    chainDescriptorId: r.order.descriptor,
    descriptorId: fetched.descriptorId,
    vehicleId: d.vehicleId,
    dictionary: d.dictionaryId,
    chunks: report.chunks,
    samples: report.samples,
    samplesPerSignal: perSignal,
    checks,
  };
}
