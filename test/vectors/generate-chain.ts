/**
 * Generates test/vectors/chain-crypto.json and chain-tx.json: the bytes and hashes the chain signs, hashes or wraps,
 * from fixed inputs. `npm run build && node dist/test/vectors/generate-chain.js` rewrites the file;
 * test/unit/chain/vectors.test.ts fails when the code no longer produces it. Changing the file is a
 * deliberate, reviewed act: it changes the protocol.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AgreementTerms,
  agreementTermsHash,
  type BlockHeader,
  buildBlock,
  type CanonicalValue,
  createGenesis,
  Ed25519Signer,
  electSchedule,
  encodeCanonical,
  encodeSignedTx,
  getPublicKey,
  headerId,
  headerValue,
  hkdf,
  mainnetParams,
  merkleProof,
  merkleRoot,
  minimalParams,
  producerForSlot,
  seal,
  sha256,
  sign,
  signedHeaderValue,
  signTx,
  stateRoot,
  type TxBodies,
  type TxKind,
  taggedHash,
  toHex,
  type UnsignedTx,
  voteMessage,
  wrapKey,
  x25519PublicFromEd25519,
} from '../../chain/index.js';

/** A fixed 32-byte value named by a label (SHA-256 of it). */
export function fixed(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(label));
}

/** Every vector as JSON-ready data. */
export function generateChainVectors(): Record<string, unknown> {
  const canonical: [string, CanonicalValue][] = [
    ['zero', 0],
    ['uint 24', 24],
    ['uint 2^32', 2 ** 32],
    ['uint64 max', (1n << 64n) - 1n],
    ['neg 2^64', -(1n << 64n)],
    ['bytes', Uint8Array.of(0, 1, 2)],
    ['text', 'Vehicle.Speed'],
    ['nested', [1, [Uint8Array.of(0xff), 'x', null, true, false], []]],
  ];
  const secret = fixed('vector/ed25519/secret');
  const messages = ['', 'qood', 'a'.repeat(200)].map((m) => new TextEncoder().encode(m));
  const leaves = Array.from({ length: 7 }, (_, i) => fixed(`vector/merkle/leaf/${i}`));
  const buyerSecret = fixed('vector/wrap/buyer');
  const aeadKey = fixed('vector/aead/key');
  return {
    canonical: canonical.map(([name, v]) => ({ name, hex: toHex(encodeCanonical(v)) })),
    taggedHash: [
      { tag: 'qood/tx/v1', data: '0102', hash: toHex(taggedHash('qood/tx/v1', Uint8Array.of(1, 2))) },
    ],
    ed25519: messages.map((m) => ({
      secret: toHex(secret),
      public: toHex(getPublicKey(secret)),
      message: toHex(m),
      signature: toHex(sign(m, secret)),
    })),
    hkdf: {
      ikm: toHex(fixed('vector/hkdf/ikm')),
      salt: '00',
      info: 'qood/chunk/v1',
      okm: toHex(hkdf(fixed('vector/hkdf/ikm'), Uint8Array.of(0), 'qood/chunk/v1', 32)),
    },
    aead: {
      key: toHex(aeadKey),
      nonce: '000000000000000000000001',
      aad: '616164',
      plaintext: '48656c6c6f',
      sealed: toHex(
        seal(
          aeadKey,
          Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
          Uint8Array.of(0x48, 0x65, 0x6c, 0x6c, 0x6f),
          Uint8Array.of(0x61, 0x61, 0x64),
        ),
      ),
    },
    wrap: {
      buyerEd25519Secret: toHex(buyerSecret),
      recipientX25519: toHex(x25519PublicFromEd25519(getPublicKey(buyerSecret))),
      ephemeralSecret: toHex(fixed('vector/wrap/ephemeral')),
      dataKey: toHex(fixed('vector/wrap/data-key')),
      context: '6f72646572',
      wrapped: toHex(
        wrapKey(
          fixed('vector/wrap/data-key'),
          x25519PublicFromEd25519(getPublicKey(buyerSecret)),
          Uint8Array.of(0x6f, 0x72, 0x64, 0x65, 0x72),
          fixed('vector/wrap/ephemeral'),
        ),
      ),
    },
    merkle: {
      leaves: leaves.map(toHex),
      roots: [0, 1, 2, 3, 7].map((n) => ({ size: n, root: toHex(merkleRoot(leaves.slice(0, n))) })),
      proofs: [0, 4, 6].map((i) => ({ size: 7, index: i, proof: merkleProof(leaves, i).map(toHex) })),
    },
  };
}

/** A transaction of every kind, a header and the roots of a small fixed chain. */
export function generateTxVectors(): Record<string, unknown> {
  const signer = new Ed25519Signer(fixed('vector/tx/sender'));
  const a = (l: string) => toHex(fixed(l));
  const h32 = fixed('vector/tx/hash');
  const header: BlockHeader = {
    chainId: 'qood-vectors',
    height: 7,
    prevHash: fixed('vector/header/prev'),
    timeMs: 1_700_000_003_500,
    producer: toHex(signer.publicKey),
    txRoot: fixed('vector/header/txs'),
    stateRoot: fixed('vector/header/state'),
  };
  const headerSig = signer.sign(headerId(header));
  const terms: AgreementTerms = {
    vehicle: a('veh'),
    owner: a('owner'),
    oem: a('oem'),
    version: 1,
    classes: [{ name: 'owner-driving', holder: 0, privacy: 0 }],
    split: [
      { party: a('owner'), bps: 8000 },
      { party: a('oem'), bps: 2000 },
    ],
  };
  const bodies: { [K in TxKind]: TxBodies[K] } = {
    transfer: { to: a('to'), token: 'QDT', amount: 1_500_000n, memo: Uint8Array.of(1, 2) },
    issue: { to: a('to'), amount: 2n ** 40n },
    redeem: { amount: 5n },
    stake: { amount: 100n },
    unstake: { amount: 50n },
    withdraw: {},
    registerProducer: { url: 'https://producer.example' },
    vote: { producers: [a('p1'), a('p2')] },
    doubleSign: {
      a: signedHeaderValue({ header, signature: headerSig }),
      b: signedHeaderValue({ header: { ...header, txRoot: h32 }, signature: headerSig }),
    },
    registerVehicle: { vehicle: a('veh') },
    bindDevice: { vehicle: a('veh'), device: a('device') },
    agreement: {
      terms,
      ownerSignature: new Uint8Array(64).fill(1),
      oemSignature: new Uint8Array(64).fill(2),
    },
    descriptor: {
      agreement: a('agr'),
      merkleRoot: h32,
      chunkCount: 12,
      dataClass: 'owner-driving',
      fromMs: 1,
      toMs: 2,
      dictionary: 'vss-6.0',
    },
    order: { side: 'buy', descriptor: a('desc'), price: 10n, expiresHeight: 100 },
    cancelOrder: { order: a('order') },
    fill: { order: a('order'), commitment: h32 },
    grant: {
      vehicle: a('veh'),
      grantee: a('grantee'),
      kind: 'listen',
      scope: ['Vehicle.Speed'],
      fromMs: 1,
      toMs: 2,
      termsHash: h32,
    },
    revoke: { grant: a('grant') },
    controlExec: { grant: a('grant'), command: 'lock', argsHash: h32, resultCode: 0 },
    listenerPay: { grant: a('grant'), amount: 7n, extendToMs: 3 },
    reveal: { order: a('order'), wrappedKey: new Uint8Array(80).fill(3) },
  };
  const txs = (Object.keys(bodies) as TxKind[]).map((kind, i) => {
    const tx = {
      chainId: 'qood-vectors',
      kind,
      sender: toHex(signer.publicKey),
      nonce: i,
      fee: 0n,
      body: bodies[kind],
    } as UnsignedTx;
    const s = signTx(tx, signer);
    return { kind, id: toHex(s.id), signed: toHex(encodeSignedTx(s)) };
  });
  // Bodies with an optional part, in the form that carries it (a grant with the owner's extension
  // terms: 8 items instead of 7).
  const variants = [
    {
      name: 'grant with extension terms',
      kind: 'grant' as const,
      body: { ...bodies.grant, extension: { pricePerHour: 5n, latestEndMs: 9, entryPaid: 2n } },
    },
  ].map((v) => {
    const s = signTx(
      {
        chainId: 'qood-vectors',
        kind: v.kind,
        sender: toHex(signer.publicKey),
        nonce: txs.length,
        fee: 0n,
        body: v.body,
      },
      signer,
    );
    return { name: v.name, kind: v.kind, id: toHex(s.id), signed: toHex(encodeSignedTx(s)) };
  });
  // A fixed two-producer genesis and one block with one transfer: pins state roots and header ids.
  const prod = new Ed25519Signer(fixed('vector/chain/producer'));
  const alice = new Ed25519Signer(fixed('vector/chain/alice'));
  const g = createGenesis({
    params: minimalParams('qood-vectors', toHex(fixed('vector/chain/issuer'))),
    timeMs: 1_700_000_000_000,
    accounts: [
      { address: toHex(alice.publicKey), qdt: 1_000_000_000n, qdd: 5n },
      { address: toHex(prod.publicKey), qdt: 1n, staked: 10_000_000n },
    ],
    producers: [{ address: toHex(prod.publicKey), url: 'https://p.example' }],
  });
  const t = signTx(
    {
      chainId: 'qood-vectors',
      kind: 'transfer',
      sender: toHex(alice.publicKey),
      nonce: 0,
      fee: 0n,
      body: { to: toHex(prod.publicKey), token: 'QDT', amount: 3n, memo: new Uint8Array() },
    },
    alice,
  );
  const built = buildBlock(g, [t], prod, 1_700_000_000_500);
  // An election: 25 candidates, candidate i staked 100 + i QDT; the top 21 in rotation order.
  const candidates = Array.from({ length: 25 }, (_, i) => new Ed25519Signer(fixed(`vector/election/${i}`)));
  const electionState = createGenesis({
    params: mainnetParams('qood-vectors', toHex(fixed('vector/chain/issuer'))),
    timeMs: 0,
    accounts: candidates.map((c, i) => ({
      address: toHex(c.publicKey),
      qdt: 0n,
      staked: BigInt(100 + i) * 1_000_000n,
    })),
    producers: candidates.map((c, i) => ({ address: toHex(c.publicKey), url: `https://p${i}.example` })),
  });
  const schedule = electSchedule(electionState);
  return {
    election: {
      candidates: candidates.map((c) => toHex(c.publicKey)),
      schedule,
      firstSlots: Array.from({ length: 14 }, (_, slot) =>
        schedule.indexOf(producerForSlot(schedule, slot, 6)),
      ),
      vote: toHex(voteMessage('qood-vectors', 7, fixed('vector/header/prev'))),
    },
    header: {
      bytes: toHex(encodeCanonical(headerValue(header))),
      id: toHex(headerId(header)),
      signature: toHex(headerSig),
    },
    agreementTermsHash: toHex(agreementTermsHash(terms)),
    txs,
    variants,
    chain: {
      genesisStateRoot: toHex(stateRoot(g)),
      genesisId: toHex(g.blockId),
      block1: toHex(encodeCanonical(signedHeaderValue(built.block.header))),
      block1Id: toHex(built.state.blockId),
      block1StateRoot: toHex(stateRoot(built.state)),
    },
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Compiled to dist/test/vectors: the source tree's test/vectors is three levels up from dist's.
  const dir = join(here, '..', '..', '..', 'test', 'vectors');
  writeFileSync(join(dir, 'chain-crypto.json'), `${JSON.stringify(generateChainVectors(), null, 2)}\n`);
  writeFileSync(join(dir, 'chain-tx.json'), `${JSON.stringify(generateTxVectors(), null, 2)}\n`);
  process.stdout.write(`written ${dir}/chain-crypto.json, chain-tx.json\n`);
}
